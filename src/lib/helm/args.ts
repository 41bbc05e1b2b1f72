import { formatGoDuration } from '../inputs.js';

/**
 * Helm's command lines, built as argument arrays (pure, so every mapping between Helm 3 and 4 is
 * unit-tested): upgrade, rollback, uninstall, status, history, list, show values.
 */

/** The connection flags every helm command of a deploy shares. */
export interface HelmTarget {
  namespace: string;
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

function targetArgs(target: HelmTarget): string[] {
  return [
    '--namespace',
    target.namespace,
    ...(target.kubeconfig ? ['--kubeconfig', target.kubeconfig] : []),
    ...(target.context ? ['--kube-context', target.context] : [])
  ];
}

/** Where a chart comes from, and what reaching it takes. */
export interface ChartSource {
  chart: string;
  chartVersion?: string | undefined;
  repoUrl?: string | undefined;
  /** CA bundle for the chart repository or OCI registry (`--ca-file`). */
  caFile?: string | undefined;
  /** Registry credentials for `oci://` charts (`--registry-config`, docker config format). */
  registryConfig?: string | undefined;
}

function chartArgs(source: ChartSource): string[] {
  const args = [source.chart];
  if (source.chartVersion) args.push('--version', source.chartVersion);
  if (source.repoUrl) args.push('--repo', source.repoUrl);
  if (source.caFile) args.push('--ca-file', source.caFile);
  if (source.registryConfig) args.push('--registry-config', source.registryConfig);
  return args;
}

export interface UpgradePlan extends HelmTarget, ChartSource {
  release: string;
  valuesFiles: string[];
  atomic: boolean;
  wait: boolean;
  timeoutMs: number;
  force: boolean;
  /** `server` needs the namespace to exist; `client` touches nothing. */
  dryRun?: 'client' | 'server' | undefined;
  historyMax?: number | undefined;
}

/**
 * `helm upgrade --install` for the installed major version. Helm 4 renamed `--atomic` to
 * `--rollback-on-failure` and `--force` to `--force-replace`, and its `--wait` takes a strategy
 * (`watcher` is the one that waits for readiness; its default `hookOnly` does not). The namespace
 * is created by the action beforehand, so `--create-namespace` is never passed.
 */
export function upgradeArgs(plan: UpgradePlan, major: number): string[] {
  const helm4 = major >= 4;
  const [chart, ...source] = chartArgs(plan);
  const args = ['upgrade', '--install', plan.release, chart as string, ...targetArgs(plan)];
  args.push(...source);
  for (const file of plan.valuesFiles) args.push('--values', file);
  if (plan.dryRun) {
    args.push(`--dry-run=${plan.dryRun}`);
  } else {
    if (plan.atomic) args.push(helm4 ? '--rollback-on-failure' : '--atomic');
    if (plan.wait || plan.atomic) args.push(helm4 ? '--wait=watcher' : '--wait');
  }
  // Helm 4 refuses --force-replace with its default server-side apply: forcing means a
  // client-side replace, so say so.
  if (plan.force) args.push(...(helm4 ? ['--force-replace', '--server-side=false'] : ['--force']));
  if (plan.historyMax !== undefined) args.push('--history-max', String(plan.historyMax));
  args.push('--timeout', formatGoDuration(plan.timeoutMs));
  return args;
}

export function rollbackArgs(
  target: HelmTarget & { release: string; timeoutMs: number },
  revision: number,
  major: number
): string[] {
  return [
    'rollback',
    target.release,
    String(revision),
    ...targetArgs(target),
    major >= 4 ? '--wait=watcher' : '--wait',
    '--timeout',
    formatGoDuration(target.timeoutMs)
  ];
}

export function uninstallArgs(
  target: HelmTarget & { release: string; timeoutMs: number; wait: boolean },
  major: number
): string[] {
  const args = ['uninstall', target.release, ...targetArgs(target), '--ignore-not-found'];
  if (target.wait) args.push(major >= 4 ? '--wait=watcher' : '--wait');
  args.push('--timeout', formatGoDuration(target.timeoutMs));
  return args;
}

export function statusArgs(target: HelmTarget & { release: string }): string[] {
  return ['status', target.release, ...targetArgs(target), '--output', 'json'];
}

export function historyArgs(target: HelmTarget & { release: string }): string[] {
  return ['history', target.release, ...targetArgs(target), '--output', 'json', '--max', '20'];
}

/** Every release whatever its state: Helm 4 lists all states by default and dropped `--all`. */
export function listArgs(target: HelmTarget, major: number): string[] {
  return ['list', ...targetArgs(target), ...(major >= 4 ? [] : ['--all']), '--short'];
}

/** `helm show values`: the chart's default values (values.yaml), as YAML. */
export function showValuesArgs(source: ChartSource): string[] {
  return ['show', 'values', ...chartArgs(source)];
}
