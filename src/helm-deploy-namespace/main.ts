import * as core from '@actions/core';
import { createTwoFilesPatch } from 'diff';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { SlipwayError } from '../lib/errors.js';
import { run as execute, type RunResult } from '../lib/exec.js';
import {
  historyArgs,
  isLockedReleaseError,
  isPending,
  isReleaseNotFound,
  lastGoodRevision,
  latestRecordState,
  usesSecretStorage,
  listArgs,
  manifestDigest,
  manifestResources,
  parseHistory,
  parseReleaseStatus,
  rollbackArgs,
  setAtPath,
  statusArgs,
  uninstallArgs,
  upgradeArgs,
  inferValue,
  type HelmTarget,
  type HistoryEntry,
  type ManifestResource,
  type ReleaseStatus,
  type UpgradePlan
} from '../lib/helm.js';
import { setupHelm, type HelmSetup } from '../lib/helm-setup.js';
import { Inputs } from '../lib/inputs.js';
import { KubeClient, loadClientNode } from '../lib/kube.js';
import { tempDir } from '../lib/runner.js';
import { registerSecret } from '../lib/secrets.js';
import { STATE } from '../lib/state.js';
import { SummaryBuilder, formatDuration } from '../lib/summary.js';
import { checkLocalFiles, readConfig, type DeployConfig } from './config.js';
import { collectDiagnostics } from './diagnostics.js';

export { readConfig } from './config.js';

/** Namespaces this action creates carry these, so `action: delete` knows it may remove them. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'slipway';
export const CREATED_FOR_ANNOTATION = 'slipway.dev/created-for-release';

export interface DeployResult {
  release: string;
  namespace: string;
  revision: number;
  status: string;
  manifestDigest: string;
  kubeconfig?: string | undefined;
}

interface Context {
  config: DeployConfig;
  /** Private scratch directory under RUNNER_TEMP (values file, helm's discovery cache). */
  workDir: string;
  helm: HelmSetup;
  kube: KubeClient;
  target: HelmTarget & { release: string };
}

/** The action's entry point: inputs checked, then the work. */
export async function main(inputs = new Inputs()): Promise<DeployResult> {
  const config = readConfig(inputs);
  checkLocalFiles(config);
  return run(config);
}

