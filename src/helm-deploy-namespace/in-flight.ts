import * as core from '@actions/core';
import { rmSync } from 'node:fs';
import {
  Helm,
  isPending,
  lastGoodRevision,
  newestRevision,
  type RevisionState
} from '../lib/helm/index.js';
import { tempDir } from '../lib/runner.js';
import { STATE, type InFlightDeploy } from '../lib/state.js';
import type { Context } from './context.js';
import { restoreRelease } from './recover.js';

/**
 * A deploy cancelled (or killed) mid-rollout leaves its revision pending, and helm refuses every
 * later operation on the release. Before helm runs, the main step records what is in flight; the
 * post step puts back a revision this run left pending (or failed, under atomic) and leaves alone
 * one another run wrote.
 */
export function recordInFlight(ctx: Context, history: readonly RevisionState[]): void {
  const inFlight: InFlightDeploy = {
    ...ctx.target,
    helm: { ...ctx.helm.binary },
    latest: newestRevision(history)?.revision ?? 0,
    deployed: lastGoodRevision(history),
    timeoutMs: ctx.config.timeoutMs,
    atomic: ctx.config.atomic
  };
  core.debug(`In flight: revision ${inFlight.latest + 1}, deployed before ${inFlight.deployed}`);
  STATE.deploy.inFlight.save(inFlight);
}

/** The deploy ended with the release deployed: nothing for the post step to put back. */
export function finishInFlight(): void {
  STATE.deploy.inFlight.clear();
}

/** Post: a release this run left pending-* (or failed) goes back to where it was before. */
export async function putBackInFlight(inFlight: InFlightDeploy): Promise<void> {
  const workDir = tempDir('helm-post');
  try {
    const helm = new Helm({ ...inFlight.helm }, workDir);
    const target = {
      release: inFlight.release,
      namespace: inFlight.namespace,
      kubeconfig: inFlight.kubeconfig,
      context: inFlight.context
    };
    const latest = newestRevision(await helm.history(target));
    const ours = inFlight.latest + 1;
    const what = `Release ${inFlight.release} in namespace ${inFlight.namespace}`;
    if (!latest) return core.info(`${what} does not exist: nothing to put back.`);
    const state = `${latest.status} at revision ${latest.revision}`;
    if (!isPending(latest.status) && !(latest.status === 'failed' && inFlight.atomic)) {
      return core.info(`${what} is ${state}: nothing to put back.`);
    }
    // This run wrote revision `ours`; helm's own atomic rollback of it, the one after.
    const mine =
      latest.revision === ours ||
      (latest.revision === ours + 1 && latest.status === 'pending-rollback');
    if (!mine) {
      return core.warning(
        `${what} is ${state}, written by another run (this run's was revision ${ours}): left alone.`
      );
    }
    core.warning(
      `${what} was left ${state} by this cancelled or failed run: ${inFlight.deployed ? `rolling back to revision ${inFlight.deployed}` : 'uninstalling the never-deployed release'}.`
    );
    await restoreRelease(
      helm,
      { ...target, timeoutMs: inFlight.timeoutMs },
      inFlight.deployed,
      latest
    );
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
