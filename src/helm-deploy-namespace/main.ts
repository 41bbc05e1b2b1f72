import * as core from '@actions/core';
import { rmSync } from 'node:fs';
import { preloadManifestReader, type UpgradePlan } from '../lib/helm/index.js';
import { Inputs } from '../lib/inputs.js';
import { KubeClient } from '../lib/kube/index.js';
import { tempDir } from '../lib/runner.js';
import { STATE } from '../lib/state.js';
import { registerSecret } from '../lib/secrets.js';
import { checkLocalFiles, loadValuesReader, readConfig, type DeployConfig } from './config.js';
import type { ClusterContext, Context, DeployResult } from './context.js';
import { deleteRelease } from './delete.js';
import { dryRun } from './dry-run.js';
import { startHelm, type HelmWhenReady } from './helm-setup.js';
import { finishInFlight, putBackInFlight, recordInFlight } from './in-flight.js';
import { removeNamespacedKubeconfig } from './kubeconfig.js';
import { prepareNamespace, type PreparedNamespace } from './namespace.js';
import { releaseDeployLock, withDeployLock } from './lock.js';
import { failDeploy, failRollout, reportSuccess } from './outcome.js';
import { ensurePullSecret, resolvePullSecret } from './pull-secret.js';
import { recoverPendingRelease } from './recover.js';
import { releaseRevisions } from './release-record.js';
import { smokeCheck } from './smoke-check.js';
import { sweep, type SweepResult } from './sweep.js';
import { ociRegistryConfig, writeGeneratedValues } from './values.js';

