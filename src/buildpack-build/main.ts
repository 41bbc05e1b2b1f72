import * as core from '@actions/core';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  ProgressTracker,
  buildErrorMessage,
  buildctlArgs,
  classifyFailure,
  failingDockerfileLine,
  imageName,
  parseMetadata,
  type BuildMetadata,
  type FailureKind,
  type StepCounts
} from '../lib/build.js';
import { SlipwayError } from '../lib/errors.js';
import { lastLines, run as execute } from '../lib/exec.js';
import { Inputs, formatGoDuration } from '../lib/inputs.js';
import {
  parseImageReference,
  pinDigest,
  repositoryName,
  type ImageReference
} from '../lib/reference.js';
import { withRetry } from '../lib/retry.js';
import { dockerConfigDir, tempDir } from '../lib/runner.js';
import { redact, registerSecret } from '../lib/secrets.js';
import { SummaryBuilder, formatDuration } from '../lib/summary.js';
import { readConfig, secretValues, type BuildConfig } from './config.js';

export { readConfig } from './config.js';

const ATTEMPTS = 3;

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

export interface BuildResult {
  metadata: BuildMetadata;
  steps: StepCounts;
  durationMs: number;
  attempts: number;
}

/** What a build produced, for a flow that deploys it next. */
export interface BuiltImage {
  /** Manifest (or index) digest; undefined only when nothing was pushed. */
  digest: string | undefined;
  /** `name:tag` of the first image. */
  image: string;
  /** The first image's repository as written, e.g. `registry:5000/team/app`. */
  repository: string;
}

/** The action's entry point: inputs checked, then the work. */
export async function main(inputs = new Inputs()): Promise<BuiltImage> {
  return run(readConfig(inputs));
}

/** Builds (and pushes) the image; `config` is already checked. */
export async function run(config: BuildConfig): Promise<BuiltImage> {
  for (const value of secretValues(config.secrets)) registerSecret(value);
  if (config.frontend === 'gateway' && config.frontendMode !== 'gateway') {
    core.info(
      `No Dockerfile in ${contextLabel(config)}: building with the gateway frontend ${config.frontendImage} (frontend: auto).`
    );
  }
  const started = Date.now();
  try {
    const result = await build(config);
    const digest = requireDigest(config, result.metadata);
    setOutputs(config, result, digest);
    await summarize(config, result, digest, Date.now() - started);
    const first = config.images[0] as ImageReference;
    return { digest, image: imageName(first), repository: repositoryName(first) };
  } catch (error) {
    if (error instanceof BuildFailure) await summarizeFailure(config, error, Date.now() - started);
    throw error;
  }
}

