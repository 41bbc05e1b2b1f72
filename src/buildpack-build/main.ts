import * as core from '@actions/core';
import { rmSync } from 'node:fs';
import path from 'node:path';
import {
  Buildctl,
  imageName,
  type BuildMetadata,
  type ProgressTracker
} from '../lib/buildkit/index.js';
import { SlipwayError } from '../lib/errors.js';
import { Inputs, formatGoDuration } from '../lib/inputs.js';
import { repositoryName, type ImageReference } from '../lib/reference.js';
import { withRetry } from '../lib/retry.js';
import { tempDir } from '../lib/runner.js';
import { redact, registerSecret } from '../lib/secrets.js';
import { buildpacksOnce } from './buildpacks.js';
import { readConfig, secretValues, type BuildConfig } from './config.js';
import { BuildFailure, describeFailure } from './failure.js';
import {
  contextLabel,
  frontendLabel,
  setOutputs,
  summarize,
  summarizeFailure,
  type BuildResult
} from './report.js';

export { readConfig } from './config.js';
export { BuildFailure } from './failure.js';
export type { BuildResult } from './report.js';

const ATTEMPTS = 3;

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
  core.debug(`Frontend ${config.frontend} (frontend: ${config.frontendMode})`);
  if (config.frontend === 'buildpacks' && config.frontendMode !== 'buildpacks') {
    core.info(
      `No Dockerfile in ${contextLabel(config)}: building with buildpacks (${config.buildpacks?.builder}, frontend: auto).`
    );
  }
  const started = Date.now();
  try {
    const result = await build(config);
    return await core.group('Outputs and summary', async () => {
      const digest = requireDigest(config, result.metadata);
      setOutputs(config, result, digest);
      await summarize(config, result, digest, Date.now() - started);
      const first = config.images[0] as ImageReference;
      return { digest, image: imageName(first), repository: repositoryName(first) };
    });
  } catch (error) {
    if (error instanceof BuildFailure) {
      await core.group('Failure report', () =>
        summarizeFailure(config, error, Date.now() - started)
      );
    }
    throw error;
  }
}

export async function build(config: BuildConfig): Promise<BuildResult> {
  const workDir = tempDir('build');
  const metadataFile = path.join(workDir, 'metadata.json');
  const buildctl = new Buildctl('buildctl', config.addr, config.tls);
  const deadline = Date.now() + config.timeoutMs;
  const title = `Building ${config.images.map(imageName).join(', ')} (${frontendLabel(config)})`;
  try {
    return await core.group(title, () =>
      withRetry(
        attempt =>
          config.frontend === 'buildpacks'
            ? buildpacksOnce(config, buildctl, deadline, attempt)
            : buildOnce(config, buildctl, metadataFile, deadline, attempt),
        {
          attempts: ATTEMPTS,
          baseDelayMs: 1000,
          description: 'running buildctl build',
          isTransient: error => {
            const retry =
              error instanceof BuildFailure &&
              (error.kind === 'transient' || error.kind === 'unreachable') &&
              deadline - Date.now() > 10_000;
            core.debug(`Retry decision: ${retry ? 'retry' : 'give up'}`);
            return retry;
          }
        }
      )
    );
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function buildOnce(
  config: BuildConfig,
  buildctl: Buildctl,
  metadataFile: string,
  deadline: number,
  attempt: number
): Promise<BuildResult> {
  const result = await buildctl.build(
    { ...config, metadataFile },
    { timeoutMs: Math.max(1000, deadline - Date.now()) }
  );
  if (result.timedOut) {
    throw new SlipwayError(
      `buildctl build did not finish within the timeout (${formatGoDuration(config.timeoutMs)}) and was stopped.`,
      { hint: 'Raise the "timeout" input, or add cache-from/cache-to so rebuilds reuse work.' }
    );
  }
  if (result.exitCode !== 0 || !result.metadata) {
    throw describeFailure(config, result.output, result.progress);
  }
  warnCacheFailures(result.progress);
  return {
    metadata: result.metadata,
    steps: result.progress.counts(),
    durationMs: result.durationMs,
    attempts: attempt
  };
}

/** A cache that could not be read or written warns: the build itself succeeded without it. */
function warnCacheFailures(progress: ProgressTracker): void {
  for (const failure of progress.cacheFailures()) {
    core.warning(`${failure.name} failed, the build went on without it: ${redact(failure.error)}`, {
      title: 'Build cache not used'
    });
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
