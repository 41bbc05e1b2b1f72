import * as core from '@actions/core';
import { SlipwayError } from '../lib/errors.js';
import { lastLine } from '../lib/exec.js';
import {
  type Helm,
  type HelmRelease,
  isPending,
  lastGoodRevision,
  newestRevision,
  type RevisionState
} from '../lib/helm/index.js';
import type { Context } from './context.js';
import { restoreCommand } from './rollback.js';

/**
 * A cancelled job can leave the release `pending-*`, and helm then refuses every operation. With
 * `recover: rollback` the release goes back to its last good revision (or is uninstalled when it
 * never had one); otherwise the step stops and says how to recover. `revisions`: the release's, as
 * read under the deploy lock; true when the release was put back (its revisions changed).
 */
export async function recoverPendingRelease(
  ctx: Context,
  revisions: readonly RevisionState[]
): Promise<boolean> {
  const current = newestRevision(revisions);
  core.debug(`Release state: ${current ? `${current.status} ${current.revision}` : 'none'}`);
  if (!current || !isPending(current.status)) return false;
  const status = { ...current, ...(await ctx.helm.status(ctx.target)) };
  // The revisions already read hold every state: no `helm history` to learn the last good one.
  const good = lastGoodRevision(revisions);
  const what = `Release ${ctx.config.release} in namespace ${ctx.config.namespace} is stuck in ${status.status} (revision ${status.revision}), probably from a cancelled run.`;
  if (ctx.config.recover !== 'rollback' || ctx.config.dryRun) {
    throw new SlipwayError(what, {
      hint: good
        ? `Set recover: rollback to roll back to revision ${good} before upgrading, or run: helm rollback ${ctx.config.release} ${good} -n ${ctx.config.namespace}`
        : `Set recover: rollback to uninstall the never-deployed release before installing, or run: helm uninstall ${ctx.config.release} -n ${ctx.config.namespace}`
    });
  }
  core.warning(`${what} Recovering (recover: rollback).`);
  await restoreRelease(ctx.helm, { ...ctx.target, timeoutMs: ctx.config.timeoutMs }, good, status);
  return true;
}

/** Rolls the release back to `good`, or uninstalls it when it never had a good revision. */
export async function restoreRelease(
  helm: Helm,
  release: HelmRelease & { timeoutMs: number },
  good: number | undefined,
  from: { status: string }
): Promise<void> {
  const result = await restoreCommand(helm, release, good);
  if (result.exitCode !== 0) {
    throw new SlipwayError(
      `Could not recover release ${release.release} from ${from.status}: ${lastLine(result)}`
    );
  }
  core.info(good ? `Rolled back to revision ${good}` : 'Uninstalled the never-deployed release');
}
