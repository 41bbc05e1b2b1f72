import * as core from '@actions/core';
import * as io from '@actions/io';
import path from 'node:path';
import semver from 'semver';
import { SlipwayError } from '../errors.js';
import { fetchReleases, resolveVersion } from '../github.js';
import {
  installArchive,
  renderUrlTemplate,
  runnerPlatform,
  sidecarChecksum,
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
  const onPath = await io.which('helm', false);
  if (onPath) {
    const found = await detectHelm(onPath);
    if (satisfies(options.spec, found.version)) {
      core.info(`Using helm ${found.version} from PATH (${onPath})`);
      return { ...found, source: 'path' };
    }
  }
  const { arch } = runnerPlatform();
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
    executables: [`linux-${arch}/helm`]
  });
  const binDir = path.join(installed.dir, `linux-${arch}`);
  core.addPath(binDir);
  // The tool cache is keyed by the exact version and only ever holds a verified archive, so that
  // version is the binary's: no `helm version` to learn it (unlike a helm found on PATH).
  const helm = await knownHelm(path.join(binDir, 'helm'), version);
  return { ...helm, source: installed.cacheHit ? 'tool-cache' : 'downloaded' };
}

/**
 * Asks the helm on PATH for its version in the background, so that a later `setupHelm` finds the
 * answer ready (`detectHelm` keeps one answer per binary). The root action calls it before it
 * builds: the deploy stage then starts without waiting for `helm version`. Only a helm on PATH is
 * asked; an install (downloads, log lines) stays in the deploy stage, and any failure is left for
 * `setupHelm` to report there.
 */
export function prefetchHelmVersion(): void {
  void io
    .which('helm', false)
    .then(found => (found ? detectHelm(found) : undefined))
    .catch(() => undefined);
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
