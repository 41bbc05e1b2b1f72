import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  ChecksumMismatchError,
  findCached,
  installArchive,
  parseVersionSpec,
  renderUrlTemplate,
  runnerPlatform,
  selectVersion,
  sha256File,
  sidecarChecksum
} from '../../../src/lib/tools.js';
import { captureStdout } from '../../helpers/capture.js';
import { startHttpServer } from '../../helpers/http.js';

describe('runnerPlatform', () => {
  it('maps Linux architectures to release names', () => {
    expect(runnerPlatform('linux', 'x64')).toEqual({ os: 'linux', arch: 'amd64' });
    expect(runnerPlatform('linux', 'arm64')).toEqual({ os: 'linux', arch: 'arm64' });
  });

  it('rejects other platforms clearly', () => {
    expect(() => runnerPlatform('darwin', 'arm64')).toThrow(
      'Slipway runs on Linux runners only; this runner is darwin/arm64.'
    );
    expect(() => runnerPlatform('linux', 'ia32')).toThrow('Unsupported runner architecture ia32');
  });
});

describe('versions', () => {
  const published = ['v0.19.0', 'v0.20.0-rc1', 'v0.20.0', 'v0.20.2', 'v0.21.0-rc1', 'nightly'];

  it('parses specs', () => {
    expect(parseVersionSpec('version', '')).toEqual({ kind: 'latest' });
    expect(parseVersionSpec('version', 'latest')).toEqual({ kind: 'latest' });
    expect(parseVersionSpec('version', '0.20.2')).toEqual({ kind: 'exact', version: 'v0.20.2' });
    expect(parseVersionSpec('version', 'v0.20.0-rc1')).toEqual({
      kind: 'exact',
      version: 'v0.20.0-rc1'
    });
    expect(parseVersionSpec('version', '^0.19')).toEqual({ kind: 'range', range: '^0.19' });
    expect(() => parseVersionSpec('version', 'newest')).toThrow(
      'Input "version" must be latest, an exact version such as v0.20.1, or a semver range'
    );
    // Found by the property tests: a C1 control was quoted back raw.
    expect(() => parseVersionSpec('version', 'v1\u0085')).toThrow('got "v1\\u0085".');
  });

  it('selects latest stable, exact, and ranges', () => {
    expect(selectVersion({ kind: 'latest' }, published, 'BuildKit')).toBe('v0.20.2');
    expect(selectVersion({ kind: 'exact', version: 'v0.20.0-rc1' }, published, 'BuildKit')).toBe(
      'v0.20.0-rc1'
    );
    expect(selectVersion({ kind: 'range', range: '~0.20.0' }, published, 'BuildKit')).toBe(
      'v0.20.2'
    );
    expect(selectVersion({ kind: 'range', range: '<0.20' }, published, 'BuildKit')).toBe('v0.19.0');
  });

  it('names what was not found and lists recent releases', () => {
    expect(() =>
      selectVersion({ kind: 'exact', version: 'v0.99.0' }, published, 'BuildKit')
    ).toThrow('BuildKit v0.99.0 is not a published release.');
    try {
      selectVersion({ kind: 'range', range: '>=1' }, published, 'BuildKit');
    } catch (error) {
      expect((error as Error).message).toBe('Found no BuildKit a release matching >=1.');
      expect((error as { hint?: string }).hint).toBe(
        'Recent releases: v0.21.0-rc1, v0.20.2, v0.20.0, v0.20.0-rc1, v0.19.0.'
      );
      return;
    }
    throw new Error('expected selectVersion to throw');
  });
});

describe('renderUrlTemplate', () => {
  it('fills placeholders', () => {
    expect(
      renderUrlTemplate('https://m/{version}/buildkit-{version}.{os}-{arch}.tar.gz?v={semver}', {
        version: 'v0.20.1',
        os: 'linux',
        arch: 'arm64'
      })
    ).toBe('https://m/v0.20.1/buildkit-v0.20.1.linux-arm64.tar.gz?v=0.20.1');
  });

  it('rejects unknown placeholders', () => {
    expect(() =>
      renderUrlTemplate('https://m/{tag}', { version: 'v1', os: 'linux', arch: 'amd64' })
    ).toThrow('Unknown placeholder {tag}');
  });
});

