import { createHash } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { InputError, SlipwayError } from './errors.js';
import { run } from './exec.js';
import { formatGoDuration } from './inputs.js';

/**
 * Helm specifics: which major version is installed and the flags it accepts, the command lines of
 * upgrade/rollback/uninstall built as argument arrays (pure, so every mapping is unit-tested),
 * `--set`-style keys turned into a values file (no escaping games), and helm's JSON answers parsed.
 */

export const HELM_REPOSITORY = 'helm/helm';

/** Used when GitHub cannot be asked for the version list (rate limit, air-gapped runner). */
export const HELM_PINNED_VERSIONS = ['v4.1.4', 'v3.17.3'];

export const HELM_DEFAULT_DOWNLOAD_URL = 'https://get.helm.sh/helm-{version}-linux-{arch}.tar.gz';

export interface HelmBinary {
  path: string;
  /** `v3.17.3` */
  version: string;
  major: number;
}

/** `v3.17.3+ge4da497` / `v4.1.4` → version and major; undefined for anything else. */
export function parseHelmVersion(text: string): { version: string; major: number } | undefined {
  const match = /v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  if (!match) return undefined;
  return { version: `v${match[1]}.${match[2]}.${match[3]}`, major: Number(match[1]) };
}

/** Asks a helm binary for its version; Helm 2 and unknown majors are refused. */
export async function detectHelm(helmPath: string): Promise<HelmBinary> {
  const result = await run(helmPath, ['version', '--template', '{{.Version}}'], {
    stream: false,
    echo: false,
    ignoreReturnCode: true,
    timeoutMs: 30_000
  });
  const parsed = result.exitCode === 0 ? parseHelmVersion(result.stdout) : undefined;
  if (!parsed) {
    throw new SlipwayError(`Cannot tell the version of ${helmPath}.`, {
      hint: 'Use the helm-version input to install a known Helm 3 or 4.'
    });
  }
  if (parsed.major !== 3 && parsed.major !== 4) {
    throw new SlipwayError(
      `${helmPath} is Helm ${parsed.version}; Slipway supports Helm 3 and 4.`,
      {
        hint: 'Set helm-version to a 3.x or 4.x version.'
      }
    );
  }
  return { path: helmPath, ...parsed };
}

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

export interface UpgradePlan extends HelmTarget {
  release: string;
  chart: string;
  chartVersion?: string | undefined;
  repoUrl?: string | undefined;
  valuesFiles: string[];
  atomic: boolean;
  wait: boolean;
  timeoutMs: number;
  force: boolean;
  /** `server` needs the namespace to exist; `client` touches nothing. */
  dryRun?: 'client' | 'server' | undefined;
  historyMax?: number | undefined;
  /** CA bundle for the chart repository or OCI registry (`--ca-file`). */
  caFile?: string | undefined;
  /** Registry credentials for `oci://` charts (`--registry-config`, docker config format). */
  registryConfig?: string | undefined;
}

/**
 * `helm upgrade --install` for the installed major version. Helm 4 renamed `--atomic` to
 * `--rollback-on-failure` and `--force` to `--force-replace`, and its `--wait` takes a strategy
 * (`watcher` is the one that waits for readiness; its default `hookOnly` does not). The namespace
 * is created by the action beforehand, so `--create-namespace` is never passed.
 */
