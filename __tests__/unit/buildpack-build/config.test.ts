import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readConfig, secretValues } from '../../../src/buildpack-build/config.js';
import {
  DEFAULT_FRONTEND_IMAGE,
  imageName,
  parseRemoteBuildkitAddr as parseAddr
} from '../../../src/lib/buildkit/index.js';
import { InputError } from '../../../src/lib/errors.js';
import { Inputs } from '../../../src/lib/inputs.js';

const root = mkdtempSync(path.join(tmpdir(), 'slipway-build-config-'));
const withDockerfile = path.join(root, 'with-dockerfile');
const withoutDockerfile = path.join(root, 'without-dockerfile');
mkdirSync(withDockerfile);
mkdirSync(withoutDockerfile);
writeFileSync(path.join(withDockerfile, 'Dockerfile'), 'FROM scratch\n');
writeFileSync(path.join(root, 'Custom.Dockerfile'), 'FROM scratch\n');
const secretFile = path.join(root, 'npmrc');
writeFileSync(secretFile, '//registry/:_authToken=s3cr3t-file-value\n');
afterAll(() => rmSync(root, { recursive: true, force: true }));

function config(values: Record<string, string>, env: Record<string, string | undefined> = {}) {
  return readConfig(new Inputs(name => values[name] ?? ''), env);
}

const IMAGE = '127.0.0.1:25000/slipway/app';

describe('readConfig', () => {
  it('builds a local Dockerfile build with defaults', () => {
    const result = config({ context: withDockerfile, image: `${IMAGE}:1` });
    expect(result).toMatchObject({
      addr: undefined,
      context: { kind: 'local', dir: withDockerfile },
      frontend: 'dockerfile',
      frontendImage: DEFAULT_FRONTEND_IMAGE,
      dockerfileDir: withDockerfile,
      dockerfileName: 'Dockerfile',
      push: true,
      timeoutMs: 30 * 60_000
    });
    expect(result.images.map(imageName)).toEqual([`${IMAGE}:1`]);
  });

  it('falls back to buildpacks when auto finds no Dockerfile', () => {
    const result = config({ context: withoutDockerfile, image: IMAGE, tags: '7' });
    expect(result.frontend).toBe('buildpacks');
    expect(result.buildpacks?.builder).toBe(
      'docker.io/paketobuildpacks/ubuntu-noble-builder:latest'
    );
    expect(result.dockerfileName).toBeUndefined();
    expect(result.dockerfileDir).toBe(withoutDockerfile);
  });

  it('fails clearly for frontend: dockerfile without a Dockerfile', () => {
    expect(() =>
      config({ context: withoutDockerfile, image: IMAGE, frontend: 'dockerfile' })
    ).toThrow(/Input "dockerfile" names no file/);
  });

  it('takes a Dockerfile outside the context', () => {
    const result = config({
      context: withoutDockerfile,
      image: IMAGE,
      dockerfile: path.join(root, 'Custom.Dockerfile')
    });
    expect(result).toMatchObject({
      frontend: 'dockerfile',
      dockerfileDir: root,
      dockerfileName: 'Custom.Dockerfile'
    });
  });

  it('reads a git context with ref, subdir and a Dockerfile path inside it', () => {
    const result = config({
      context: 'https://git.local/slipway/sample-app.git#v1.0.0:app',
      image: IMAGE,
      dockerfile: 'build/Dockerfile'
    });
    expect(result.context).toMatchObject({ kind: 'git', ref: 'v1.0.0', subdir: 'app' });
    expect(result.frontend).toBe('dockerfile');
    expect(result.dockerfileName).toBe('build/Dockerfile');
    expect(() =>
      config({ context: 'https://git.local/a.git', image: IMAGE, dockerfile: '../x' })
    ).toThrow(/inside the git context/);
  });

  it('takes the builder address from BUILDKIT_HOST unless addr is set', () => {
    const env = { BUILDKIT_HOST: 'unix:///run/buildkit/buildkitd.sock' };
    expect(config({ context: withDockerfile, image: IMAGE }, env).addr).toBe(env.BUILDKIT_HOST);
    expect(
      config({ context: withDockerfile, image: IMAGE, addr: 'tcp://buildkitd:1234' }, env).addr
    ).toBe('tcp://buildkitd:1234');
    expect(() =>
      config({ context: withDockerfile, image: IMAGE }, { BUILDKIT_HOST: 'buildkitd:1234' })
    ).toThrow(/BUILDKIT_HOST/);
  });

  it.each([
    [{ frontend: 'pack' }, /Input "frontend" must be one of auto, dockerfile, buildpacks, gateway/],
    [{ frontend: 'buildpacks', 'build-args': 'A=1' }, /Input "build-args" applies to Dockerfile/],
    [{ frontend: 'buildpacks', push: 'false' }, /Input "push" must be true/],
    [{ frontend: 'buildpacks', builder: 'a b' }, /Input "builder"/],
    [{ frontend: 'buildpacks', 'run-image': 'x\ny' }, /Input "run-image"/],
    [{ frontend: 'buildpacks', buildpacks: 'a@1 && x' }, /Input "buildpacks"/],
    [{ frontend: 'buildpacks', 'buildpack-env': 'CNB_X=1' }, /Input "buildpack-env"/],
    [{ frontend: 'buildpacks', 'insecure-registries': 'a/b' }, /Input "insecure-registries"/],
    [{ image: 'Not/A/Valid:Ref!' }, /Input "image"/],
    [{ image: '' }, /Input "image"/],
    [{ 'frontend-image': 'bad image' }, /Input "frontend-image"/],
    [{ context: '/does/not/exist' }, /Input "context" names no directory/],
    [{ context: 'https://git.local/repo' }, /Input "context".*\.git/],
    [{ platforms: 'amd64' }, /Input "platforms"/],
    // Found by the property tests: a carriage return in a list item reached the message raw.
    [{ platforms: 'linux/amd64\rlinux/arm64' }, 'invalid platform "linux/amd64 linux/arm64"'],
    [{ 'build-args': '1BAD=x' }, /Input "build-args"/],
    [{ 'cache-to': 'type=s4' }, /Input "cache-to"/],
    [{ provenance: 'maybe' }, /Input "provenance"/],
    [{ timeout: 'soon' }, /Input "timeout"/],
    [{ push: 'yes' }, /Input "push"/],
    [{ addr: 'http://buildkitd' }, /Input "addr"/]
  ])('rejects %j', (override, message) => {
    expect(() =>
      config({ context: withDockerfile, image: IMAGE, ...(override as Record<string, string>) })
    ).toThrow(message);
  });

  it('reads attestations, caches, labels and platforms', () => {
    const result = config({
      context: withDockerfile,
      image: IMAGE,
      provenance: 'true',
      sbom: 'false',
      'cache-from': `${IMAGE}:cache`,
      'cache-to': `type=registry,ref=${IMAGE}:cache,mode=max`,
      labels: 'org.opencontainers.image.revision=abc',
      platforms: 'linux/amd64, linux/arm64/v8'
    });
    expect(result.provenance).toBe('mode=min');
    expect(result.sbom).toBeUndefined();
    expect(result.cacheFrom[0]?.type).toBe('registry');
    expect(result.cacheTo[0]?.attrs).toContainEqual(['mode', 'max']);
    expect(result.labels).toEqual([['org.opencontainers.image.revision', 'abc']]);
    expect(result.platforms).toEqual(['linux/amd64', 'linux/arm64/v8']);
    expect(
      config({ context: withDockerfile, image: IMAGE, provenance: 'mode=max' }).provenance
    ).toBe('mode=max');
  });
});

