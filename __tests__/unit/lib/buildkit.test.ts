import { describe, expect, it } from '@jest/globals';
import {
  PINNED_VERSIONS,
  assetName,
  buildkitHost,
  parseBuildkitAddr,
  parseWorkers,
  resolveRelease,
  workerPlatforms
} from '../../../src/lib/buildkit/index.js';
import { ReleasesUnavailableError, assetSha256, type Release } from '../../../src/lib/github.js';
import { captureStdout } from '../../helpers/capture.js';

const sha = (c: string) => c.repeat(64);
const releases: Release[] = [
  { tag_name: 'v0.35.0-rc1', assets: [] },
  {
    tag_name: 'v0.34.2',
    assets: [
      { name: 'buildkit-v0.34.2.linux-amd64.tar.gz', digest: `sha256:${sha('a')}` },
      { name: 'buildkit-v0.34.2.linux-arm64.tar.gz', digest: `sha256:${sha('b')}` }
    ]
  },
  { tag_name: 'v0.33.1', assets: [{ name: 'buildkit-v0.33.1.linux-amd64.tar.gz', digest: null }] }
];

describe('resolveRelease', () => {
  it('resolves latest to the newest stable release with its asset digest', async () => {
    expect(await resolveRelease({ kind: 'latest' }, 'amd64', async () => releases, true)).toEqual({
      version: 'v0.34.2',
      sha256: sha('a'),
      source: 'github'
    });
    expect(await resolveRelease({ kind: 'latest' }, 'arm64', async () => releases, true)).toEqual({
      version: 'v0.34.2',
      sha256: sha('b'),
      source: 'github'
    });
  });

  it('resolves ranges and reports a missing digest as undefined', async () => {
    expect(
      await resolveRelease({ kind: 'range', range: '~0.33.0' }, 'amd64', async () => releases, true)
    ).toEqual({ version: 'v0.33.1', sha256: undefined, source: 'github' });
  });

  it('needs no API call for an exact version when the checksum comes from elsewhere', async () => {
    let calls = 0;
    const fetch = async () => {
      calls++;
      return releases;
    };
    expect(
      await resolveRelease({ kind: 'exact', version: 'v0.20.0' }, 'amd64', fetch, false)
    ).toEqual({ version: 'v0.20.0', source: 'exact' });
    expect(calls).toBe(0);
  });

  it('fails when the exact version is not published', async () => {
    await expect(
      resolveRelease({ kind: 'exact', version: 'v0.99.0' }, 'amd64', async () => releases, true)
    ).rejects.toThrow('BuildKit v0.99.0 is not a published release.');
  });

  it('falls back to the pinned list with a warning when the API is unavailable', async () => {
    const { result, output } = await captureStdout(() =>
      resolveRelease(
        { kind: 'latest' },
        'amd64',
        async () => Promise.reject(new ReleasesUnavailableError('GitHub API answered 403')),
        true
      )
    );
    expect(result).toEqual({ version: PINNED_VERSIONS[0], source: 'pinned' });
    expect(output).toContain(
      '::warning::Could not list BuildKit releases (GitHub API answered 403)'
    );
  });

  it('does not hide other failures behind the fallback', async () => {
    await expect(
      resolveRelease(
        { kind: 'latest' },
        'amd64',
        async () => Promise.reject(new SyntaxError('bad JSON')),
        true
      )
    ).rejects.toThrow('bad JSON');
  });
});

describe('assets', () => {
  it('names assets as BuildKit publishes them', () => {
    expect(assetName('v0.34.2', 'arm64')).toBe('buildkit-v0.34.2.linux-arm64.tar.gz');
  });

  it('reads sha256 digests only', () => {
    expect(assetSha256(releases[1] as Release, 'buildkit-v0.34.2.linux-amd64.tar.gz')).toBe(
      sha('a')
    );
    expect(
      assetSha256({ tag_name: 'x', assets: [{ name: 'n', digest: 'md5:abc' }] }, 'n')
    ).toBeUndefined();
    expect(assetSha256(releases[1] as Release, 'missing')).toBeUndefined();
  });
});

describe('parseBuildkitAddr', () => {
  it.each([
    'tcp://buildkitd:1234',
    'tcp://127.0.0.1:25234',
    'tcp://[::1]:1234',
    'unix:///run/buildkit/buildkitd.sock',
    'kube-pod://buildkitd-0?namespace=ci',
    'kube-pod://buildkitd',
    'docker-container://buildx_buildkit_x0',
    'podman-container://bk'
  ])('accepts %s', addr => {
    expect(parseBuildkitAddr('addr', addr, {})).toEqual({ kind: 'remote', addr });
  });

  it('defaults to BUILDKIT_HOST, else local', () => {
    expect(parseBuildkitAddr('addr', '', { BUILDKIT_HOST: 'tcp://b:1234' })).toEqual({
      kind: 'remote',
      addr: 'tcp://b:1234'
    });
    expect(parseBuildkitAddr('addr', ' ', {})).toEqual({ kind: 'local' });
    expect(parseBuildkitAddr('addr', 'local', { BUILDKIT_HOST: 'tcp://b:1234' })).toEqual({
      kind: 'local'
    });
    expect(buildkitHost({ BUILDKIT_HOST: ' unix:///s ' })).toBe('unix:///s');
    expect(buildkitHost({})).toBeUndefined();
  });

  it.each([
    'http://b:1234',
    'tcp://b',
    'unix://relative.sock',
    'buildkitd:1234',
    'tcp://b:1234; rm -rf /',
    'kube-pod://Bad_Name'
  ])('rejects %j naming the input and the forms', addr => {
    expect(() => parseBuildkitAddr('addr', addr, {})).toThrow(
      /^Input "addr" must be local, kubernetes, kube-service:\/\/namespace\/service, kube-deployment:\/\/namespace\/deployment or a BuildKit address: tcp:\/\/host:port, unix:\/\/\/path/
    );
  });
});

describe('workers', () => {
  const output =
    'ID\t\t\t\tPLATFORMS\nw1\tlinux/amd64,linux/amd64/v2,linux/386\nw2\tlinux/arm64,linux/amd64\n';

  it('parses buildctl debug workers', () => {
    expect(parseWorkers(output)).toEqual([
      { id: 'w1', platforms: ['linux/amd64', 'linux/amd64/v2', 'linux/386'] },
      { id: 'w2', platforms: ['linux/arm64', 'linux/amd64'] }
    ]);
    expect(workerPlatforms(parseWorkers(output))).toEqual([
      'linux/amd64',
      'linux/amd64/v2',
      'linux/386',
      'linux/arm64'
    ]);
    expect(parseWorkers('ID PLATFORMS\n')).toEqual([]);
  });
});

describe('BuildKit TLS', () => {
  it('reads the exported files and turns them into flags for tcp only', async () => {
    const { tlsArgs, tlsFromEnv } = await import('../../../src/lib/buildkit/index.js');
    const tls = tlsFromEnv({ BUILDKIT_TLS_CA: '/t/ca.pem', BUILDKIT_TLS_SERVER_NAME: 'bk' });
    expect(tls).toEqual({ ca: '/t/ca.pem', cert: undefined, key: undefined, serverName: 'bk' });
    expect(tlsArgs('tcp://h:1', tls)).toEqual([
      '--tlsservername',
      'bk',
      '--tlscacert',
      '/t/ca.pem'
    ]);
    expect(tlsArgs('unix:///s', tls)).toEqual([]);
    expect(tlsFromEnv({})).toBeUndefined();
  });
});