export function upgradeArgs(plan: UpgradePlan, major: number): string[] {
  const helm4 = major >= 4;
  const args = ['upgrade', '--install', plan.release, plan.chart, ...targetArgs(plan)];
  if (plan.chartVersion) args.push('--version', plan.chartVersion);
  if (plan.repoUrl) args.push('--repo', plan.repoUrl);
  if (plan.caFile) args.push('--ca-file', plan.caFile);
  if (plan.registryConfig) args.push('--registry-config', plan.registryConfig);
  for (const file of plan.valuesFiles) args.push('--values', file);
  if (plan.dryRun) {
    args.push(`--dry-run=${plan.dryRun}`);
  } else {
    if (plan.atomic) args.push(helm4 ? '--rollback-on-failure' : '--atomic');
    if (plan.wait || plan.atomic) args.push(helm4 ? '--wait=watcher' : '--wait');
  }
  if (plan.force) args.push(helm4 ? '--force-replace' : '--force');
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

export function listArgs(target: HelmTarget): string[] {
  return ['list', ...targetArgs(target), '--all', '--short'];
}

/** What `helm status -o json` says about a release. */
export interface ReleaseStatus {
  name: string;
  namespace: string;
  revision: number;
  /** `deployed`, `failed`, `pending-upgrade`, … */
  status: string;
  chart: string;
  description: string;
  /** The rendered manifest (both majors include it in `status -o json`). */
  manifest: string;
}

/** Parses `helm status -o json`; Helm 3 and 4 share the fields read here. */
export function parseReleaseStatus(json: string): ReleaseStatus {
  const data = JSON.parse(json) as {
    name?: string;
    namespace?: string;
    version?: number;
    info?: { status?: string; description?: string };
    chart?: { metadata?: { name?: string; version?: string } };
    manifest?: string;
  };
  const chart = data.chart?.metadata;
  return {
    name: data.name ?? '',
    namespace: data.namespace ?? '',
    revision: Number(data.version ?? 0),
    status: data.info?.status ?? 'unknown',
    chart: chart?.name ? `${chart.name}-${chart.version ?? ''}` : '',
    description: data.info?.description ?? '',
    manifest: data.manifest ?? ''
  };
}

/**
 * Helm's default storage keeps each revision in a Secret labelled `owner=helm`, `name=<release>`,
 * `version=<n>`, `status=<status>`. Reading those labels through the API answers "is the release
 * pending?" without starting helm; the newest revision is the release's current state.
 */
export function latestRecordState(
  records: ReadonlyArray<{ labels?: Record<string, string> | undefined }>
): { revision: number; status: string } | undefined {
  let latest: { revision: number; status: string } | undefined;
  for (const record of records) {
    const revision = Number(record.labels?.version);
    const status = record.labels?.status;
    if (!Number.isInteger(revision) || !status) continue;
    if (!latest || revision > latest.revision) latest = { revision, status };
  }
  return latest;
}

/** Whether helm keeps releases in Secrets (its default), so their labels can be read directly. */
export function usesSecretStorage(env: Record<string, string | undefined> = process.env): boolean {
  const driver = (env.HELM_DRIVER ?? '').trim().toLowerCase();
  return driver === '' || driver === 'secret' || driver === 'secrets';
}

export interface HistoryEntry {
  revision: number;
  status: string;
  chart: string;
  description: string;
}

export function parseHistory(json: string): HistoryEntry[] {
  const rows = JSON.parse(json) as Array<{
    revision?: number;
    status?: string;
    chart?: string;
    description?: string;
  }>;
  return rows.map(row => ({
    revision: Number(row.revision ?? 0),
    status: row.status ?? 'unknown',
    chart: row.chart ?? '',
    description: row.description ?? ''
  }));
}

/** A release left `pending-install`/`pending-upgrade`/`pending-rollback` by a cancelled run. */
export function isPending(status: string): boolean {
  return status.startsWith('pending-');
}

/** The newest revision that was ever successfully deployed (now `deployed` or `superseded`). */
export function lastGoodRevision(history: readonly HistoryEntry[]): number | undefined {
  const good = history
    .filter(entry => entry.status === 'deployed' || entry.status === 'superseded')
    .map(entry => entry.revision);
  return good.length > 0 ? Math.max(...good) : undefined;
}

// ---------------------------------------------------------------------------------------------
// `--set`-style keys, written to a values file instead of being escaped for helm's parser.

export type PathSegment = string | number;

/**
 * Parses a `--set` key: dot-separated names, `\.` for a literal dot, `[n]` list indices
 * (`ingress.hosts[0].host`, `podAnnotations.prometheus\.io/scrape`). Names may contain letters,
 * digits, `_`, `-`, and `/` after an escaped dot (annotation keys). Anything else is refused
 * rather than guessed.
 */
export function parseSetKey(input: string, key: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let current = '';
  let afterIndex = false;
  const bad = (why: string): never => {
    throw new InputError(
      input,
      `key ${JSON.stringify(key)} ${why}; keys are dot-separated names (letters, digits, "_", "-", "/"), with "\\." for a literal dot and [n] for list items, e.g. image.tag or ingress.hosts[0].host.`
    );
  };
  const pushName = (): void => {
    if (current === '') {
      if (!afterIndex) bad('has an empty name');
      return;
    }
    if (!/^[A-Za-z0-9_][A-Za-z0-9_\-/.]*$/.test(current)) bad('has an unsupported character');
    segments.push(current);
    current = '';
  };
  for (let i = 0; i < key.length; i++) {
    const char = key[i] as string;
    if (char === '\\') {
      const next = key[i + 1];
      if (next !== '.' && next !== '[' && next !== '\\')
        bad('has a backslash that escapes nothing');
      current += next;
      i++;
      afterIndex = false;
    } else if (char === '.') {
      pushName();
      afterIndex = false;
    } else if (char === '[') {
      const close = key.indexOf(']', i);
      const index = close === -1 ? '' : key.slice(i + 1, close);
      if (!/^\d{1,4}$/.test(index)) bad('has a list index that is not [n]');
      if (current !== '') pushName();
      else if (segments.length === 0) bad('starts with a list index');
      else if (!afterIndex) bad('has a list index right after a dot');
      segments.push(Number(index));
      i = close;
      afterIndex = true;
    } else {
      if (afterIndex) bad('continues after a list index without a dot');
      current += char;
    }
  }
  if (current !== '' || !afterIndex) pushName();
  return segments;
}

/**
 * `--set`'s type rules for a value written as text: `true`/`false`, `null` and integers become
 * those types; everything else stays a string, byte for byte (commas, quotes, brackets, backslashes
 * included — in a values file nothing needs escaping).
 */
export function inferValue(raw: string): unknown {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw === 'null') return null;
  if (/^-?(0|[1-9]\d{0,14})$/.test(raw)) return Number(raw);
  return raw;
}

