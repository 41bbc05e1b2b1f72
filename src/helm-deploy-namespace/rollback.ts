import * as core from '@actions/core';
import { lastLine, type RunResult } from '../lib/exec.js';
import {
  type Helm,
  type HelmRelease,
  isLockedReleaseError,
  lastGoodRevision,
  type HistoryEntry,
  type ReleaseStatus
} from '../lib/helm/index.js';
import type { Context } from './context.js';

/**
 * With `atomic`, Slipway rolls a failed upgrade back itself instead of passing helm's `--atomic`
 * (`--rollback-on-failure` in Helm 4): helm's own rollback deletes the failing pods before anyone
 * can describe them, so the upgrade runs with `--wait` only, the diagnostics are collected from the
 * failing pods, and then this restores the release.
 */

/**
 * Puts back the last good revision, or uninstalls a release that never deployed, waiting with a
 * timeout of its own (`timeout` again, not what the rollout left of it). Returns helm's result.
 */
export function restoreLastGood(ctx: Context, good: number | undefined): Promise<RunResult> {
  const target = { ...ctx.target, timeoutMs: ctx.config.timeoutMs };
  const what = good
    ? `helm rollback ${ctx.config.release} ${good}`
    : `helm uninstall ${ctx.config.release}`;
  return core.group(what, () => restoreCommand(ctx.helm, target, good));
}

/** `helm rollback` to `good`, or `helm uninstall` when the release never had a good revision. */
export function restoreCommand(
  helm: Helm,
  release: HelmRelease & { timeoutMs: number },
  good: number | undefined
): Promise<RunResult> {
  const target = { ...release, wait: true };
  return good ? helm.rollback(target, good) : helm.uninstall(target);
}

/**
 * After a failed upgrade with `atomic` and its diagnostics: restores the release when the upgrade
 * left a failed or pending revision (not when it failed before creating one, nor when another
 * operation holds the release) and returns the release's status afterwards.
 */
export async function rollBackFailedUpgrade(
  ctx: Context,
  upgrade: RunResult,
  status: ReleaseStatus | undefined,
  history: HistoryEntry[]
): Promise<ReleaseStatus | undefined> {
  if (!status || status.status === 'deployed' || isLockedReleaseError(upgrade.stderr)) {
    return status;
  }
  const result = await restoreLastGood(ctx, lastGoodRevision(history));
  if (result.exitCode !== 0 || result.timedOut) {
    core.warning(
      `Rolling back release ${ctx.config.release} after the failed upgrade failed: ${lastLine(result)}`
    );
  }
  return ctx.helm.status(ctx.target).catch(() => undefined);
}
