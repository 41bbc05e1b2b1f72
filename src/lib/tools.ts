import * as core from '@actions/core';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { semver } from './semver.js';
import { InputError, SlipwayError } from './errors.js';
import { quoteValue } from './inputs.js';
import { builtin } from './builtins.js';

/**
 * Installing a tool: resolve a version, render its download URL, download with retries, verify
 * the sha256, extract, and keep it in the runner's tool cache so the next run skips all of it.
 * @actions/tool-cache is loaded only when something has to be downloaded: a tool-cache hit (and
 * the input validation every action starts with) never evaluates it.
 */

type ToolCache = typeof import('@actions/tool-cache');

function loadToolCache(): Promise<ToolCache> {
  return import('@actions/tool-cache');
}

export type Arch = 'amd64' | 'arm64';

/** Runner platform in the names release assets use. Only Linux x64/arm64 runners are supported. */
export function runnerPlatform(
  platform: string = process.platform,
  arch: string = process.arch
): { os: 'linux'; arch: Arch } {
  if (platform !== 'linux') {
    throw new SlipwayError(
      `Slipway runs on Linux runners only; this runner is ${platform}/${arch}.`,
      { hint: 'Use runs-on: ubuntu-latest (or a Linux self-hosted runner).' }
    );
  }
  if (arch === 'x64') return { os: 'linux', arch: 'amd64' };
  if (arch === 'arm64') return { os: 'linux', arch: 'arm64' };
  throw new SlipwayError(
    `Unsupported runner architecture ${arch}: Slipway supports x64 and arm64.`
  );
}

export type VersionSpec =
  { kind: 'latest' } | { kind: 'exact'; version: string } | { kind: 'range'; range: string };

/** `latest`, an exact `v1.2.3` (the `v` is optional), or any semver range (`^0.20`, `0.19.x`). */
export function parseVersionSpec(name: string, raw: string): VersionSpec {
  const value = raw.trim();
  if (value === '' || value === 'latest') return { kind: 'latest' };
  const exact = semver.valid(value.replace(/^v/, ''));
  if (exact) return { kind: 'exact', version: `v${exact}` };
  if (semver.validRange(value)) return { kind: 'range', range: value };
  throw new InputError(
    name,
    `must be latest, an exact version such as v0.20.1, or a semver range such as ^0.20; got ${quoteValue(value)}.`
  );
}

/**
 * Picks a version from those published. Pre-releases only match when asked for exactly. Returns
 * the version with a leading `v`, as release tags and download URLs use it.
 */
export function selectVersion(
  spec: VersionSpec,
  published: readonly string[],
  toolName: string
): string {
  const stable = published
    .map(tag => semver.valid(tag.replace(/^v/, '')))
    .filter((v): v is string => v !== null);
  if (spec.kind === 'exact') {
    if (stable.includes(spec.version.slice(1))) return spec.version;
    throw new SlipwayError(`${toolName} ${spec.version} is not a published release.`, {
      hint: `Recent releases: ${newest(stable, 5).join(', ') || 'none found'}.`
    });
  }
  const candidates = stable.filter(v => semver.prerelease(v) === null);
  const chosen =
    spec.kind === 'latest'
      ? semver.maxSatisfying(candidates, '*')
      : semver.maxSatisfying(candidates, spec.range);
  if (!chosen) {
    const wanted = spec.kind === 'latest' ? 'any release' : `a release matching ${spec.range}`;
    throw new SlipwayError(`Found no ${toolName} ${wanted}.`, {
      hint: `Recent releases: ${newest(stable, 5).join(', ') || 'none found'}.`
    });
  }
  return `v${chosen}`;
}

function newest(versions: string[], count: number): string[] {
  return semver
    .rsort([...versions])
    .slice(0, count)
    .map(v => `v${v}`);
}

/** Fills `{version}` (v1.2.3), `{semver}` (1.2.3), `{os}` and `{arch}` in a download URL template. */
export function renderUrlTemplate(
  template: string,
  values: { version: string; os: string; arch: string }
): string {
  const rendered = template.replace(/\{(version|semver|os|arch)\}/g, (_, key: string) => {
    if (key === 'semver') return values.version.replace(/^v/, '');
    return values[key as 'version' | 'os' | 'arch'];
  });
  const unknown = /\{[^}]*\}/.exec(rendered);
  if (unknown)
    throw new SlipwayError(
      `Unknown placeholder ${unknown[0]} in download URL template; use {version}, {semver}, {os} or {arch}.`
    );
  return rendered;
}

