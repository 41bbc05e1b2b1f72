import * as core from '@actions/core';
import path from 'node:path';
import {
  buildErrorMessage,
  classifyFailure,
  failingDockerfileLine,
  imageName,
  type FailureKind,
  type ProgressTracker
} from '../lib/buildkit/index.js';
import { SlipwayError } from '../lib/errors.js';
import { lastLines } from '../lib/exec.js';
import { parseImageReference } from '../lib/reference.js';
import { dockerConfigDir } from '../lib/runner.js';
import { redact } from '../lib/secrets.js';
import type { BuildConfig } from './config.js';

/** A failed buildctl run, classified; only `transient` and `unreachable` are retried. */
export class BuildFailure extends SlipwayError {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly output: string,
    readonly progress: ProgressTracker,
    hint?: string
  ) {
    super(message, { hint });
    this.name = 'BuildFailure';
  }
}

/** What a failed build means for the user: the message and hint for its kind of failure. */
export function describeFailure(
  config: BuildConfig,
  output: string,
  progress: ProgressTracker
): BuildFailure {
  const classified = classifyFailure(output, progress.started);
  // "failed to resolve source metadata" also means a missing FROM image: blame the frontend only
  // when it is the gateway image that could not be resolved.
  const kind =
    classified === 'frontend' &&
    (config.frontend !== 'gateway' || !output.includes(repositoryPath(config.frontendImage)))
      ? 'build'
      : classified;
  core.debug(`buildctl failure classified as ${classified}, reported as ${kind}`);
  const detail = buildErrorMessage(output) ?? lastLines(output, 1);
  const names = config.images.map(imageName).join(', ');
  const registries = [...new Set(config.images.map(image => image.domain))].join(', ');
  switch (kind) {
    case 'unauthorized':
      return new BuildFailure(
        kind,
        `The registry refused the credentials (401 Unauthorized) for ${config.push ? `pushing ${names}` : 'a pull in this build'}: ${detail}`,
        output,
        progress,
        `buildctl sends registry credentials from the runner's $DOCKER_CONFIG/config.json (${dockerConfigPath()}), not from buildkitd. Run the registry-login-from-secret action for ${registries} before this step, and check that the account may push there.`
      );
    case 'unreachable':
      return new BuildFailure(
        kind,
        `Could not reach the BuildKit daemon at ${config.addr ?? "buildctl's default address (unix:///run/buildkit/buildkitd.sock)"}: ${detail}`,
        output,
        progress,
        'Check the "addr" input (or BUILDKIT_HOST from setup-buildctl) and that buildkitd is running and reachable from the runner.'
      );
    case 'builder-lost':
      return new BuildFailure(
        kind,
        `The BuildKit builder at ${config.addr ?? 'the default address'} went away during the build: ${detail}`,
        output,
        progress,
        'buildkitd stopped or restarted mid-build (killed, OOM-killed, its pod evicted or deleted); the build is not retried. Check the builder, then re-run.'
      );
    case 'no-dockerfile':
      return new BuildFailure(
        kind,
        `The builder found no Dockerfile (${config.dockerfileDisplay ?? 'Dockerfile'}): ${detail}`,
        output,
        progress,
        'Point "dockerfile" at the file (for a git context: a path inside the #ref:subdir directory), or set frontend: buildpacks to build the source without a Dockerfile.'
      );
    case 'no-git':
      return new BuildFailure(
        kind,
        `The builder at ${config.addr ?? 'the default address'} has no git, so it cannot fetch ${config.context.kind === 'git' ? `the git context ${config.context.repository}` : 'a git source'}: ${detail}`,
        output,
        progress,
        'buildkitd fetches a git context itself and enables its git source only when a git binary is on its PATH (the moby/buildkit image has one). Install git where buildkitd runs, or check the repository out on the runner (actions/checkout) and build a local context.'
      );
    case 'frontend':
      return new BuildFailure(
        kind,
        `The gateway frontend ${config.frontendImage} could not be loaded: ${detail}`,
        output,
        progress,
        'Check "frontend-image": the image must exist in a registry the builder can reach (push it there first on an offline builder).'
      );
    case 'transient':
      return new BuildFailure(
        kind,
        `buildctl build hit a transient error: ${detail}`,
        output,
        progress
      );
    default:
      return buildFailed(config, output, progress, detail);
  }
}

/** A failed build step: its log tail in the error, and an annotation on the Dockerfile line. */
function buildFailed(
  config: BuildConfig,
  output: string,
  progress: ProgressTracker,
  detail: string
): BuildFailure {
  const step = progress.failedStep();
  const where = step ? ` at step ${step.name}` : '';
  const line = failingDockerfileLine(output);
  // Annotations take a path inside the workspace (the working directory on a runner).
  const relative =
    config.context.kind === 'local' && config.dockerfileDir && config.dockerfileName
      ? path.relative(process.cwd(), path.join(config.dockerfileDir, config.dockerfileName))
      : undefined;
  const file = relative && !relative.startsWith('..') ? relative : undefined;
  core.error(redact(step ? `${detail}\n${step.log}` : detail), {
    title: `Build failed${where}`,
    ...(file && line ? { file, startLine: line } : {})
  });
  const tail = step?.log ? `\n--- last lines of ${step.name} ---\n${step.log}` : '';
  return new BuildFailure('build', `The build failed${where}: ${detail}${tail}`, output, progress);
}

function repositoryPath(image: string): string {
  return parseImageReference('frontend-image', image).path;
}

function dockerConfigPath(): string {
  return path.join(dockerConfigDir(), 'config.json');
}
