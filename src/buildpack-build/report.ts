import * as core from '@actions/core';
import path from 'node:path';
import {
  imageName,
  type BuildMetadata,
  type LifecycleSummary,
  type StepCounts
} from '../lib/buildkit/index.js';
import { lastLines } from '../lib/exec.js';
import { pinDigest, repositoryName } from '../lib/reference.js';
import { SlipwayError } from '../lib/errors.js';
import { SummaryBuilder, formatDuration } from '../lib/summary.js';
import type { BuildConfig } from './config.js';
import type { BuildFailure } from './failure.js';

/** The action's outputs and job summaries, for a build that succeeded or failed. */

export interface BuildResult {
  metadata: BuildMetadata;
  steps: StepCounts;
  durationMs: number;
  attempts: number;
  /** frontend: buildpacks: what the lifecycle did. */
  lifecycle?: LifecycleSummary | undefined;
}

export function setOutputs(
  config: BuildConfig,
  result: BuildResult,
  digest: string | undefined
): void {
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

export function frontendLabel(config: BuildConfig): string {
  if (config.frontend === 'buildpacks') return `buildpacks ${config.buildpacks?.builder ?? ''}`;
  return config.frontend === 'gateway'
    ? `gateway ${config.frontendImage}`
    : `dockerfile ${config.dockerfileName ?? 'Dockerfile'}`;
}

export function contextLabel(config: BuildConfig): string {
  if (config.context.kind === 'git') return config.context.url;
  const relative = path.relative(process.cwd(), config.context.dir);
  return relative.startsWith('..') ? config.context.dir : relative || '.';
}

export async function summarize(
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
      ['Buildpacks', result.lifecycle?.group.join(', ') || undefined],
      [
        'Layers',
        result.lifecycle
          ? `${result.lifecycle.reusedLayers} reused, ${result.lifecycle.addedLayers} added`
          : undefined
      ],
      ['Duration', formatDuration(totalMs)],
      ['Attempts', result.attempts > 1 ? result.attempts : undefined]
    ]);
  core.info(
    `Built ${config.images.map(imageName).join(', ')}${digest ? ` (${digest})` : ''}: ${describeSteps(result.steps)}.`
  );
  await summary.write();
}

export async function summarizeFailure(
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
