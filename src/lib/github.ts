import * as core from '@actions/core';
import { SlipwayError } from './errors.js';
import { isTransientStatus, withRetry } from './retry.js';
import { selectVersion, type VersionSpec } from './tools.js';

/**
 * GitHub releases: the list a tool's versions are picked from (BuildKit, Helm), and the one way a
 * version spec is resolved against it, with the pinned fallback when GitHub cannot be asked.
 */

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
  repository: string
): Promise<Release[]> {
  // Loaded when releases are asked for: an exact version needs no request at all.
  const { HttpClient } = await import('@actions/http-client');
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

/**
 * Whether GitHub could not be asked: an answer other than 200 (rate limit, outage), or a network
 * or TLS failure (a Node error with a `code`, possibly as the cause) such as an air-gapped runner
 * sees. Anything else (a bug, bad JSON) is not hidden behind the pinned fallback.
 */
export function isReleasesUnavailable(error: unknown): boolean {
  if (error instanceof ReleasesUnavailableError) return true;
  const { code, cause } = (error ?? {}) as { code?: unknown; cause?: unknown };
  if (typeof code === 'string') return true;
  return cause !== undefined && cause !== error && isReleasesUnavailable(cause);
}

export interface ResolvedVersion {
  version: string;
  /** Where the version came from, for the log and summary. */
  source: 'github' | 'exact' | 'pinned';
  /** The release picked, when GitHub answered. */
  release?: Release | undefined;
}

export interface ResolveOptions {
  /** Lists the tool's releases (GitHub, usually). */
  fetch: () => Promise<Release[]>;
  /** Used when the list cannot be fetched, newest first. */
  pinned: readonly string[];
  /** The tool's name in messages: `BuildKit`, `Helm`. */
  tool: string;
  /** Whether an exact version still needs its release (for the assets' digests). */
  lookUpExact?: boolean;
}

/**
 * Resolves a version spec. An exact version needs no lookup unless its release is wanted; latest
 * and ranges are picked from the published releases, or from the pinned list (with a warning)
 * when GitHub cannot be asked.
 */
export async function resolveVersion(
  spec: VersionSpec,
  options: ResolveOptions
): Promise<ResolvedVersion> {
  if (spec.kind === 'exact' && !options.lookUpExact) {
    return { version: spec.version, source: 'exact' };
  }
  let releases: Release[];
  try {
    releases = await options.fetch();
  } catch (error) {
    if (!isReleasesUnavailable(error)) throw error;
    const version = selectVersion(spec, options.pinned, options.tool);
    core.warning(
      `Could not list ${options.tool} releases (${(error as Error).message}); using ${version} from Slipway's pinned list. Pass github-token to avoid rate limits.`
    );
    return { version, source: 'pinned' };
  }
  core.debug(`${releases.length} ${options.tool} releases listed`);
  const version = selectVersion(
    spec,
    releases.map(release => release.tag_name),
    options.tool
  );
  return {
    version,
    source: 'github',
    release: releases.find(candidate => candidate.tag_name === version)
  };
}
