import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  HELM_PINNED_VERSIONS,
  prefetchHelmVersion,
  resolveHelmVersion,
  satisfies,
  setupHelm,
  startHelmSetup,
  type HelmSetupOptions
} from '../../../src/lib/helm/index.js';
import { findOnPath } from '../../../src/lib/exec.js';
import { ChecksumMismatchError } from '../../../src/lib/tools.js';
import { startHttpServer } from '../../helpers/http.js';
import { stackFact } from '../../helpers/stack.js';

/**
 * setupHelm against a local server in get.helm.sh layout, serving the real helm archives the
 * stack's mirror publishes (so the checksum, extraction and version detection are real).
 */

const V3 = () => stackFact('HELM3_VERSION');
const V4 = () => stackFact('HELM4_VERSION');

describe('satisfies', () => {
  it('any helm satisfies no spec; latest always asks for the newest', () => {
    expect(satisfies(undefined, 'v3.17.3')).toBe(true);
    expect(satisfies({ kind: 'latest' }, 'v4.1.4')).toBe(false);
  });
  it('compares exact versions and ranges, with or without the v', () => {
    expect(satisfies({ kind: 'exact', version: 'v3.17.3' }, '3.17.3')).toBe(true);
    expect(satisfies({ kind: 'exact', version: 'v3.17.3' }, 'v3.17.4')).toBe(false);
    expect(satisfies({ kind: 'range', range: '^3' }, 'v3.17.3')).toBe(true);
    expect(satisfies({ kind: 'range', range: '^3' }, 'v4.1.4')).toBe(false);
  });
});

describe('resolveHelmVersion', () => {
  const options = (spec: HelmSetupOptions['spec']): HelmSetupOptions => ({
    spec,
    downloadUrl: undefined,
    token: undefined,
    apiUrl: 'http://127.0.0.1:1'
  });

  it('needs no lookup for an exact version', async () => {
    const fetch = () => Promise.reject(new Error('must not be asked'));
    await expect(
      resolveHelmVersion(options({ kind: 'exact', version: 'v3.16.0' }), fetch)
    ).resolves.toBe('v3.16.0');
  });

  it('picks the newest matching published release', async () => {
    const fetch = () =>
      Promise.resolve(
        ['v4.0.0', 'v3.18.1', 'v3.18.0', 'v4.1.0-rc.1'].map(tag_name => ({ tag_name, assets: [] }))
      );
    await expect(resolveHelmVersion(options(undefined), fetch)).resolves.toBe('v4.0.0');
    await expect(
      resolveHelmVersion(options({ kind: 'range', range: '~3.18' }), fetch)
    ).resolves.toBe('v3.18.1');
  });

  it('falls back to the pinned versions when GitHub cannot be asked', async () => {
    await expect(resolveHelmVersion(options({ kind: 'range', range: '^3' }))).resolves.toBe(
      HELM_PINNED_VERSIONS.find(v => v.startsWith('v3'))
    );
  });
});

