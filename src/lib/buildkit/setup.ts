import { assetSha256, fetchReleases, resolveVersion, type Release } from '../github.js';
import type { Arch, VersionSpec } from '../tools.js';

/** BuildKit releases: where they come from, how assets are named and verified. */

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