export async function build(config: BuildConfig): Promise<BuildResult> {
  const workDir = tempDir('build');
  const metadataFile = path.join(workDir, 'metadata.json');
  const args = buildctlArgs({ ...config, metadataFile });
  registerGhaCacheTokens(args);
  const deadline = Date.now() + config.timeoutMs;
  const title = `Building ${config.images.map(imageName).join(', ')} (${frontendLabel(config)})`;
  try {
    return await core.group(title, () =>
      withRetry(attempt => buildOnce(config, args, metadataFile, deadline, attempt), {
        attempts: ATTEMPTS,
        baseDelayMs: 1000,
        description: 'running buildctl build',
        isTransient: error =>
          error instanceof BuildFailure &&
          (error.kind === 'transient' || error.kind === 'unreachable') &&
          deadline - Date.now() > 10_000
      })
    );
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function buildOnce(
  config: BuildConfig,
  args: string[],
  metadataFile: string,
  deadline: number,
  attempt: number
): Promise<BuildResult> {
  const progress = new ProgressTracker();
  const result = await execute('buildctl', args, {
    timeoutMs: Math.max(1000, deadline - Date.now()),
    ignoreReturnCode: true,
    onLine: line => progress.push(line)
  });
  if (result.timedOut) {
    throw new SlipwayError(
      `buildctl build did not finish within the timeout (${formatGoDuration(config.timeoutMs)}) and was stopped.`,
      { hint: 'Raise the "timeout" input, or add cache-from/cache-to so rebuilds reuse work.' }
    );
  }
  if (result.exitCode !== 0) {
    throw describeFailure(config, `${result.stdout}\n${result.stderr}`, progress);
  }
  return {
    metadata: parseMetadata(readFileSync(metadataFile, 'utf8')),
    steps: progress.counts(),
    durationMs: result.durationMs,
    attempts: attempt
  };
}

function describeFailure(
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
    case 'no-dockerfile':
      return new BuildFailure(
        kind,
        `The builder found no Dockerfile (${config.dockerfileDisplay ?? 'Dockerfile'}): ${detail}`,
        output,
        progress,
        'Point "dockerfile" at the file (for a git context: a path inside the #ref:subdir directory), or use frontend: gateway for a buildpacks build.'
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

/** A gha cache token passed as an attribute must be masked like any credential. */
function registerGhaCacheTokens(args: string[]): void {
  for (const arg of args) {
    for (const match of arg.matchAll(/(?:^|,)token=([^,]+)/g)) registerSecret(match[1]);
  }
}

/** With push, an empty digest would deploy nothing: fail rather than output it silently. */
function requireDigest(config: BuildConfig, metadata: BuildMetadata): string | undefined {
  if (metadata.digest) return metadata.digest;
  if (config.push) {
    throw new SlipwayError(
      'buildctl reported no image digest (containerimage.digest) although the image was pushed.',
      { hint: 'The frontend may not produce an image; check the build log and the metadata file.' }
    );
  }
  core.warning('buildctl reported no image digest; the digest and imageref outputs are empty.');
  return undefined;
}

function setOutputs(config: BuildConfig, result: BuildResult, digest: string | undefined): void {
  const first = config.images[0];
  if (!first) throw new SlipwayError('No image to build.');
  core.setOutput('digest', digest ?? '');
  core.setOutput('image', imageName(first));
  core.setOutput('imageref', digest ? pinDigest(first, digest) : '');
  core.setOutput('images', config.images.map(imageName).join('\n'));
  core.setOutput('metadata', JSON.stringify(result.metadata.raw));
  core.setOutput('frontend', config.frontend);
  core.setOutput('cache-hits', String(result.steps.cached));
  core.setOutput('cache-misses', String(result.steps.executed));
}

function describeSteps(steps: StepCounts): string {
  const plural = (count: number): string => (count === 1 ? 'step' : 'steps');
  return `${steps.cached} ${plural(steps.cached)} cached, ${steps.executed} executed`;
}

function frontendLabel(config: BuildConfig): string {
  return config.frontend === 'gateway'
    ? `gateway ${config.frontendImage}`
    : `dockerfile ${config.dockerfileName ?? 'Dockerfile'}`;
}

function contextLabel(config: BuildConfig): string {
  if (config.context.kind === 'git') return config.context.url;
  const relative = path.relative(process.cwd(), config.context.dir);
  return relative.startsWith('..') ? config.context.dir : relative || '.';
}

async function summarize(
  config: BuildConfig,
  result: BuildResult,
  digest: string | undefined,
  totalMs: number
): Promise<void> {
  const first = config.images[0];
  const summary = new SummaryBuilder()
    .heading(`Built ${first ? repositoryName(first) : 'image'}`)
    .facts([
      ['Image', first ? imageName(first) : undefined],
      ['Tags', config.images.map(image => image.tag ?? 'latest').join(', ')],
      ['Digest', digest],
      ['Deploy as', first && digest ? pinDigest(first, digest) : undefined],
      ['Pushed', config.push ? 'yes' : 'no'],
      ['Frontend', frontendLabel(config)],
      ['Context', contextLabel(config)],
      ['Platforms', config.platforms.join(', ')],
      ['Cache', describeSteps(result.steps)],
      ['Duration', formatDuration(totalMs)],
      ['Attempts', result.attempts > 1 ? result.attempts : undefined]
    ]);
  core.info(
    `Built ${config.images.map(imageName).join(', ')}${digest ? ` (${digest})` : ''}: ${describeSteps(result.steps)}.`
  );
  await summary.write();
}

async function summarizeFailure(
  config: BuildConfig,
  failure: BuildFailure,
  totalMs: number
): Promise<void> {
  const step = failure.progress.failedStep();
  const summary = new SummaryBuilder()
    .heading(`Build failed: ${config.images.map(imageName).join(', ')}`)
    .facts([
      ['Frontend', frontendLabel(config)],
      ['Context', contextLabel(config)],
      ['Failing step', step?.name],
      ['Duration', formatDuration(totalMs)]
    ]);
  summary.details('buildctl output (last lines)', step?.log || lastLines(failure.output, 40));
  await summary.write();
}