export { readConfig } from './config.js';
export type { DeployResult } from './context.js';
export type { SweepResult } from './sweep.js';
export { CREATED_FOR_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './ownership.js';

/**
 * helm-deploy-namespace: the steps of the action. Namespace handling, pending-release recovery,
 * the dry run, delete and the reports live in files of their own; helm itself is run by the Helm
 * class (lib/helm).
 */

/** The action's entry point: inputs checked, then the work. */
export async function main(inputs = new Inputs()): Promise<DeployResult | SweepResult> {
  await loadValuesReader(inputs);
  const config = readConfig(inputs);
  checkLocalFiles(config);
  return config.action === 'sweep' ? runSweep(config) : run(config);
}

/** Deploys (or deletes) the release; `config` and the files it names are already checked. */
export async function run(config: DeployConfig): Promise<DeployResult> {
  const result = await withContext(config, (cluster, helm) => {
    core.debug(`action: ${config.action}${config.dryRun ? ' (dry run)' : ''}`);
    return config.action === 'delete'
      ? withHelm(cluster, helm, deleteRelease)
      : deploy(cluster, helm);
  });
  core.setOutput('release', result.release);
  core.setOutput('namespace', result.namespace);
  core.setOutput('revision', String(result.revision));
  core.setOutput('status', result.status);
  core.setOutput('manifest-digest', result.manifestDigest);
  if (result.kubeconfig) core.setOutput('kubeconfig', result.kubeconfig);
  if (result.url) core.setOutput('url', result.url);
  if (result.expiresAt) core.setOutput('expires-at', result.expiresAt);
  return result;
}

/** Sweeps the expired namespaces (action: sweep). */
export function runSweep(config: DeployConfig): Promise<SweepResult> {
  return withContext(config, (cluster, helm) => withHelm(cluster, helm, sweep));
}

/**
 * Starts finding (or installing) helm, connects to the cluster, then runs `work` with a private work
 * dir. Helm is awaited before the cluster work when its setup may download or must match a version,
 * else (a helm on PATH, asked only for its version) only when `work` first needs it.
 */
async function withContext<T>(
  config: DeployConfig,
  work: (cluster: ClusterContext, helm: HelmWhenReady) => Promise<T>
): Promise<T> {
  const started = Date.now();
  registerSecret(config.token);
  const workDir = tempDir('helm');
  try {
    const helm = startHelm(config, workDir);
    // Independent: the helm setup (its group first, unless it runs in the background) and loading
    // the Kubernetes client.
    const [, kube] = await Promise.all([
      helm.background ? undefined : helm.whenReady(),
      KubeClient.connect({ kubeconfig: config.kubeconfig, context: config.context })
    ]);
    core.info(`Cluster ${kube.target.server} (context ${kube.target.context})`);
    const target = {
      release: config.release,
      namespace: config.namespace,
      kubeconfig: config.kubeconfig,
      context: kube.target.context
    };
    return await work({ config, workDir, kube, target, started }, helm.whenReady);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Runs a step that needs helm from the start (delete, sweep). */
async function withHelm<T>(
  cluster: ClusterContext,
  helm: HelmWhenReady,
  step: (ctx: Context) => Promise<T>
): Promise<T> {
  return step({ ...cluster, helm: await helm() });
}

/**
 * Namespace and pull secret, then the release's change under the deploy lock. Helm is awaited only
 * there: a helm on PATH answers `helm version` while the namespace and the lock are prepared.
 */
async function deploy(cluster: ClusterContext, helm: HelmWhenReady): Promise<DeployResult> {
  const { config } = cluster;
  // Credentials are resolved before the namespace changes: a missing login leaves nothing behind.
  const pullCredentials = await resolvePullSecret(config, cluster.kube);
  const namespace = await core.group(`Namespace ${config.namespace}`, () =>
    prepareNamespace(cluster)
  );
  if (config.pullSecret && pullCredentials) {
    const spec = config.pullSecret;
    await core.group(`Image pull secret ${spec.name}`, () =>
      ensurePullSecret(cluster.kube, config.namespace, spec, pullCredentials, config.release)
    );
  }
  const change = async () => upgradeRelease({ ...cluster, helm: await helm() }, namespace);
  return config.dryRun ? change() : withDeployLock(cluster, change);
}

/** Under the deploy lock: recovery of a pending release, values, helm, the check, the report. */
async function upgradeRelease(ctx: Context, namespace: PreparedNamespace): Promise<DeployResult> {
  const { config } = ctx;
  // One read of the revisions serves the pending check and the in-flight record (a namespace
  // created just now holds no release).
  const revisions = namespace.state === 'created' ? [] : await releaseRevisions(ctx);
  const recovered = await recoverPendingRelease(ctx, revisions);
  const generated = await writeGeneratedValues(config, ctx.workDir);
  const plan: UpgradePlan = {
    ...ctx.target,
    chart: config.chart,
    chartVersion: config.chartVersion,
    repoUrl: config.repoUrl,
    valuesFiles: [...config.valuesFiles, ...(generated ? [generated] : [])],
    // With atomic, Slipway rolls back itself after collecting diagnostics (rollback.ts): helm's
    // own rollback would delete the failing pods first.
    atomic: false,
    wait: config.wait || config.atomic,
    timeoutMs: config.timeoutMs,
    force: config.force,
    historyMax: config.historyMax,
    caFile: config.caFile,
    registryConfig: ociRegistryConfig(config.chart),
    dryRun: config.dryRun ? (namespace.state === 'missing' ? 'client' : 'server') : undefined
  };
  if (config.dryRun) return await dryRun(ctx, plan);
  recordInFlight(ctx, recovered ? await releaseRevisions(ctx) : revisions);
  preloadManifestReader();
  const upgrade = await core.group(`helm upgrade --install ${config.release}`, () =>
    ctx.helm.upgrade(plan)
  );
  if (upgrade.exitCode !== 0 || upgrade.timedOut) await failDeploy(ctx, upgrade);
  const spec = config.check;
  const check = spec && (await core.group('Smoke check', () => smokeCheck(ctx, spec)));
  if (check?.failure) await failRollout(ctx, check.failure);
  const result = await core.group('Release', () => reportSuccess(ctx, namespace, check?.result));
  finishInFlight();
  return result;
}

/** Puts back a release this run left pending; removes the namespaced kubeconfig copy. */
export async function post(): Promise<void> {
  const inFlight = STATE.deploy.inFlight.get();
  try {
    if (inFlight) {
      await core.group(`Putting back release ${inFlight.release} (deploy did not finish)`, () =>
        putBackInFlight(inFlight)
      );
    }
  } finally {
    const lock = STATE.deploy.lock.get();
    if (lock) await releaseDeployLock(lock).catch(error => core.warning(String(error)));
    if (STATE.deploy.kubeconfigDir.get()) {
      await core.group('Removing the namespaced kubeconfig', removeNamespacedKubeconfig);
    }
  }
}
