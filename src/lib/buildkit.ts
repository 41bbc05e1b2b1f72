import * as core from '@actions/core';
import { HttpClient } from '@actions/http-client';
import { InputError, SlipwayError } from './errors.js';
import { isTransientStatus, withRetry } from './retry.js';
import { selectVersion, type Arch, type VersionSpec } from './tools.js';

/**
 * BuildKit specifics: where releases come from, how assets are named and verified, which builder
 * addresses buildctl accepts, and how to read `buildctl debug workers`.
 */

export const BUILDKIT_REPOSITORY = 'moby/buildkit';

/**
 * Used when the GitHub API cannot be reached (rate limit, air-gapped runner). These releases have
 * no checksum we could trust offline, so the fallback only installs when a checksum is available
 * another way (the `checksum` input or the mirror's `.sha256` file).
 */
export const PINNED_VERSIONS = ['v0.34.2', 'v0.34.1', 'v0.33.1', 'v0.26.3'];

export function assetName(version: string, arch: Arch): string {
  return `buildkit-${version}.linux-${arch}.tar.gz`;
}

export const DEFAULT_DOWNLOAD_URL =
  'https://github.com/moby/buildkit/releases/download/{version}/buildkit-{version}.linux-{arch}.tar.gz';

export interface ReleaseAsset {
  name: string;
  /** `sha256:<hex>` as GitHub publishes it for release assets. */
  digest?: string | null;
}

export interface Release {
  tag_name: string;
  draft?: boolean;
  assets: ReleaseAsset[];
}

export class ReleasesUnavailableError extends SlipwayError {}

/** Reads a repository's releases from the GitHub API (or GHES), retrying 5xx/429 and network errors. */
export async function fetchReleases(
  apiUrl: string,
  token: string | undefined,
  repository = BUILDKIT_REPOSITORY
): Promise<Release[]> {
  const client = new HttpClient('slipway', [], { allowRetries: false });
  const headers: Record<string, string> = {
    Accept: 'application/vnd.github+json',
    'X-GitHub-Api-Version': '2022-11-28'
  };
  if (token) headers.Authorization = `Bearer ${token}`;
  const url = `${apiUrl.replace(/\/+$/, '')}/repos/${repository}/releases?per_page=100`;
  return withRetry(
    async () => {
      const response = await client.get(url, headers);
      const status = response.message.statusCode ?? 0;
      const body = await response.readBody();
      if (status !== 200) {
        throw Object.assign(
          new ReleasesUnavailableError(`GitHub API answered ${status} for ${url}`),
          { statusCode: status, rateLimited: status === 403 || status === 429 }
        );
      }
      return (JSON.parse(body) as Release[]).filter(release => !release.draft);
    },
    {
      description: `listing ${repository} releases`,
      attempts: 3,
      isTransient: error => {
        const status = (error as { statusCode?: number }).statusCode;
        return status === undefined || isTransientStatus(status);
      }
    }
  );
}

/** The asset's published sha256 (hex), if GitHub has one for it. */
export function assetSha256(release: Release, name: string): string | undefined {
  const digest = release.assets.find(asset => asset.name === name)?.digest ?? undefined;
  return digest?.startsWith('sha256:') ? digest.slice('sha256:'.length).toLowerCase() : undefined;
}

export interface ResolvedRelease {
  version: string;
  /** Published sha256 of the asset, when the API gave one. */
  sha256?: string;
  /** Where the version came from, for the log and summary. */
  source: 'github' | 'exact' | 'pinned';
}

/**
 * Resolves a version spec. An exact version needs no API call when a checksum can come from
 * elsewhere; otherwise the API gives both the version list and the asset digest. When the API
 * is unreachable, falls back to the pinned list with a warning.
 */
export async function resolveRelease(
  spec: VersionSpec,
  arch: Arch,
  fetch: () => Promise<Release[]>,
  needDigest: boolean
): Promise<ResolvedRelease> {
  if (spec.kind === 'exact' && !needDigest) return { version: spec.version, source: 'exact' };
  let releases: Release[];
  try {
    releases = await fetch();
  } catch (error) {
    if (!(error instanceof ReleasesUnavailableError) && !isNetworkError(error)) throw error;
    const version = selectVersion(spec, PINNED_VERSIONS, 'BuildKit');
    core.warning(
      `Could not list BuildKit releases (${(error as Error).message}); using ${version} from Slipway's pinned list. Pass github-token to avoid rate limits.`
    );
    return { version, source: 'pinned' };
  }
  const version = selectVersion(
    spec,
    releases.map(release => release.tag_name),
    'BuildKit'
  );
  const release = releases.find(candidate => candidate.tag_name === version);
  const sha256 = release ? assetSha256(release, assetName(version, arch)) : undefined;
  return { version, sha256, source: 'github' };
}