describe('secrets', () => {
  it('accepts env and file secrets and returns their values only for masking', () => {
    const env = { API_TOKEN: 'env-s3cr3t' };
    const result = config(
      {
        context: withDockerfile,
        image: IMAGE,
        secrets: `id=token,env=API_TOKEN\nid=npmrc,src=${secretFile}`
      },
      env
    );
    expect(result.secrets).toEqual([
      { id: 'token', source: { type: 'env', name: 'API_TOKEN' } },
      { id: 'npmrc', source: { type: 'file', path: secretFile } }
    ]);
    expect(secretValues(result.secrets, env)).toEqual([
      'env-s3cr3t',
      '//registry/:_authToken=s3cr3t-file-value'
    ]);
  });

  it('rejects unset variables, missing files and duplicate ids without quoting values', () => {
    expect(() =>
      config({ context: withDockerfile, image: IMAGE, secrets: 'id=token,env=MISSING_VAR' })
    ).toThrow(/MISSING_VAR, which is not set/);
    expect(() =>
      config({ context: withDockerfile, image: IMAGE, secrets: 'id=a,src=/no/such/file' })
    ).toThrow(/names no file/);
    expect(() =>
      config(
        { context: withDockerfile, image: IMAGE, secrets: 'id=a,env=A\nid=a,env=A' },
        { A: 'value-a' }
      )
    ).toThrow(/twice/);
  });
});

describe('parseRemoteBuildkitAddr (addr)', () => {
  it.each([
    'unix:///run/buildkit/buildkitd.sock',
    'tcp://buildkitd:1234',
    'tcp://127.0.0.1:25234',
    'kube-pod://buildkitd-0?namespace=ci',
    'docker-container://buildx_buildkit_default'
  ])('accepts %s', addr => {
    expect(parseAddr('addr', addr)).toBe(addr);
  });

  it.each([
    'buildkitd:1234',
    'tcp://buildkitd',
    'unix://relative.sock',
    'http://x:1',
    'tcp://a b:1'
  ])('rejects %s', addr => {
    expect(() => parseAddr('addr', addr)).toThrow(InputError);
  });
});
