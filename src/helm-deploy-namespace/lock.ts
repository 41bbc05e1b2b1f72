import * as core from '@actions/core';
import { acquireLease, KubeClient, releaseLease, runHolder } from '../lib/kube/index.js';
import { STATE, type DeployLockState } from '../lib/state.js';
import type { ClusterContext } from './context.js';

/**
 * Deploys of one release take turns: each holds the Lease `slipway-deploy-<release>` in the target
 * namespace while it changes the release (renewed every 10 s, 30 s without renewal and another run
 * takes it over), and releases it at the end of the main step, and again in post.
 */
const LEASE_SECONDS = 30;

export async function withDeployLock<T>(ctx: ClusterContext, work: () => Promise<T>): Promise<T> {
  const spec = {
    namespace: ctx.config.namespace,
    name: `slipway-deploy-${ctx.config.release}`,
    holder: runHolder(),
    durationSeconds: LEASE_SECONDS
  };
  const held = await core.group(`Deploy lock ${spec.name}`, () =>
    acquireLease(ctx.kube, spec, ctx.config.lockTimeoutMs)
  );
  STATE.deploy.lock.save({
    ...spec,
    kubeconfig: ctx.target.kubeconfig,
    context: ctx.target.context
  });
  try {
    return await work();
  } finally {
    await held
      .release()
      // Released (or no longer ours): nothing for the post step to connect to the cluster for.
      .then(() => STATE.deploy.lock.clear())
      .catch(error => core.warning(`Releasing the deploy lock: ${String(error)}`));
  }
}

/** Post: the lease again, in case the main step ended before releasing it. */
export async function releaseDeployLock(lock: DeployLockState): Promise<void> {
  const kube = await KubeClient.connect({ kubeconfig: lock.kubeconfig, context: lock.context });
  const released = await releaseLease(kube, { ...lock, durationSeconds: LEASE_SECONDS });
  core.info(
    released ? `Released lease ${lock.name}` : `Lease ${lock.name} is not held by this run.`
  );
}
