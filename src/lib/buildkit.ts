import { InputError } from './errors.js';
import { assetSha256, fetchReleases, resolveVersion, type Release } from './github.js';
import type { Arch, VersionSpec } from './tools.js';

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

/** The BuildKit releases GitHub lists. */
export function fetchBuildkitReleases(
  apiUrl: string,
  token: string | undefined
): Promise<Release[]> {
  return fetchReleases(apiUrl, token, BUILDKIT_REPOSITORY);
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
  const resolved = await resolveVersion(spec, {
    fetch,
    pinned: PINNED_VERSIONS,
    tool: 'BuildKit',
    lookUpExact: needDigest
  });
  if (resolved.source !== 'github') return { version: resolved.version, source: resolved.source };
  const sha256 = resolved.release
    ? assetSha256(resolved.release, assetName(resolved.version, arch))
    : undefined;
  return { version: resolved.version, sha256, source: 'github' };
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
