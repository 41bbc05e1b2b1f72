import * as core from '@actions/core';
import { createTwoFilesPatch } from 'diff';
import { SlipwayError } from '../lib/errors.js';
import { lastLine } from '../lib/exec.js';
import { manifestDigest, type UpgradePlan } from '../lib/helm/index.js';
import { deployResult, writeSummary, type Context, type DeployResult } from './context.js';
import { checkImageUsed } from './unused-image.js';

/** Renders the release without installing it and shows what would change against the deployed one. */
export async function dryRun(ctx: Context, plan: UpgradePlan): Promise<DeployResult> {
  const result = await core.group(`helm upgrade --install ${ctx.config.release} (dry run)`, () =>
    ctx.helm.upgrade(plan)
  );
  if (result.exitCode !== 0) {
    throw new SlipwayError(`The dry run of ${ctx.config.release} failed: ${lastLine(result)}`);
  }
  const rendered = extractManifest(result.stdout);
  const imageWarning = await checkImageUsed(ctx, rendered);
  // A client-side dry run means the namespace is missing, so nothing is deployed yet.
  const status =
    plan.dryRun === 'server' ? await ctx.helm.status(ctx.target).catch(() => undefined) : undefined;
  const current = status?.manifest ?? '';
  const patch = createTwoFilesPatch(
    'deployed',
    'rendered',
    current,
    rendered,
    undefined,
    undefined,
    { context: 3 }
  );
  await core.group('Rendered manifest', async () => core.info(rendered));
  await core.group('Changes against the deployed release', async () =>
    core.info(current ? patch : '(no deployed release: everything is new)')
  );
  await writeSummary(
    ' (dry run)',
    [
      ['Release', ctx.config.release],
      ['Namespace', ctx.config.namespace],
      ['Deployed revision', status?.revision],
      ['Rendered manifest', manifestDigest(rendered)],
      ['Image values', imageWarning && `⚠️ ${imageWarning}`]
    ],
    ['Changes', current ? patch : rendered]
  );
  return deployResult(ctx.config, {
    revision: status?.revision,
    status: 'dry-run',
    manifestDigest: manifestDigest(rendered)
  });
}

/** Helm's dry-run output: metadata, then `MANIFEST:`, then optionally `NOTES:`. */
export function extractManifest(output: string): string {
  const start = output.indexOf('MANIFEST:');
  if (start === -1) return output;
  const body = output.slice(start + 'MANIFEST:'.length);
  const notes = body.search(/^NOTES:/m);
  return (notes === -1 ? body : body.slice(0, notes)).trim();
}