describe('installArchive (real HTTP server, real tool cache)', () => {
  let work: string;
  let archive: Buffer;
  let sha: string;
  let server: Awaited<ReturnType<typeof startHttpServer>>;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'tools-'));
    const src = path.join(work, 'src');
    mkdirSync(path.join(src, 'bin'), { recursive: true });
    writeFileSync(path.join(src, 'bin', 'faketool'), '#!/bin/sh\necho hi\n');
    writeFileSync(path.join(src, 'bin', 'helper'), '#!/bin/sh\necho helper\n');
    execFileSync('tar', ['-czf', path.join(work, 'tool.tar.gz'), '-C', src, 'bin']);
    archive = readFileSync(path.join(work, 'tool.tar.gz'));
    sha = createHash('sha256').update(archive).digest('hex');
    server = await startHttpServer((req, res) => {
      if (req.url === '/tool.tar.gz') {
        res.writeHead(200, { 'content-type': 'application/gzip' });
        res.end(archive);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    process.env.RUNNER_TOOL_CACHE = path.join(work, 'cache');
    process.env.RUNNER_TEMP = path.join(work, 'temp');
  });

  afterAll(async () => {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  });

  const request = () => ({
    tool: 'faketool',
    version: '1.2.3',
    arch: 'amd64' as const,
    url: `${server.url}/tool.tar.gz`,
    sha256: sha,
    executables: ['bin/faketool']
  });

  it('downloads, verifies, extracts and caches, then hits the cache', async () => {
    const first = await captureStdout(() => installArchive(request()));
    expect(first.result.cacheHit).toBe(false);
    expect(first.output).toContain(`Verified sha256 ${sha}`);
    const binary = path.join(first.result.dir, 'bin', 'faketool');
    expect(statSync(binary).mode & 0o111).not.toBe(0);
    const downloads = server.requests.length;
    const second = await captureStdout(() => installArchive(request()));
    expect(second.result).toEqual({ dir: first.result.dir, cacheHit: true });
    expect(server.requests.length).toBe(downloads);
  });

  it('with executablesOnly, caches those alone; a request for more replaces the copy', async () => {
    const only = { ...request(), version: '4.0.0', executablesOnly: true };
    const first = await captureStdout(() => installArchive(only));
    expect(first.result).toEqual({
      dir: path.join(work, 'cache', 'faketool', '4.0.0', 'amd64'),
      cacheHit: false
    });
    expect(readdirSync(path.join(first.result.dir, 'bin'))).toEqual(['faketool']);
    expect(statSync(path.join(first.result.dir, 'bin', 'faketool')).mode & 0o777).toBe(0o755);
    expect(findCached('faketool', '4.0.0', 'amd64')).toBe(first.result.dir);
    expect((await installArchive(only)).cacheHit).toBe(true);
    // Nothing of the download is left in RUNNER_TEMP.
    expect(readdirSync(path.join(work, 'temp'))).toEqual([]);
    const both = { ...request(), version: '4.0.0', executables: ['bin/faketool', 'bin/helper'] };
    const second = await captureStdout(() => installArchive(both));
    expect(second.result).toEqual({ dir: first.result.dir, cacheHit: false });
    expect(readdirSync(path.join(second.result.dir, 'bin')).sort()).toEqual(['faketool', 'helper']);
    expect((await installArchive(both)).cacheHit).toBe(true);
  });

  it('with executablesOnly, names a missing executable and caches nothing', async () => {
    const { result } = await captureStdout(() =>
      installArchive({
        ...request(),
        version: '5.0.0',
        executables: ['bin/other'],
        executablesOnly: true
      }).catch(error => error)
    );
    expect((result as Error).message).toBe(
      `The faketool archive from ${server.url}/tool.tar.gz has no bin/other.`
    );
    expect(existsSync(path.join(work, 'cache', 'faketool', '5.0.0'))).toBe(false);
    expect(findCached('faketool', '5.0.0', 'amd64')).toBeUndefined();
  });

  it('fails on a checksum mismatch, printing both digests, and caches nothing', async () => {
    const wrong = 'f'.repeat(64);
    const { result } = await captureStdout(() =>
      installArchive({ ...request(), version: '9.9.9', sha256: wrong }).catch(error => error)
    );
    expect(result).toBeInstanceOf(ChecksumMismatchError);
    expect((result as Error).message).toBe(
      `Checksum mismatch for ${server.url}/tool.tar.gz: expected sha256 ${wrong}, got ${sha}.`
    );
    expect(existsSync(path.join(work, 'cache', 'faketool', '9.9.9'))).toBe(false);
  });

  it('names a missing executable', async () => {
    const { result } = await captureStdout(() =>
      installArchive({ ...request(), version: '2.0.0', executables: ['bin/other'] }).catch(
        error => error
      )
    );
    expect((result as Error).message).toBe(
      `The faketool archive from ${server.url}/tool.tar.gz has no bin/other.`
    );
  });

  it('does not retry a 404', async () => {
    const before = server.requests.length;
    const { result } = await captureStdout(() =>
      installArchive({ ...request(), version: '3.0.0', url: `${server.url}/missing.tar.gz` }).catch(
        error => error
      )
    );
    expect((result as Error).message).toMatch(/404/);
    expect(server.requests.length).toBe(before + 1);
  });

  it('hashes files', async () => {
    expect(await sha256File(path.join(work, 'tool.tar.gz'))).toBe(sha);
  });
});