export async function sha256File(file: string): Promise<string> {
  const hash = builtin.crypto().createHash('sha256');
  // 1 MiB reads: half the CPU time of the default 64 KiB for a 27 MB archive.
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class ChecksumMismatchError extends SlipwayError {
  constructor(url: string, expected: string, actual: string) {
    super(`Checksum mismatch for ${url}: expected sha256 ${expected}, got ${actual}.`, {
      hint: 'The download is corrupt or has been tampered with; check the mirror or the checksum you supplied.'
    });
    this.name = 'ChecksumMismatchError';
  }
}

/**
 * Downloads to a temp file and verifies its sha256. tool-cache already retries network errors and
 * 408/429/5xx responses (three attempts with back-off), so no second retry loop is layered on top.
 */
export async function downloadVerified(
  url: string,
  expectedSha256: string,
  auth?: string
): Promise<string> {
  const tc = await loadToolCache();
  const file = await tc.downloadTool(url, undefined, auth);
  const actual = await sha256File(file);
  if (actual !== expectedSha256.toLowerCase())
    throw new ChecksumMismatchError(url, expectedSha256, actual);
  core.info(`Verified sha256 ${actual}`);
  return file;
}

export interface InstallRequest {
  /** Tool-cache key, e.g. `buildkit`. */
  tool: string;
  version: string;
  arch: Arch;
  url: string;
  /** The expected sha256, or how to get it (asked only on a cache miss: a mirror round trip). */
  sha256: string | (() => Promise<string>);
  /** Token for GitHub-hosted assets (rate limits); never logged. */
  auth?: string;
  /** Files inside the archive that must exist and be executable, e.g. `bin/buildctl`. */
  executables: string[];
  /**
   * Of a `.tar.gz`, extract only `executables`, straight into the tool cache, and stop reading
   * after the last one (see archive.ts). Otherwise the whole archive is extracted and cached.
   */
  executablesOnly?: boolean;
}

export interface InstalledTool {
  dir: string;
  cacheHit: boolean;
}

/**
 * The tool cache's directory for an exact version, when a complete copy is there. This is the
 * layout @actions/tool-cache writes and its `find` reads for an exact version:
 * `$RUNNER_TOOL_CACHE/<tool>/<version without v>/<arch>`, finished by a `<arch>.complete` marker
 * that `cacheDir` writes last (so an interrupted copy is never found).
 */
export function findCached(
  tool: string,
  version: string,
  arch: Arch,
  env: NodeJS.ProcessEnv = process.env
): string | undefined {
  const dir = toolCachePath(tool, version, arch, env);
  return existsSync(`${dir}.complete`) && existsSync(dir) ? dir : undefined;
}

function toolCachePath(
  tool: string,
  version: string,
  arch: Arch,
  env: NodeJS.ProcessEnv = process.env
): string {
  const root = env.RUNNER_TOOL_CACHE;
  if (!root) {
    throw new SlipwayError('RUNNER_TOOL_CACHE is not set, so the tool cache cannot be used.', {
      hint: 'The GitHub runner sets it; when running the action elsewhere, set it to a directory.'
    });
  }
  return path.join(root, tool, version.replace(/^v/, ''), arch);
}

/**
 * Installs a `.tar.gz`/`.tgz`/`.zip` archive into the tool cache, or returns the cached copy. A
 * cached copy counts when it has every executable asked for: one made with `executablesOnly` for
 * buildctl alone is replaced by the whole archive when a later step needs buildkitd too.
 */
export async function installArchive(request: InstallRequest): Promise<InstalledTool> {
  const cached = findCached(request.tool, request.version, request.arch);
  if (cached && request.executables.every(file => existsSync(path.join(cached, file)))) {
    core.info(`${request.tool} ${request.version} found in the tool cache: ${cached}`);
    return { dir: cached, cacheHit: true };
  }
  core.info(`Downloading ${request.tool} ${request.version} from ${request.url}`);
  const sha256 = typeof request.sha256 === 'string' ? request.sha256 : await request.sha256();
  const archive = await downloadVerified(request.url, sha256, request.auth);
  const zip = request.url.endsWith('.zip');
  if (request.executablesOnly && !zip) {
    try {
      return { dir: await cacheExecutables(request, archive), cacheHit: false };
    } finally {
      await rm(archive, { force: true });
    }
  }
  const tc = await loadToolCache();
  const extracted = zip ? await tc.extractZip(archive) : await tc.extractTar(archive);
  for (const executable of request.executables)
    await chmod(path.join(extracted, executable), 0o755).catch(() => {
      throw new SlipwayError(
        `The ${request.tool} archive from ${request.url} has no ${executable}.`
      );
    });
  const dir = await tc.cacheDir(extracted, request.tool, request.version, request.arch);
  // tool-cache leaves the archive and the extracted copy in RUNNER_TEMP; the cached copy is the
  // one used, so both go (self-hosted runners keep RUNNER_TEMP's disk between steps).
  await Promise.all([
    rm(archive, { force: true }),
    rm(extracted, { recursive: true, force: true })
  ]);
  return { dir, cacheHit: false };
}

/**
 * The executables alone, extracted into the tool cache's directory for the version; the
 * `.complete` marker, written last as tool-cache writes it, makes the copy count (findCached).
 */
async function cacheExecutables(request: InstallRequest, archive: string): Promise<string> {
  const dir = toolCachePath(request.tool, request.version, request.arch);
  await Promise.all([
    rm(dir, { recursive: true, force: true }),
    rm(`${dir}.complete`, { force: true })
  ]);
  // Loaded on a cache miss only, like tool-cache.
  const { extractMembers } = await import('./archive.js');
  try {
    const missing = await extractMembers(archive, dir, request.executables);
    if (missing.length > 0)
      throw new SlipwayError(
        `The ${request.tool} archive from ${request.url} has no ${missing[0]}.`
      );
  } catch (error) {
    // Nothing half-extracted stays in the cache.
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  for (const executable of request.executables) await chmod(path.join(dir, executable), 0o755);
  await writeFile(`${dir}.complete`, '');
  return dir;
}

/**
 * Mirrors and get.helm.sh publish `<archive>.sha256` or `.sha256sum` ("<hex>  <name>" or just
 * "<hex>"); the first suffix that answers 200 wins, and none means no sidecar.
 */
export async function sidecarChecksum(
  url: string,
  suffixes: readonly string[] = ['.sha256']
): Promise<string | undefined> {
  // Loaded here, not at start-up: a tool-cache hit makes no request (node:http/https/tls).
  const { HttpClient } = await import('@actions/http-client');
  const client = new HttpClient('slipway');
  for (const suffix of suffixes) {
    const response = await client.get(`${url}${suffix}`);
    const body = await response.readBody();
    if (response.message.statusCode !== 200) continue;
    const hex = /^([0-9a-fA-F]{64})\b/.exec(body.trim())?.[1];
    if (hex) return hex.toLowerCase();
  }
  return undefined;
}
