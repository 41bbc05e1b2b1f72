import { builtin } from '../builtins.js';

/** Helm's answers parsed: its version, `status`/`history -o json`, release records, manifests. */

/** `v3.17.3+ge4da497` / `v4.1.4` → version and major; undefined for anything else. */
export function parseHelmVersion(text: string): { version: string; major: number } | undefined {
  const match = /v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  if (!match) return undefined;
  return { version: `v${match[1]}.${match[2]}.${match[3]}`, major: Number(match[1]) };
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
): RevisionState | undefined {
  return newestRevision(recordStates(records));
}

/** A revision's number and state, as helm's storage labels each record (`version`, `status`). */
export interface RevisionState {
  revision: number;
  status: string;
}

/** Every record's revision and state, from its labels; records without them are skipped. */
export function recordStates(
  records: ReadonlyArray<{ labels?: Record<string, string> | undefined }>
): RevisionState[] {
  return records.flatMap(record => {
    const revision = Number(record.labels?.version);
    const status = record.labels?.status;
    return Number.isInteger(revision) && status ? [{ revision, status }] : [];
  });
}

/** The name of the Secret helm's default storage keeps `revision` of `release` in. */
export function releaseRecordName(release: string, revision: number): string {
  return `sh.helm.release.v1.${release}.v${revision}`;
}

/**
 * Decodes the `release` field of a storage record (the Secret's data value as the API gives it,
 * base64 of helm's own base64 of gzipped JSON) into what `helm status -o json` prints: both are
 * the release object, so one parser reads either.
 */
export function decodeReleaseRecord(apiValue: string): ReleaseStatus {
  const helmEncoded = Buffer.from(apiValue, 'base64').toString('latin1');
  let raw = Buffer.from(helmEncoded, 'base64');
  // helm gzips every record it writes; an older, uncompressed one is read as it is.
  if (raw[0] === 0x1f && raw[1] === 0x8b) raw = builtin.zlib().gunzipSync(raw);
  return parseReleaseStatus(raw.toString('utf8'));
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
export function lastGoodRevision(history: readonly RevisionState[]): number | undefined {
  const good = history
    .filter(entry => entry.status === 'deployed' || entry.status === 'superseded')
    .map(entry => entry.revision);
  return good.length > 0 ? Math.max(...good) : undefined;
}

/** The newest revision of a history, whatever its state. */
export function newestRevision(history: readonly RevisionState[]): RevisionState | undefined {
  return history.reduce<RevisionState | undefined>(
    (top, entry) => (!top || entry.revision > top.revision ? entry : top),
    undefined
  );
}

/** sha256 of the release's rendered manifest: equal digests mean an identical deployment. */
export function manifestDigest(manifest: string): string {
  return `sha256:${builtin.crypto().createHash('sha256').update(manifest.trim()).digest('hex')}`;
}

export interface ManifestResource {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string | undefined;
  /** Service type, for diagnostics (a LoadBalancer without a load balancer never gets Ready). */
  serviceType?: string | undefined;
}

/**
 * js-yaml, imported when a manifest or chart file is first read (it is not needed to start): a
 * third of the time `yaml` takes on its first parse, and duplicate keys keep the last value, as
 * helm does.
 */
const yamlReader = () => import('js-yaml');

/**
 * Starts importing the YAML reader while helm rolls out (the main thread is idle then), so that
 * the report that follows finds it loaded.
 */
export function preloadManifestReader(): void {
  yamlReader().catch(() => undefined); // a failure shows where the reader is used
}

/**
 * The objects of a rendered manifest (helm's `---`-separated documents; empty ones and comments
 * skipped). A document that does not parse is skipped (helm stored the manifest, so it parsed
 * there). The report reads the same manifest twice (resources, images): the last one is kept.
 */
export function manifestObjects(manifest: string): Promise<readonly unknown[]> {
  if (lastManifest?.text !== manifest) {
    lastManifest = { text: manifest, objects: parseManifest(manifest) };
  }
  return lastManifest.objects;
}

let lastManifest: { text: string; objects: Promise<readonly unknown[]> } | undefined;

/** One YAML document (Chart.yaml, `helm show values`), read as helm would; undefined when empty. */
export async function parseYamlDocument(text: string): Promise<unknown> {
  const { loadAll } = await yamlReader();
  return loadAll(text, null, { json: true })[0];
}

async function parseManifest(manifest: string): Promise<readonly unknown[]> {
  const { loadAll } = await yamlReader();
  try {
    return loadAll(manifest, null, { json: true }).filter(object => object != null);
  } catch {
    return manifest.split(/^---.*$/m).flatMap(document => {
      try {
        const object = loadAll(document, null, { json: true })[0];
        return object == null ? [] : [object];
      } catch {
        return [];
      }
    });
  }
}

/** The objects of a multi-document manifest, skipping empty documents and comments. */
export async function manifestResources(manifest: string): Promise<ManifestResource[]> {
  const resources: ManifestResource[] = [];
  for (const object of (await manifestObjects(manifest)) as Array<{
    apiVersion?: string;
    kind?: string;
    metadata?: { name?: string; namespace?: string };
    spec?: { type?: string };
  }>) {
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

/**
 * Whether helm's error says its connection to the API server failed (refused, reset, cut off,
 * timed out): an API server restarting or briefly unreachable, worth another try. A certificate,
 * credential or name-resolution problem is not matched: retrying it changes nothing.
 */
export function isUnreachableClusterError(output: string): boolean {
  return /connect: connection refused|connection reset by peer|http2: client connection lost|unexpected EOF|: EOF$|i\/o timeout|TLS handshake timeout|no route to host/im.test(
    output
  );
}
