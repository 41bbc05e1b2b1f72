import * as core from '@actions/core';
import path from 'node:path';
import { semver } from '../semver.js';
import { SlipwayError } from '../errors.js';
import { findOnPath } from '../exec.js';
import { fetchReleases, resolveVersion } from '../github.js';
import {
  findCached,
  installArchive,
  renderUrlTemplate,
  runnerPlatform,
  sidecarChecksum,
  type Arch,
  type VersionSpec
} from '../tools.js';
import {
  HELM_DEFAULT_DOWNLOAD_URL,
  HELM_PINNED_VERSIONS,
  HELM_REPOSITORY,
  detectHelm,
  knownHelm,
  type HelmBinary
} from './helm.js';

/**
 * Finds or installs helm, like azure/setup-helm but with a checksum on every download: a helm on
 * PATH that satisfies the requested version is used as is; otherwise the version is resolved
 * (GitHub releases, pinned fallback), downloaded from get.helm.sh or a mirror, verified against
 * the published `.sha256sum`, and kept in the tool cache.
 */
export interface HelmSetupOptions {
  /** Undefined: any helm on PATH, else the newest release. */
  spec: VersionSpec | undefined;
  downloadUrl: string | undefined;
  token: string | undefined;
  apiUrl: string;
}

export interface HelmSetup extends HelmBinary {
  source: 'path' | 'tool-cache' | 'downloaded';
}

export function satisfies(spec: VersionSpec | undefined, version: string): boolean {
  if (!spec || spec.kind === 'latest') return spec === undefined;
  const bare = version.replace(/^v/, '');
  if (spec.kind === 'exact') return semver.eq(bare, spec.version.replace(/^v/, ''));
  return semver.satisfies(bare, spec.range);
}

export async function setupHelm(options: HelmSetupOptions): Promise<HelmSetup> {
  const { arch } = runnerPlatform();
  // An exact version already in the tool cache is that version: no process to ask (a helm on
  // PATH would have to be run to learn whether it is the same one).
  const onPath = exactInToolCache(options.spec, arch) ? undefined : findOnPath('helm');
  if (onPath) {
    const found = await detectHelm(onPath);
    if (satisfies(options.spec, found.version)) return { ...found, source: 'path' };
  }
  const version = await resolveHelmVersion(options);
  const url = renderUrlTemplate(options.downloadUrl ?? HELM_DEFAULT_DOWNLOAD_URL, {
    version,
    os: 'linux',
    arch
  });
  const installed = await installArchive({
    tool: 'helm',
    version,
    arch,
    url,
    sha256: () => publishedChecksum(url),
    // The binary alone: no tar and gzip processes, no copy of the README and LICENSE.
    executables: [`linux-${arch}/helm`],
    executablesOnly: true
  });
  const binDir = path.join(installed.dir, `linux-${arch}`);
  core.addPath(binDir);
  // The tool cache is keyed by the exact version and only ever holds a verified archive, so that
  // version is the binary's: no `helm version` to learn it (unlike a helm found on PATH).
  const helm = await knownHelm(path.join(binDir, 'helm'), version);
  return { ...helm, source: installed.cacheHit ? 'tool-cache' : 'downloaded' };
}

function exactInToolCache(spec: VersionSpec | undefined, arch: Arch): boolean {
  try {
    return spec?.kind === 'exact' && findCached('helm', spec.version, arch) !== undefined;
  } catch {
    return false; // no tool cache (RUNNER_TOOL_CACHE unset): installArchive says so if it gets there
  }
}

/** The log line that says which helm a setup found. */
export function describeHelm(helm: HelmSetup): string {
  const where = { path: 'from PATH', 'tool-cache': 'from the tool cache', downloaded: 'installed' };
  return `Using helm ${helm.version} ${where[helm.source]} (${helm.path})`;
}

/** A setup under way: `ready` settles with its helm; `background` says it may run behind others. */
export interface HelmSetupInProgress {
  ready: Promise<HelmSetup>;
  /**
   * True when all the setup does is ask a helm on PATH for its version (no helm-version given):
   * one process start (≈ 60 ms), which can run while the caller talks to the cluster, since it
   * installs nothing and logs nothing. Otherwise (a version to match, the tool cache, a download)
   * the caller awaits it before changing the cluster, so that a failed download leaves nothing.
   */
  background: boolean;
}

/** Starts `setupHelm` now; a failure is reported where `ready` is awaited. */
export function startHelmSetup(options: HelmSetupOptions): HelmSetupInProgress {
  const background = options.spec === undefined && findOnPath('helm') !== undefined;
  const ready = setupHelm(options);
  // Settled before anyone awaits it (the cluster work is still running): not an unhandled
  // rejection, it is reported by whoever awaits `ready`.
  ready.catch(() => undefined);
  return { ready, background };
}

/**
 * Asks the helm on PATH for its version in the background, so that a later `setupHelm` finds the
 * answer ready (`detectHelm` keeps one answer per binary). The root action calls it before it
 * builds: the deploy stage then starts without waiting for `helm version`. Only a helm on PATH is
 * asked; an install (downloads, log lines) stays in the deploy stage, and any failure is left for
 * `setupHelm` to report there.
 */
export function prefetchHelmVersion(): void {
  const found = findOnPath('helm');
  if (found) detectHelm(found).catch(() => undefined);
}

async function publishedChecksum(url: string): Promise<string> {
  const sha256 = await sidecarChecksum(url, ['.sha256sum', '.sha256']);
  if (sha256) return sha256;
  throw new SlipwayError(
    `No sha256 is published for ${url} (.sha256sum or .sha256), so it cannot be verified.`,
    {
      hint: 'Serve the checksum file next to the archive on your mirror, as get.helm.sh does.'
    }
  );
}

/** Exact versions need no lookup; `latest` and ranges ask GitHub, else use the pinned list. */
export async function resolveHelmVersion(
  options: HelmSetupOptions,
  fetch = () => fetchReleases(options.apiUrl, options.token, HELM_REPOSITORY)
): Promise<string> {
  const resolved = await resolveVersion(options.spec ?? { kind: 'latest' }, {
    fetch,
    pinned: HELM_PINNED_VERSIONS,
    tool: 'Helm'
  });
  return resolved.version;
}