describe('setupHelm (real archives, real tool cache)', () => {
  let work: string;
  let emptyBin: string;
  let server: Awaited<ReturnType<typeof startHttpServer>>;
  const archives = new Map<string, Buffer>();
  const savedEnv = { ...process.env };

  const archiveName = (version: string) => `helm-${version}-linux-amd64.tar.gz`;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'helm-setup-'));
    // The runner's PATH (tar, timeout, ...) without any directory that holds a helm.
    emptyBin = (savedEnv.PATH ?? '')
      .split(':')
      .filter(dir => dir && !existsSync(path.join(dir, 'helm')))
      .join(':');
    const mirror = stackFact('HELM_DOWNLOAD_URL');
    for (const version of [V3(), V4()]) {
      const url = mirror.replace(/\{version\}/g, version).replace('{arch}', 'amd64');
      const archive = Buffer.from(await (await fetch(url)).arrayBuffer());
      const checksum = await (await fetch(`${url}.sha256sum`)).text();
      archives.set(archiveName(version), archive);
      archives.set(`${archiveName(version)}.sha256sum`, Buffer.from(checksum));
    }
    // /good/: get.helm.sh layout. /sha256/: only a bare `.sha256`. /bad/: a wrong checksum.
    // /nosum/: no checksum at all.
    server = await startHttpServer((req, res) => {
      const [, layout, name = ''] = /^\/(\w+)\/(.*)$/.exec(req.url ?? '') ?? [];
      const base = name.replace(/\.sha256(sum)?$/, '');
      let body: Buffer | string | undefined;
      if (layout === 'good') body = archives.get(name);
      else if (!name.includes('.sha256')) body = archives.get(name);
      else if (layout === 'sha256' && name.endsWith('.sha256'))
        body = archives.get(`${base}.sha256sum`)?.toString().split(/\s/)[0];
      else if (layout === 'bad' && name.endsWith('.sha256sum'))
        body = `${'0'.repeat(64)}  ${base}\n`;
      if (body === undefined) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200);
      res.end(body);
    });
    process.env.RUNNER_TOOL_CACHE = path.join(work, 'cache');
    process.env.RUNNER_TEMP = path.join(work, 'temp');
  }, 60_000);

  afterEach(() => {
    // core.addPath prepends to PATH; each test sets the PATH it means.
    process.env.PATH = savedEnv.PATH;
    server.requests.length = 0;
  });

  afterAll(async () => {
    await server.close();
    process.env = savedEnv;
    rmSync(work, { recursive: true, force: true });
  });

  const options = (spec: HelmSetupOptions['spec'], layout = 'good'): HelmSetupOptions => ({
    spec,
    downloadUrl: `${server.url}/${layout}/helm-{version}-linux-{arch}.tar.gz`,
    token: undefined,
    apiUrl: 'http://127.0.0.1:1'
  });
  const exact = (version: string) => ({ kind: 'exact' as const, version });

  it('uses a helm on PATH that satisfies the spec, downloading nothing', async () => {
    process.env.PATH = `${path.dirname(stackFact('HELM4'))}:${emptyBin}`;
    const helm = await setupHelm(options(undefined));
    expect(helm).toEqual({ path: stackFact('HELM4'), version: V4(), major: 4, source: 'path' });
    expect(server.requests).toEqual([]);
  });

  /** A helm on PATH that records each start (its arguments), then runs the real Helm 4. */
  const recordingHelm = (): { started: () => string[] } => {
    const bin = mkdtempSync(path.join(work, 'recording-helm-'));
    const calls = path.join(bin, 'calls');
    writeFileSync(
      path.join(bin, 'helm'),
      `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${stackFact('HELM4')}' "$@"\n`,
      { mode: 0o755 }
    );
    process.env.PATH = `${bin}:${emptyBin}`;
    return {
      started: () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : [])
    };
  };

  it('prefetchHelmVersion asks the helm on PATH once; setupHelm then reuses that answer', async () => {
    const { started } = recordingHelm();
    prefetchHelmVersion();
    for (let i = 0; i < 100 && started().length === 0; i++) await sleep(20);
    expect(started()).toEqual(['version --template {{.Version}}']);
    const helm = await setupHelm(options(undefined));
    expect(helm).toMatchObject({ version: V4(), major: 4, source: 'path' });
    expect(started()).toHaveLength(1);
  });

  it('startHelmSetup: a helm on PATH with no version asked runs in the background, started at once', async () => {
    const { started } = recordingHelm();
    const setup = startHelmSetup(options(undefined));
    expect(setup.background).toBe(true);
    await expect(setup.ready).resolves.toMatchObject({ version: V4(), source: 'path' });
    expect(started()).toEqual(['version --template {{.Version}}']);
    // A version to match (or no helm on PATH: an install) is awaited before the cluster changes.
    const matching = startHelmSetup(options(exact(V4())));
    expect(matching.background).toBe(false);
    await expect(matching.ready).resolves.toMatchObject({ version: V4(), source: 'path' });
    process.env.PATH = emptyBin;
    const install = startHelmSetup(options(undefined, 'nowhere'));
    expect(install.background).toBe(false);
    await expect(install.ready).rejects.toThrow();
  });

  it('takes an exact version from the tool cache without running the helm on PATH', async () => {
    const { helm, ran } = fakeCachedHelm('v3.99.3');
    const { started } = recordingHelm();
    await expect(setupHelm(options(exact('v3.99.3')))).resolves.toMatchObject({
      path: helm,
      source: 'tool-cache'
    });
    expect(started()).toEqual([]);
    expect(existsSync(ran)).toBe(false);
  });

  it('downloads and verifies the requested version when PATH has another', async () => {
    process.env.PATH = `${path.dirname(stackFact('HELM4'))}:${emptyBin}`;
    const helm = await setupHelm(options(exact(V3())));
    const binDir = path.join(process.env.RUNNER_TOOL_CACHE ?? '', 'helm', V3().slice(1), 'amd64');
    expect(helm).toEqual({
      path: path.join(binDir, 'linux-amd64', 'helm'),
      version: V3(),
      major: 3,
      source: 'downloaded'
    });
    expect(() => accessSync(helm.path, constants.X_OK)).not.toThrow();
    expect(server.requests).toEqual([
      `GET /good/${archiveName(V3())}.sha256sum`,
      `GET /good/${archiveName(V3())}`
    ]);
    // The installed helm is put on PATH for later steps.
    expect(process.env.PATH?.split(':')[0]).toBe(path.dirname(helm.path));
  }, 60_000);

  it('takes a cached version from the tool cache without a request', async () => {
    process.env.PATH = emptyBin;
    expect(findOnPath('helm')).toBeUndefined();
    const helm = await setupHelm(options(exact(V3())));
    expect(helm).toMatchObject({ version: V3(), major: 3, source: 'tool-cache' });
    expect(server.requests).toEqual([]);
  });

  /**
   * A tool-cache entry laid out as tool-cache writes one (<tool>/<semver>/<arch> and its
   * `.complete` marker) whose `helm` only records that it was run.
   */
  const fakeCachedHelm = (version: string, mode = 0o755): { helm: string; ran: string } => {
    const dir = path.join(process.env.RUNNER_TOOL_CACHE ?? '', 'helm', version.slice(1), 'amd64');
    const ran = path.join(work, `ran-${version}`);
    mkdirSync(path.join(dir, 'linux-amd64'), { recursive: true });
    writeFileSync(`${dir}.complete`, '');
    const helm = path.join(dir, 'linux-amd64', 'helm');
    writeFileSync(helm, `#!/bin/sh\ntouch '${ran}'\necho not-a-version\n`, { mode });
    chmodSync(helm, mode);
    return { helm, ran };
  };

  it('takes the version of a tool-cache hit from the cache key, without running helm', async () => {
    process.env.PATH = emptyBin;
    const { helm, ran } = fakeCachedHelm('v3.99.1');
    await expect(setupHelm(options(exact('v3.99.1')))).resolves.toEqual({
      path: helm,
      version: 'v3.99.1',
      major: 3,
      source: 'tool-cache'
    });
    expect(existsSync(ran)).toBe(false);
    expect(server.requests).toEqual([]);
  });

  it('names a damaged tool-cache entry (helm not executable) with a clear error', async () => {
    process.env.PATH = emptyBin;
    const { helm } = fakeCachedHelm('v3.99.2', 0o644);
    await expect(setupHelm(options(exact('v3.99.2')))).rejects.toThrow(
      `Cannot run ${helm}: it is missing or not executable.`
    );
  });

  it('still refuses Helm 2 from the tool cache', async () => {
    process.env.PATH = emptyBin;
    const { helm } = fakeCachedHelm('v2.17.0');
    await expect(setupHelm(options(exact('v2.17.0')))).rejects.toThrow(
      `${helm} is Helm v2.17.0; Slipway supports Helm 3 and 4.`
    );
  });

  it('refuses an archive whose checksum does not match, caching nothing', async () => {
    process.env.PATH = emptyBin;
    const failure = setupHelm(options(exact(V4()), 'bad'));
    await expect(failure).rejects.toBeInstanceOf(ChecksumMismatchError);
    await expect(failure).rejects.toThrow(
      `Checksum mismatch for ${server.url}/bad/${archiveName(V4())}: expected sha256 ${'0'.repeat(64)}`
    );
    expect(existsSync(path.join(process.env.RUNNER_TOOL_CACHE ?? '', 'helm', V4().slice(1)))).toBe(
      false
    );
  }, 60_000);

  it('refuses an archive with no published checksum', async () => {
    process.env.PATH = emptyBin;
    await expect(setupHelm(options(exact(V4()), 'nosum'))).rejects.toThrow(
      `No sha256 is published for ${server.url}/nosum/${archiveName(V4())} (.sha256sum or .sha256), so it cannot be verified.`
    );
  });

  it('falls back to a bare .sha256 file next to the archive', async () => {
    process.env.PATH = emptyBin;
    const helm = await setupHelm(options(exact(V4()), 'sha256'));
    expect(helm).toMatchObject({ version: V4(), major: 4, source: 'downloaded' });
    expect(server.requests).toEqual([
      `GET /sha256/${archiveName(V4())}.sha256sum`,
      `GET /sha256/${archiveName(V4())}.sha256`,
      `GET /sha256/${archiveName(V4())}`
    ]);
  }, 60_000);
});
