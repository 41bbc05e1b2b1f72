import * as core from '@actions/core';
import { SlipwayError } from '../lib/errors.js';
import { apiCode } from '../lib/kube/index.js';
import { SummaryBuilder, formatDuration } from '../lib/summary.js';
import type { Context } from './context.js';
import { uninstallRelease } from './delete.js';
import { SWEEP_REQUIREMENT, expiryOf, type Expiry } from './expiry.js';
import { EXPIRES_AT_ANNOTATION } from './ownership.js';

/**
 * `action: sweep`: the namespaces Slipway created (always required by the selector, and checked
 * again on each one) whose expires-at has passed lose their releases (helm uninstall, as
 * `action: delete` does) and are then deleted. `dry-run` lists them only.
 */

/** One expired namespace and what the sweep did with it. */
export interface SweptNamespace {
  namespace: string;
  expiresAt: string;
  releases: string[];
  /** `deleted`, `would be deleted (dry run)`, `kept: …` or `failed: …`. */
  action: string;
  /** Deleted (or, in a dry run, would be). */
  swept: boolean;
  failed: boolean;
}

export interface SweepResult {
  selector: string;
  /** How many namespaces the selector matched. */
  matched: number;
  expired: SweptNamespace[];
  /** The namespaces deleted (with dry-run: that would be), the `swept-namespaces` output. */
  swept: string[];
}

export async function sweep(ctx: Context): Promise<SweepResult> {
  const { config, kube } = ctx;
  const selector = config.sweepSelector ?? SWEEP_REQUIREMENT;
  const now = Date.now();
  const due = await core.group(`Namespaces matching ${selector}`, async () => {
    const found = await kube.listNamespaces(selector);
    if (found.length === 0) core.info('None.');
    const expired: Array<{ name: string; expiresAt: string }> = [];
    for (const namespace of found) {
      const name = namespace.metadata?.name ?? '';
      const expiry = expiryOf(namespace, now);
      core.info(`${name}: ${describeExpiry(expiry)}`);
      if (expiry.state === 'unreadable') {
        core.warning(
          `Namespace ${name} has ${EXPIRES_AT_ANNOTATION}: ${expiry.value}, which is not an RFC 3339 date (e.g. 2026-01-31T12:00:00Z); the sweep keeps it.`,
          { title: 'sweep' }
        );
      }
      if (expiry.state === 'expired') expired.push({ name, expiresAt: expiry.expiresAt });
    }
    return { matched: found.length, expired };
  });
  const expired: SweptNamespace[] = [];
  for (const { name, expiresAt } of due.expired) {
    expired.push(await sweepNamespace(ctx, name, expiresAt));
  }
  const swept = expired.filter(row => row.swept).map(row => row.namespace);
  core.setOutput('swept-namespaces', JSON.stringify(swept));
  const result = { selector, matched: due.matched, expired, swept };
  await writeSweepSummary(ctx, result);
  const failed = expired.filter(row => row.failed);
  if (failed.length > 0) {
    throw new SlipwayError(
      `The sweep could not delete ${failed.map(row => `${row.namespace} (${row.action})`).join('; ')}.`,
      { hint: 'The namespace is kept with its remaining releases; the next sweep tries again.' }
    );
  }
  core.info(
    config.dryRun
      ? `Dry run: ${swept.length} namespace(s) would be swept: ${swept.join(', ') || 'none'}.`
      : `Swept ${swept.length} namespace(s): ${swept.join(', ') || 'none'}.`
  );
  return result;
}

/** Uninstalls every release of one expired namespace, then deletes it as it was read. */
async function sweepNamespace(
  ctx: Context,
  namespace: string,
  expiresAt: string
): Promise<SweptNamespace> {
  const target = { ...ctx.target, namespace };
  const row = { namespace, expiresAt, releases: [] as string[], swept: false, failed: false };
  try {
    row.releases = await ctx.helm.list(target);
    if (ctx.config.dryRun) return { ...row, action: 'would be deleted (dry run)', swept: true };
    // Read again: a deploy may have refreshed the expiry since the list.
    const current = await ctx.kube.readNamespace(namespace);
    if (!current) return { ...row, action: 'already gone' };
    const expiry = expiryOf(current, Date.now());
    if (expiry.state !== 'expired') return { ...row, action: `kept: ${describeExpiry(expiry)}` };
    for (const release of row.releases) await uninstallRelease(ctx, { ...target, release });
    // As read: a deploy that stamped a new expiry in the meantime makes this fail (409).
    await ctx.kube.deleteNamespace(namespace, current.metadata?.resourceVersion);
    core.info(`Namespace ${namespace} deleted (finishes in the background).`);
    return { ...row, action: 'deleted', swept: true };
  } catch (error) {
    if (apiCode(error) === 409) {
      return { ...row, action: 'kept: changed during the sweep (redeployed?)' };
    }
    const reason = error instanceof Error ? error.message : String(error);
    core.error(`Sweeping namespace ${namespace}: ${reason}`);
    return { ...row, action: `failed: ${reason}`, failed: true };
  }
}

function describeExpiry(expiry: Expiry): string {
  switch (expiry.state) {
    case 'expired':
      return `expired at ${expiry.expiresAt}`;
    case 'live':
      return `expires at ${expiry.expiresAt}`;
    case 'no-expiry':
      return `no ${EXPIRES_AT_ANNOTATION} (deployed without ttl)`;
    case 'unreadable':
      return `unreadable ${EXPIRES_AT_ANNOTATION}`;
    case 'foreign':
      return 'not created by Slipway';
    case 'terminating':
      return 'already being deleted';
  }
}

async function writeSweepSummary(ctx: Context, result: SweepResult): Promise<void> {
  const summary = new SummaryBuilder()
    .heading(`helm-deploy-namespace: sweep${ctx.config.dryRun ? ' (dry run)' : ''}`)
    .facts([
      ['Selector', result.selector],
      ['Matched', result.matched],
      ['Expired', result.expired.length],
      [ctx.config.dryRun ? 'Would sweep' : 'Swept', result.swept.join(', ') || 'none'],
      ['Helm', ctx.helm.version],
      ['Duration', formatDuration(Date.now() - ctx.started)]
    ]);
  if (result.expired.length > 0) {
    summary.table(
      ['Namespace', 'Expired at', 'Releases', 'Action'],
      result.expired.map(row => [
        row.namespace,
        row.expiresAt,
        row.releases.join(', ') || 'none',
        row.action
      ])
    );
  } else {
    summary.paragraph('No namespace matching the selector has expired.');
  }
  await summary.write();
}
