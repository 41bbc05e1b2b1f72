import * as core from '@actions/core';
import { SlipwayError } from '../lib/errors.js';
import { lastLine } from '../lib/exec.js';
import { deployResult, writeSummary, type Context, type DeployResult } from './context.js';
import type { HelmRelease } from '../lib/helm/index.js';
import { isManaged } from './ownership.js';
import { releasePullSecret } from './pull-secret.js';

/**
 * Uninstalls the release and, for a namespace Slipway created (or with delete-namespace: true),
 * deletes the namespace — but only once no other release lives in it.
 */
export async function deleteRelease(ctx: Context): Promise<DeployResult> {
  const { config, kube } = ctx;
  const namespace = await kube.readNamespace(config.namespace);
  if (!namespace) {
    core.info(`Namespace ${config.namespace} does not exist: nothing to delete.`);
    return deployResult(config, { status: 'uninstalled' });
  }
  const before = await ctx.helm.status(ctx.target);
  if (before) {
    await uninstallRelease(ctx, ctx.target);
  } else {
    core.info(`Release ${config.release} is not installed in ${config.namespace}.`);
  }
  if (config.pullSecret) {
    await releasePullSecret(kube, config.namespace, config.pullSecret, config.release);
  }
  const managed = isManaged(namespace);
  const wanted =
    config.deleteNamespace === 'true' || (config.deleteNamespace === 'auto' && managed);
  core.debug(`Namespace ${config.namespace}: managed ${managed}, delete ${wanted}`);
  let deleted = false;
  if (wanted) {
    const others = await ctx.helm.list(ctx.target);
    if (others.length > 0) {
      core.warning(
        `Namespace ${config.namespace} still holds release(s) ${others.join(', ')}; it is kept.`
      );
    } else {
      deleted = await kube.deleteNamespace(config.namespace);
      core.info(`Namespace ${config.namespace} deleted (finishes in the background).`);
    }
  } else {
    core.info(
      `Namespace ${config.namespace} kept (${managed ? 'delete-namespace: false' : 'not created by Slipway; set delete-namespace: true to remove it'}).`
    );
  }
  core.setOutput('namespace-deleted', String(deleted));
  await writeSummary(': delete', [
    [
      'Release',
      `${config.release} ${before ? `(was revision ${before.revision})` : '(not installed)'}`
    ],
    ['Namespace', `${config.namespace} ${deleted ? 'deleted' : 'kept'}`]
  ]);
  return deployResult(config, { revision: before?.revision, status: 'uninstalled' });
}

/** `helm uninstall` of one release (with the config's timeout and wait); a failure throws. */
export async function uninstallRelease(ctx: Context, target: HelmRelease): Promise<void> {
  const { config } = ctx;
  const result = await core.group(`helm uninstall ${target.release} (${target.namespace})`, () =>
    ctx.helm.uninstall({ ...target, timeoutMs: config.timeoutMs, wait: config.wait })
  );
  if (result.exitCode !== 0) {
    throw new SlipwayError(
      `helm uninstall ${target.release} in ${target.namespace} failed: ${lastLine(result)}`
    );
  }
}