describe('findCached', () => {
  let cache: string;
  beforeAll(() => {
    cache = mkdtempSync(path.join(tmpdir(), 'tool-cache-'));
  });
  afterAll(() => rmSync(cache, { recursive: true, force: true }));
  const env = () => ({ RUNNER_TOOL_CACHE: cache });

  it('finds a complete copy under the version without its v, as tool-cache lays it out', () => {
    const dir = path.join(cache, 'buildkit', '0.34.2', 'amd64');
    mkdirSync(dir, { recursive: true });
    expect(findCached('buildkit', 'v0.34.2', 'amd64', env())).toBeUndefined();
    writeFileSync(`${dir}.complete`, '');
    expect(findCached('buildkit', 'v0.34.2', 'amd64', env())).toBe(dir);
    expect(findCached('buildkit', '0.34.2', 'amd64', env())).toBe(dir);
    expect(findCached('buildkit', 'v0.34.2', 'arm64', env())).toBeUndefined();
    expect(findCached('buildkit', 'v0.34.1', 'amd64', env())).toBeUndefined();
  });

  it('needs RUNNER_TOOL_CACHE', () => {
    expect(() => findCached('buildkit', 'v0.34.2', 'amd64', {})).toThrow(
      'RUNNER_TOOL_CACHE is not set, so the tool cache cannot be used.'
    );
  });
});

describe('sidecarChecksum (real HTTP server)', () => {
  const hex = 'AB'.repeat(32);
  let server: Awaited<ReturnType<typeof startHttpServer>>;

  beforeAll(async () => {
    server = await startHttpServer((req, res) => {
      const bodies: Record<string, string> = {
        '/a.tgz.sha256sum': `${hex}  a.tgz\n`,
        '/b.tgz.sha256': `${hex}\n`,
        '/c.tgz.sha256sum': 'not a checksum\n',
        '/c.tgz.sha256': `${hex}\n`
      };
      const body = bodies[req.url ?? ''];
      res.writeHead(body === undefined ? 404 : 200);
      res.end(body);
    });
  });

  afterAll(() => server.close());

  it('reads "<hex>  <name>" and bare "<hex>" files, lower-cased', async () => {
    await expect(sidecarChecksum(`${server.url}/a.tgz`, ['.sha256sum'])).resolves.toBe(
      hex.toLowerCase()
    );
    await expect(sidecarChecksum(`${server.url}/b.tgz`)).resolves.toBe(hex.toLowerCase());
  });

  it('tries the next suffix after a 404 or a body that is no checksum', async () => {
    await expect(sidecarChecksum(`${server.url}/b.tgz`, ['.sha256sum', '.sha256'])).resolves.toBe(
      hex.toLowerCase()
    );
    await expect(sidecarChecksum(`${server.url}/c.tgz`, ['.sha256sum', '.sha256'])).resolves.toBe(
      hex.toLowerCase()
    );
  });

  it('answers undefined when no suffix answers', async () => {
    await expect(sidecarChecksum(`${server.url}/d.tgz`, ['.sha256sum', '.sha256'])).resolves.toBe(
      undefined
    );
  });
});