function isNetworkError(error: unknown): boolean {
  return typeof (error as { code?: unknown })?.code === 'string';
}

export type BuilderAddress =
  { kind: 'local' } | { kind: 'kubernetes' } | { kind: 'remote'; addr: string };

const ADDRESS_PATTERNS: Array<[RegExp, string]> = [
  [/^tcp:\/\/[A-Za-z0-9.-]+:\d{1,5}$|^tcp:\/\/\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'tcp://host:port'],
  [/^unix:\/\/\/[^\s]+$/, 'unix:///path/to/buildkitd.sock'],
  [
    /^kube-pod:\/\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?(\?[A-Za-z]+=[A-Za-z0-9._@:-]+(&[A-Za-z]+=[A-Za-z0-9._@:-]+)*)?$/,
    'kube-pod://pod?namespace=ns'
  ],
  [/^(docker|podman|nerdctl)-container:\/\/[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'docker-container://name'],
  [/^ssh:\/\/[A-Za-z0-9._@-]+(:\d{1,5})?$/, 'ssh://user@host']
];

/** A builder address buildctl's `--addr` accepts; the error lists the accepted forms. */
export function parseRemoteBuildkitAddr(name: string, raw: string, allowLocal = false): string {
  const value = raw.trim();
  if (ADDRESS_PATTERNS.some(([pattern]) => pattern.test(value))) return value;
  const forms = ADDRESS_PATTERNS.map(([, form]) => form).join(', ');
  throw new InputError(
    name,
    `must be ${allowLocal ? 'local, kubernetes or ' : ''}a BuildKit address: ${forms}; got ${JSON.stringify(value.slice(0, 80))}.`
  );
}

/** `local`, or an address buildctl accepts; empty means `BUILDKIT_HOST` (else `local`). */
export function parseBuildkitAddr(name: string, raw: string, env = process.env): BuilderAddress {
  const value = raw.trim() || env.BUILDKIT_HOST?.trim() || 'local';
  if (value === 'local') return { kind: 'local' };
  if (value === 'kubernetes') return { kind: 'kubernetes' };
  return { kind: 'remote', addr: parseRemoteBuildkitAddr(name, value, true) };
}

/** The builder address from setup-buildctl (or the user's environment), if any. */
export function buildkitHost(env = process.env): string | undefined {
  return env.BUILDKIT_HOST?.trim() || undefined;
}

export interface Worker {
  id: string;
  platforms: string[];
}

/** Parses `buildctl debug workers` (a table: ID, PLATFORMS with comma-separated platforms). */
export function parseWorkers(output: string): Worker[] {
  return output
    .split('\n')
    .map(line => line.trim())
    .filter(line => line !== '' && !/^ID\s+PLATFORMS/.test(line))
    .map(line => {
      const [id = '', platforms = ''] = line.split(/\s+/);
      return { id, platforms: platforms.split(',').filter(Boolean) };
    });
}

/** Distinct platforms across workers, in order. */
export function workerPlatforms(workers: Worker[]): string[] {
  return [...new Set(workers.flatMap(worker => worker.platforms))];
}

/**
 * TLS for a `tcp://` builder. buildctl reads TLS settings from flags only (no environment), so
 * setup-buildctl writes the PEM files and exports their paths under these names, and every
 * buildctl call Slipway makes turns them back into flags.
 */
export interface BuildkitTls {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  serverName?: string | undefined;
}

export const TLS_ENV = {
  ca: 'BUILDKIT_TLS_CA',
  cert: 'BUILDKIT_TLS_CERT',
  key: 'BUILDKIT_TLS_KEY',
  serverName: 'BUILDKIT_TLS_SERVER_NAME'
} as const;

export function tlsFromEnv(
  env: Record<string, string | undefined> = process.env
): BuildkitTls | undefined {
  const tls: BuildkitTls = {
    ca: env[TLS_ENV.ca]?.trim() || undefined,
    cert: env[TLS_ENV.cert]?.trim() || undefined,
    key: env[TLS_ENV.key]?.trim() || undefined,
    serverName: env[TLS_ENV.serverName]?.trim() || undefined
  };
  return Object.values(tls).some(Boolean) ? tls : undefined;
}

/** buildctl's global TLS flags; only meaningful for tcp:// addresses. */
export function tlsArgs(addr: string | undefined, tls: BuildkitTls | undefined): string[] {
  if (!tls || !addr?.startsWith('tcp://')) return [];
  return [
    ...(tls.serverName ? ['--tlsservername', tls.serverName] : []),
    ...(tls.ca ? ['--tlscacert', tls.ca] : []),
    ...(tls.cert ? ['--tlscert', tls.cert] : []),
    ...(tls.key ? ['--tlskey', tls.key] : [])
  ];
}