/** Deploys (or deletes) the release; `config` and the files it names are already checked. */
export async function run(config: DeployConfig): Promise<DeployResult> {
  const started = Date.now();
  registerSecret(config.token);
  // Independent: finding (or installing) helm and loading the Kubernetes client.
  const [helm, kube] = await Promise.all([
    core.group('Helm', () =>
      setupHelm({
        spec: config.helmVersion,
        downloadUrl: config.helmDownloadUrl,
        token: config.token,
        apiUrl: config.apiUrl
      })
    ),
    KubeClient.connect({ kubeconfig: config.kubeconfig, context: config.context })
  ]);
  core.info(`Cluster ${kube.target.server} (context ${kube.target.context}); helm ${helm.version}`);
  const workDir = tempDir('helm');
  const ctx: Context = {
    config,
    workDir,
    helm,
    kube,
    target: {
      release: config.release,
      namespace: config.namespace,
      kubeconfig: config.kubeconfig,
      context: kube.target.context
    }
  };
  let result: DeployResult;
  try {
    result = config.action === 'delete' ? await deleteRelease(ctx) : await deploy(ctx, started);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  core.setOutput('release', result.release);
  core.setOutput('namespace', result.namespace);
  core.setOutput('revision', String(result.revision));
  core.setOutput('status', result.status);
  core.setOutput('manifest-digest', result.manifestDigest);
  if (result.kubeconfig) core.setOutput('kubeconfig', result.kubeconfig);
  return result;
}

async function helmRun(
  ctx: Context,
  args: string[],
  quiet = false,
  timeoutMs?: number
): Promise<RunResult> {
  return execute(ctx.helm.path, args, {
    env: helmEnv(ctx),
    stream: !quiet,
    echo: !quiet,
    ignoreReturnCode: true,
    timeoutMs: timeoutMs ?? 120_000
  });
}

/**
 * Helm's Kubernetes discovery cache goes to the private work directory instead of ~/.kube/cache
 * (nothing is written outside RUNNER_TEMP and the workspace). Helm's own config, cache and data
 * homes are left alone: they hold the repositories an earlier `helm repo add` step configured.
 */
function helmEnv(ctx: Context): Record<string, string> {
  return { KUBECACHEDIR: path.join(ctx.workDir, 'kube-cache') };
}

async function releaseStatus(ctx: Context): Promise<ReleaseStatus | undefined> {
  const result = await helmRun(ctx, statusArgs(ctx.target), true);
  if (result.exitCode === 0) return parseReleaseStatus(result.stdout);
  if (isReleaseNotFound(result.stderr)) return undefined;
  throw new SlipwayError(`helm status ${ctx.config.release} failed: ${lastLine(result)}`);
}

async function releaseHistory(ctx: Context): Promise<HistoryEntry[]> {
  const result = await helmRun(ctx, historyArgs(ctx.target), true);
  return result.exitCode === 0 ? parseHistory(result.stdout) : [];
}

function lastLine(result: RunResult): string {
  return (
    (result.stderr || result.stdout).trim().split('\n').pop() ?? `exit code ${result.exitCode}`
  );
}

async function deploy(ctx: Context, started: number): Promise<DeployResult> {
  const { config } = ctx;
  const namespaceState = await prepareNamespace(ctx);
  // A namespace created just now holds no release, so there is nothing to recover.
  if (namespaceState !== 'created') await recoverPendingRelease(ctx);
  const generated = writeGeneratedValues(config, ctx.workDir);
  const plan: UpgradePlan = {
    ...ctx.target,
    chart: config.chart,
    chartVersion: config.chartVersion,
    repoUrl: config.repoUrl,
    valuesFiles: [...config.valuesFiles, ...(generated ? [generated] : [])],
    atomic: config.atomic,
    wait: config.wait,
    timeoutMs: config.timeoutMs,
    force: config.force,
    historyMax: config.historyMax,
    caFile: config.caFile,
    registryConfig: ociRegistryConfig(config.chart),
    dryRun: config.dryRun ? (namespaceState === 'missing' ? 'client' : 'server') : undefined
  };
  if (config.dryRun) return await dryRun(ctx, plan);
  // An atomic failure waits once for the rollout and once more for the rollback.
  const processTimeout = config.timeoutMs * (config.atomic ? 2 : 1) + 120_000;
  const upgrade = await core.group(`helm upgrade --install ${config.release}`, () =>
    helmRun(ctx, upgradeArgs(plan, ctx.helm.major), false, processTimeout)
  );
  if (upgrade.exitCode !== 0 || upgrade.timedOut) await failDeploy(ctx, upgrade, started);
  return await reportSuccess(ctx, started, namespaceState);
}

/**
 * `oci://` charts are pulled with the registry login's credentials: DOCKER_CONFIG's config.json
 * (written by registry-login-from-secret) is in the format helm's --registry-config reads. Helm 4
 * would find it by itself; Helm 3 only reads its own file unless told.
 */
function ociRegistryConfig(chart: string): string | undefined {
  const dir = process.env.DOCKER_CONFIG;
  if (!chart.startsWith('oci://') || !dir) return undefined;
  const file = path.join(dir, 'config.json');
  return existsSync(file) ? file : undefined;
}

type NamespaceState = 'created' | 'updated' | 'unchanged' | 'missing';

async function prepareNamespace(ctx: Context): Promise<NamespaceState> {
  const { config, kube } = ctx;
  const existing = await kube.readNamespace(config.namespace);
  if (!existing && !config.createNamespace) {
    throw new SlipwayError(
      `Namespace "${config.namespace}" does not exist and create-namespace is false.`,
      {
        hint: 'Create it first, or set create-namespace: true.'
      }
    );
  }
  if (config.dryRun) return existing ? 'unchanged' : 'missing';
  const labels = existing
    ? config.namespaceLabels
    : { ...config.namespaceLabels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
  const annotations = existing
    ? config.namespaceAnnotations
    : { ...config.namespaceAnnotations, [CREATED_FOR_ANNOTATION]: config.release };
  const state = await kube.ensureNamespace(config.namespace, labels, annotations);
  core.info(`Namespace ${config.namespace}: ${state}`);
  return state;
}

/**
 * A cancelled job can leave the release `pending-*`, and helm then refuses every operation. With
 * `recover: rollback` the release goes back to its last good revision (or is uninstalled when it
 * never had one); otherwise the step stops and says how to recover.
 */
async function recoverPendingRelease(ctx: Context): Promise<void> {
  const current = await currentReleaseState(ctx);
  if (!current || !isPending(current.status)) return;
  const status = { ...current, ...(await releaseStatus(ctx)) };
  const history = await releaseHistory(ctx);
  const good = lastGoodRevision(history);
  const what = `Release ${ctx.config.release} in namespace ${ctx.config.namespace} is stuck in ${status.status} (revision ${status.revision}), probably from a cancelled run.`;
  if (ctx.config.recover !== 'rollback' || ctx.config.dryRun) {
    throw new SlipwayError(what, {
      hint: good
        ? `Set recover: rollback to roll back to revision ${good} before upgrading, or run: helm rollback ${ctx.config.release} ${good} -n ${ctx.config.namespace}`
        : `Set recover: rollback to uninstall the never-deployed release before installing, or run: helm uninstall ${ctx.config.release} -n ${ctx.config.namespace}`
    });
  }
  core.warning(`${what} Recovering (recover: rollback).`);
  const target = { ...ctx.target, timeoutMs: ctx.config.timeoutMs, wait: true };
  const result = good
    ? await helmRun(
        ctx,
        rollbackArgs(target, good, ctx.helm.major),
        false,
        ctx.config.timeoutMs + 60_000
      )
    : await helmRun(
        ctx,
        uninstallArgs(target, ctx.helm.major),
        false,
        ctx.config.timeoutMs + 60_000
      );
  if (result.exitCode !== 0) {
    throw new SlipwayError(
      `Could not recover release ${ctx.config.release} from ${status.status}: ${lastLine(result)}`
    );
  }
  core.info(good ? `Rolled back to revision ${good}` : 'Uninstalled the never-deployed release');
}

/**
 * The release's state from its storage records' labels, read through the API (no helm process);
 * other storage drivers, or credentials that may not list Secrets, fall back to `helm status`.
 */
async function currentReleaseState(
  ctx: Context
): Promise<{ revision: number; status: string } | undefined> {
  if (usesSecretStorage()) {
    try {
      const records = await ctx.kube.listSecretLabels(
        ctx.config.namespace,
        `owner=helm,name=${ctx.config.release}`
      );
      return latestRecordState(records);
    } catch (error) {
      core.debug(`Reading release records failed (${(error as Error).message}); asking helm.`);
    }
  }
  return releaseStatus(ctx);
}

/**
 * `values`, `set`, `set-string` and the image go into one values file, passed last so it wins.
 * Writing YAML instead of `--set` flags means no value is ever parsed by helm's `--set` syntax:
 * commas, dots, brackets, quotes and backslashes arrive as written. The file can hold secret
 * values, so it is private (0600 in a 0700 directory) and deleted right after helm runs.
 */
export function generatedValues(config: DeployConfig): Record<string, unknown> | undefined {
  const values: Record<string, unknown> = structuredClone(config.values ?? {});
  for (const [key, raw] of config.set) setAtPath(values, key, inferValue(raw));
  for (const [key, raw] of config.setString) setAtPath(values, key, raw);
  if (config.image) {
    setAtPath(values, config.imageValues.repository, config.image.repository);
    if (config.image.tag) setAtPath(values, config.imageValues.tag, config.image.tag);
    if (config.image.digest) setAtPath(values, config.imageValues.digest, config.image.digest);
  }
  return Object.keys(values).length > 0 ? values : undefined;
}

function writeGeneratedValues(config: DeployConfig, dir: string): string | undefined {
  const values = generatedValues(config);
  if (!values) return undefined;
  const file = path.join(dir, 'slipway-values.yaml');
  writeFileSync(file, toYaml(values), { mode: 0o600 });
  return file;
}

async function dryRun(ctx: Context, plan: UpgradePlan): Promise<DeployResult> {
  const result = await core.group(`helm upgrade --install ${ctx.config.release} (dry run)`, () =>
    execute(ctx.helm.path, upgradeArgs(plan, ctx.helm.major), {
      env: helmEnv(ctx),
      stream: false,
      ignoreReturnCode: true,
      timeoutMs: 300_000
    })
  );
  if (result.exitCode !== 0) {
    throw new SlipwayError(`The dry run of ${ctx.config.release} failed: ${lastLine(result)}`);
  }
  const rendered = extractManifest(result.stdout);
  // A client-side dry run means the namespace is missing, so nothing is deployed yet.
  const status =
    plan.dryRun === 'server' ? await releaseStatus(ctx).catch(() => undefined) : undefined;
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
  await new SummaryBuilder()
    .heading('helm-deploy-namespace (dry run)')
    .facts([
      ['Release', ctx.config.release],
      ['Namespace', ctx.config.namespace],
      ['Deployed revision', status?.revision],
      ['Rendered manifest', manifestDigest(rendered)]
    ])
    .details('Changes', current ? patch : rendered)
    .write();
  return {
    release: ctx.config.release,
    namespace: ctx.config.namespace,
    revision: status?.revision ?? 0,
    status: 'dry-run',
    manifestDigest: manifestDigest(rendered)
  };
}

/** Helm's dry-run output: metadata, then `MANIFEST:`, then optionally `NOTES:`. */
export function extractManifest(output: string): string {
  const start = output.indexOf('MANIFEST:');
  if (start === -1) return output;
  const body = output.slice(start + 'MANIFEST:'.length);
  const notes = body.search(/^NOTES:/m);
  return (notes === -1 ? body : body.slice(0, notes)).trim();
}

async function failDeploy(ctx: Context, upgrade: RunResult, started: number): Promise<never> {
  const { config } = ctx;
  const [status, history] = await Promise.all([
    releaseStatus(ctx).catch(() => undefined),
    releaseHistory(ctx)
  ]);
  const resources = status ? manifestResources(status.manifest) : [];
  const diagnostics = await collectDiagnostics(ctx.kube, {
    namespace: config.namespace,
    status,
    history,
    resources
  }).catch(error => `Diagnostics could not be collected: ${(error as Error).message}`);
  core.startGroup('Diagnostics');
  for (const line of diagnostics.split('\n')) core.info(line);
  core.endGroup();
  const rolledBack = config.atomic && status?.status === 'deployed' && upgrade.exitCode !== 0;
  const locked = isLockedReleaseError(upgrade.stderr);
  const outcome = rolledBack
    ? `rolled back: revision ${status?.revision} serves the previous release`
    : status
      ? `release is ${status.status} at revision ${status.revision}`
      : 'nothing was installed';
  await new SummaryBuilder()
    .heading('helm-deploy-namespace: failed')
    .facts([
      ['Release', config.release],
      ['Namespace', config.namespace],
      ['Outcome', outcome],
      ['Helm', ctx.helm.version],
      ['Duration', formatDuration(Date.now() - started)]
    ])
    .details('Diagnostics', diagnostics)
    .write();
  if (status) {
    core.setOutput('revision', String(status.revision));
    core.setOutput('status', status.status);
  }
  throw new SlipwayError(
    `helm upgrade --install ${config.release} into namespace ${config.namespace} failed${upgrade.timedOut ? ' (timed out)' : ''}: ${lastLine(upgrade)}; ${outcome}.`,
    {
      hint: locked
        ? 'Another operation holds the release (pending state from a cancelled run): set recover: rollback.'
        : 'See the Diagnostics group above (events, pods not Ready, container logs).'
    }
  );
}

async function reportSuccess(
  ctx: Context,
  started: number,
  namespaceState: NamespaceState
): Promise<DeployResult> {
  const { config } = ctx;
  // helm status includes the rendered manifest: no separate `helm get manifest`.
  const status = await releaseStatus(ctx);
  if (!status)
    throw new SlipwayError(`helm reported success but release ${config.release} is not found.`);
  const readiness = await workloadReadiness(ctx, manifestResources(status.manifest));
  const digest = manifestDigest(status.manifest);
  const kubeconfig = config.setContextNamespace ? await writeNamespacedKubeconfig(ctx) : undefined;
  const image = config.image
    ? `${config.image.repository}${config.image.digest ? `@${config.image.digest}` : `:${config.image.tag ?? 'latest'}`}`
    : undefined;
  core.info(
    `Release ${config.release} ${status.status} at revision ${status.revision} in ${config.namespace}`
  );
  await new SummaryBuilder()
    .heading('helm-deploy-namespace')
    .facts([
      ['Release', config.release],
      ['Chart', status.chart || describeChart(config)],
      ['Revision', status.revision],
      ['Status', status.status],
      ['Namespace', `${config.namespace} (${namespaceState})`],
      ['Image', image],
      ['Ready', readiness.join(', ') || 'no workloads'],
      ['Manifest', digest],
      ['Helm', ctx.helm.version],
      ['Duration', formatDuration(Date.now() - started)]
    ])
    .write();
  return {
    release: config.release,
    namespace: config.namespace,
    revision: status.revision,
    status: status.status,
    manifestDigest: digest,
    kubeconfig
  };
}

/**
 * `name-version` for the summary: helm's status JSON has no chart metadata, so a local chart's
 * Chart.yaml is read, and a repository or OCI chart is named as given.
 */
export function describeChart(config: Pick<DeployConfig, 'chart' | 'chartVersion'>): string {
  const chartYaml = path.join(config.chart, 'Chart.yaml');
  if (path.isAbsolute(config.chart) && existsSync(chartYaml)) {
    try {
      const meta = parseYaml(readFileSync(chartYaml, 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (meta.name) return `${meta.name}-${meta.version ?? ''}`;
    } catch {
      // fall through to the reference as given
    }
  }
  return config.chartVersion ? `${config.chart}@${config.chartVersion}` : config.chart;
}

/** `Deployment/app 2/2` for each workload in the manifest (read in parallel). */
async function workloadReadiness(ctx: Context, resources: ManifestResource[]): Promise<string[]> {
  const workloads = resources.filter(
    (r): r is ManifestResource & { kind: 'Deployment' | 'StatefulSet' } =>
      r.kind === 'Deployment' || r.kind === 'StatefulSet'
  );
  return Promise.all(
    workloads.map(async resource => {
      const state = await ctx.kube
        .workloadReadiness(resource.kind, resource.namespace ?? ctx.config.namespace, resource.name)
        .catch(() => undefined);
      return `${resource.kind}/${resource.name} ${state ? `${state.ready}/${state.wanted}` : '?'}`;
    })
  );
}

/**
 * A copy of the kubeconfig whose current context points at the namespace (kubectl config
 * set-context --current --namespace), exported as KUBECONFIG for later steps. It holds
 * credentials, so it is private and the post step removes it.
 */
async function writeNamespacedKubeconfig(ctx: Context): Promise<string> {
  const k8s = await loadClientNode();
  const source = ctx.kube.target.config;
  const copy = new k8s.KubeConfig();
  copy.loadFromOptions({
    clusters: source.clusters,
    users: source.users,
    contexts: source.contexts.map(context =>
      context.name === ctx.kube.target.context
        ? { ...context, namespace: ctx.config.namespace }
        : context
    ),
    currentContext: ctx.kube.target.context
  });
  const dir = tempDir('kubeconfig');
  STATE.deploy.kubeconfigDir.save(dir);
  const file = path.join(dir, 'config');
  writeFileSync(file, copy.exportConfig(), { mode: 0o600 });
  core.exportVariable('KUBECONFIG', file);
  core.info(
    `KUBECONFIG for later steps: ${file} (context ${ctx.kube.target.context}, namespace ${ctx.config.namespace})`
  );
  return file;
}

/**
 * Uninstalls the release and, for a namespace Slipway created (or with delete-namespace: true),
 * deletes the namespace — but only once no other release lives in it.
 */
async function deleteRelease(ctx: Context): Promise<DeployResult> {
  const { config, kube } = ctx;
  const namespace = await kube.readNamespace(config.namespace);
  if (!namespace) {
    core.info(`Namespace ${config.namespace} does not exist: nothing to delete.`);
    return {
      release: config.release,
      namespace: config.namespace,
      revision: 0,
      status: 'uninstalled',
      manifestDigest: ''
    };
  }
  const before = await releaseStatus(ctx);
  if (before) {
    const result = await core.group(`helm uninstall ${config.release}`, () =>
      helmRun(
        ctx,
        uninstallArgs(
          { ...ctx.target, timeoutMs: config.timeoutMs, wait: config.wait },
          ctx.helm.major
        ),
        false,
        config.timeoutMs + 60_000
      )
    );
    if (result.exitCode !== 0) {
      throw new SlipwayError(`helm uninstall ${config.release} failed: ${lastLine(result)}`);
    }
  } else {
    core.info(`Release ${config.release} is not installed in ${config.namespace}.`);
  }
  const managed = namespace.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
  const wanted =
    config.deleteNamespace === 'true' || (config.deleteNamespace === 'auto' && managed);
  let deleted = false;
  if (wanted) {
    const others = (await helmRun(ctx, listArgs(ctx.target), true)).stdout.trim();
    if (others) {
      core.warning(
        `Namespace ${config.namespace} still holds release(s) ${others.split('\n').join(', ')}; it is kept.`
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
  await new SummaryBuilder()
    .heading('helm-deploy-namespace: delete')
    .facts([
      [
        'Release',
        `${config.release} ${before ? `(was revision ${before.revision})` : '(not installed)'}`
      ],
      ['Namespace', `${config.namespace} ${deleted ? 'deleted' : 'kept'}`]
    ])
    .write();
  return {
    release: config.release,
    namespace: config.namespace,
    revision: before?.revision ?? 0,
    status: 'uninstalled',
    manifestDigest: ''
  };
}

/** Removes the namespaced kubeconfig copy. */
export async function post(): Promise<void> {
  const dir = STATE.deploy.kubeconfigDir.get();
  if (dir) {
    rmSync(dir, { recursive: true, force: true });
    core.info(`Removed ${dir}`);
  }
}
