import * as core from '@actions/core';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SlipwayError } from '../lib/errors.js';
import { lastLine, type RunResult } from '../lib/exec.js';
import {
  isLockedReleaseError,
  manifestDigest,
  manifestResources,
  parseYamlDocument,
  type ManifestResource
} from '../lib/helm/index.js';
import { formatDuration } from '../lib/summary.js';
import type { DeployConfig } from './config.js';
import { deployResult, writeSummary, type Context, type DeployResult } from './context.js';
import { collectDiagnostics } from './diagnostics.js';
import { rollBackFailedUpgrade } from './rollback.js';
import { writeNamespacedKubeconfig } from './kubeconfig.js';
import type { PreparedNamespace } from './namespace.js';
import { readRelease } from './release-record.js';
import type { SmokeCheckResult } from './smoke-check.js';
import { checkImageUsed, pushedReference } from './unused-image.js';

/** Why a rollout failed, for the report and the error. */
export interface RolloutFailure {
  /** What failed, one sentence without the outcome. */
  what: string;
  /** Whether the failure already rolled the release back (the smoke check rolls back itself). */
  rolledBack: boolean;
  /** A failed `helm upgrade` to roll back once the failing pods are described (atomic). */
  rollBack?: RunResult | undefined;
  hint?: string | undefined;
  /** Facts for the summary (e.g. the smoke check's answer). */
  facts?: Array<[string, string]>;
}

/**
 * After a failed upgrade: diagnostics of the failing pods in the log and summary, then (atomic) the
 * rollback, then an error saying why and what is left.
 */
export async function failDeploy(ctx: Context, upgrade: RunResult): Promise<never> {
  const { config } = ctx;
  return failRollout(ctx, {
    what: `helm upgrade --install ${config.release} into namespace ${config.namespace} failed${upgrade.timedOut ? ' (timed out)' : ''}: ${lastLine(upgrade)}`,
    rolledBack: false,
    rollBack: config.atomic ? upgrade : undefined,
    hint: isLockedReleaseError(upgrade.stderr)
      ? 'Another operation holds the release (pending state from a cancelled run): set recover: rollback.'
      : undefined
  });
}

/** After a failed rollout (helm's, or the smoke check's): diagnostics, rollback, summary, error. */
export async function failRollout(ctx: Context, failure: RolloutFailure): Promise<never> {
  const { config } = ctx;
  // helm status retries a lost API server itself; past that the release's state is unknown, which
  // must not read as "nothing was installed".
  let unreadable: string | undefined;
  const [failed, history] = await Promise.all([
    ctx.helm.status(ctx.target).catch((error: unknown) => {
      unreadable = error instanceof Error ? error.message : String(error);
      return undefined;
    }),
    ctx.helm.history(ctx.target)
  ]);
  const resources = failed ? await manifestResources(failed.manifest) : [];
  const { report: diagnostics, causes } = await collectDiagnostics(ctx.kube, {
    namespace: config.namespace,
    status: failed,
    history,
    resources
  }).catch(error => ({
    report: `Diagnostics could not be collected: ${(error as Error).message}`,
    causes: [] as string[]
  }));
  core.startGroup('Diagnostics');
  for (const line of diagnostics.split('\n')) core.info(line);
  core.endGroup();
  const upgrade = failure.rollBack;
  const status = upgrade ? await rollBackFailedUpgrade(ctx, upgrade, failed, history) : failed;
  const rolledBack =
    (upgrade ? upgrade.exitCode !== 0 : failure.rolledBack) && status?.status === 'deployed';
  const cause = causes.length > 0 ? ` Why: ${causes.slice(0, 3).join(' ')}` : '';
  const outcome = rolledBack
    ? `rolled back: revision ${status?.revision} serves the previous release`
    : status
      ? `release is ${status.status} at revision ${status.revision}`
      : unreadable
        ? `the release's state is unknown (${unreadable})`
        : 'nothing was installed';
  await writeSummary(
    ': failed',
    [
      ['Release', config.release],
      ['Namespace', config.namespace],
      ...(failure.facts ?? []),
      ['Outcome', outcome],
      ['Why', causes.join(' ') || undefined],
      ['Helm', ctx.helm.version],
      ['Duration', formatDuration(Date.now() - ctx.started)]
    ],
    ['Diagnostics', diagnostics]
  );
  if (status) {
    core.setOutput('revision', String(status.revision));
    core.setOutput('status', status.status);
  }
  throw new SlipwayError(`${failure.what}; ${outcome}.${cause}`, {
    hint:
      failure.hint ??
      (unreadable && !status
        ? 'The Kubernetes API server did not answer, even after retries: nothing was rolled back. The post step puts the release back once the server answers again (or deploy again with recover: rollback).'
        : 'See the Diagnostics group above (events, pods not Ready, container logs).')
  });
}

/** After a successful upgrade: the release as helm reports it, its workloads' readiness, a summary. */
export async function reportSuccess(
  ctx: Context,
  namespace: PreparedNamespace,
  check?: SmokeCheckResult
): Promise<DeployResult> {
  const { config } = ctx;
  // The release record holds the rendered manifest: no `helm get manifest`, and (with helm's
  // default storage) no helm process at all.
  const status = await readRelease(ctx);
  if (!status)
    throw new SlipwayError(`helm reported success but release ${config.release} is not found.`);
  // Independent reads: each waits on the API server or helm, none on another.
  const [readiness, kubeconfig, imageWarning] = await Promise.all([
    manifestResources(status.manifest).then(resources => workloadReadiness(ctx, resources)),
    config.setContextNamespace ? writeNamespacedKubeconfig(ctx) : undefined,
    checkImageUsed(ctx, status.manifest)
  ]);
  const digest = manifestDigest(status.manifest);
  core.info(
    `Release ${config.release} ${status.status} at revision ${status.revision} in ${config.namespace}`
  );
  await writeSummary('', [
    ['Release', config.release],
    ['Chart', chartRow(status.chart, await describeChart(config))],
    ['Revision', status.revision],
    ['Status', status.status],
    ['Namespace', `${config.namespace} (${namespace.state})`],
    ['Expires at', namespace.expiresAt],
    ['Image', config.image && pushedReference(config.image)],
    ['Image values', imageWarning && `⚠️ ${imageWarning}`],
    ['Ready', readiness.join(', ') || 'no workloads'],
    ['Smoke check', check && `${check.target}: ${check.answer}`],
    ['URL (in-cluster)', check?.url],
    ['Manifest', digest],
    ['Helm', ctx.helm.version],
    ['Duration', formatDuration(Date.now() - ctx.started)]
  ]);
  return deployResult(config, {
    revision: status.revision,
    status: status.status,
    manifestDigest: digest,
    kubeconfig,
    url: check?.url,
    expiresAt: namespace.expiresAt
  });
}

/**
 * `name-version` for the summary: helm's status JSON has no chart metadata, so a local chart's
 * Chart.yaml is read, and a repository or OCI chart is named as given.
 */
export async function describeChart(
  config: Pick<DeployConfig, 'chart' | 'chartVersion'>
): Promise<string> {
  const chartYaml = path.join(config.chart, 'Chart.yaml');
  if (path.isAbsolute(config.chart) && existsSync(chartYaml)) {
    try {
      const meta = (await parseYamlDocument(readFileSync(chartYaml, 'utf8'))) as {
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

/** The deployed chart's name-version, with the reference it came from when that says more. */
function chartRow(deployed: string, given: string): string {
  return deployed && deployed !== given ? `${deployed} (${given})` : given;
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