type Tree = Record<string, unknown> | unknown[];

/** Sets `value` at `path` inside `tree`, creating maps and lists on the way. */
export function setAtPath(
  tree: Record<string, unknown>,
  path: PathSegment[],
  value: unknown
): void {
  let node: Tree = tree;
  path.forEach((segment, index) => {
    const last = index === path.length - 1;
    const nextIsIndex = typeof path[index + 1] === 'number';
    const container = node as Record<string | number, unknown>;
    if (last) {
      container[segment] = value;
      return;
    }
    const existing = container[segment];
    const fits = nextIsIndex ? Array.isArray(existing) : isPlainObject(existing);
    if (!fits) container[segment] = nextIsIndex ? [] : {};
    node = container[segment] as Tree;
  });
  fillListHoles(tree);
}

/** Lists set by index (`a[2]=x`) get `null` in the skipped slots, as helm does, not holes. */
function fillListHoles(node: unknown): void {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      if (!(i in node)) node[i] = null;
      fillListHoles(node[i]);
    }
  } else if (isPlainObject(node)) {
    for (const value of Object.values(node)) fillListHoles(value);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Rendered manifests.

/** sha256 of the release's rendered manifest: equal digests mean an identical deployment. */
export function manifestDigest(manifest: string): string {
  return `sha256:${createHash('sha256').update(manifest.trim()).digest('hex')}`;
}

export interface ManifestResource {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string | undefined;
  /** Service type, for diagnostics (a LoadBalancer without a load balancer never gets Ready). */
  serviceType?: string | undefined;
}

/** The objects of a multi-document manifest, skipping empty documents and comments. */
export function manifestResources(manifest: string): ManifestResource[] {
  const resources: ManifestResource[] = [];
  for (const document of parseAllDocuments(manifest)) {
    const object = document.toJS() as {
      apiVersion?: string;
      kind?: string;
      metadata?: { name?: string; namespace?: string };
      spec?: { type?: string };
    } | null;
    if (!object?.kind || !object.metadata?.name) continue;
    resources.push({
      apiVersion: object.apiVersion ?? '',
      kind: object.kind,
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      serviceType: object.kind === 'Service' ? object.spec?.type : undefined
    });
  }
  return resources;
}

/** Helm's hint that another operation holds the release (a pending state from a cancelled run). */
export function isLockedReleaseError(output: string): boolean {
  return /another operation \(install\/upgrade\/rollback\) is in progress/i.test(output);
}

/** Whether helm said the release does not exist (status/history on a first install). */
export function isReleaseNotFound(output: string): boolean {
  return /not found/i.test(output);
}
