import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { projectRoot, runMain, visibleText, type ActionRun } from '../helpers/action-runner.js';
import { registryPassword, stackFact } from '../helpers/stack.js';
import { buildStepTool, startPrivateBuildkitd } from '../helpers/buildkit.js';
import { MANIFEST_ACCEPT, registryBlob, registryRequest } from '../helpers/registry.js';

/**
 * buildpack-build against the real stack: the TLS+auth registry, buildkitd, the git server and the
 * Dockerfile frontend packed as a gateway image. Every digest is checked against the registry.
 */
const ACTION = 'buildpack-build';
const suffix = Math.random().toString(36).slice(2, 8);
const work = mkdtempSync(path.join(tmpdir(), 'slipway-build-it-'));
const registry = stackFact('REGISTRY_TLS');
const repo = `slipway-it/build-${suffix}`;
const image = `${registry}/${repo}`;
const password = registryPassword();

let dockerConfig = '';
let buildctlDir = '';

/** A build context holding the sample app's Dockerfile and a static binary built for this run. */
function sampleContext(name: string, version: string): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const file of ['Dockerfile', 'go.mod', 'main.go']) {
    cpSync(path.join(projectRoot, 'examples', 'sample-app', file), path.join(dir, file));
  }
  execFileSync(
    'go',
    [
      'build',
      '-trimpath',
      `-ldflags=-s -w -buildid= -X main.version=${version}`,
      '-o',
      'sample-app',
      '.'
    ],
    { cwd: dir, env: { ...process.env, CGO_ENABLED: '0' }, stdio: 'pipe' }
  );
  return dir;
}

function build(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
  cwd?: string
): Promise<ActionRun> {
  return runMain(ACTION, inputs, {
    cwd,
    env: {
      PATH: `${buildctlDir}:${process.env.PATH ?? ''}`,
      DOCKER_CONFIG: dockerConfig,
      BUILDKIT_HOST: stackFact('BUILDKIT_TCP_ADDR'),
      ...env
    },
    timeoutMs: 240_000
  });
}

/** The registry's own answer: Docker-Content-Digest of the manifest (or index) behind a tag. */
async function registryDigest(repository: string, tag: string): Promise<string> {
  return (await registryManifest(repository, tag)).digest;
}

function registryManifest(
  repository: string,
  tag: string
): Promise<{ digest: string; mediaType: string }> {
  const [host, port] = registry.split(':');
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port: Number(port),
        method: 'GET',
        path: `/v2/${repository}/manifests/${tag}`,
        ca: readFileSync(stackFact('REGISTRY_CA')),
        auth: `${stackFact('REGISTRY_USER')}:${password}`,
        headers: {
          Accept: [
            'application/vnd.oci.image.index.v1+json',
            'application/vnd.oci.image.manifest.v1+json',
            'application/vnd.docker.distribution.manifest.list.v2+json',
            'application/vnd.docker.distribution.manifest.v2+json'
          ].join(', ')
        }
      },
      response => {
        response.resume();
        response.on('end', () => {
          const digest = response.headers['docker-content-digest'];
          const mediaType = response.headers['content-type'] ?? '';
          if (response.statusCode === 200 && typeof digest === 'string')
            resolve({ digest, mediaType });
          else reject(new Error(`GET manifest ${repository}:${tag}: HTTP ${response.statusCode}`));
        });
      }
    );
    req.on('error', reject);
    req.end();
  });
}

function expectSuccess(run: ActionRun): void {
  if (run.exitCode !== 0) throw new Error(`action failed:\n${run.stdout.slice(-3000)}`);
  expect(visibleText(run)).not.toContain(password);
}

let context = '';

beforeAll(() => {
  buildctlDir = path.dirname(stackFact('BUILDCTL'));
  const configDir = path.join(work, 'docker-config');
  mkdirSync(configDir, { mode: 0o700 });
  const auth = Buffer.from(`${stackFact('REGISTRY_USER')}:${password}`).toString('base64');
  writeFileSync(
    path.join(configDir, 'config.json'),
    JSON.stringify({ auths: { [registry]: { auth } } }),
    { mode: 0o600 }
  );
  dockerConfig = configDir;
  context = sampleContext('app', `it-${suffix}`);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('buildpack-build on the real stack', () => {
  it('builds the sample app FROM scratch, pushes it, and outputs the registry digest', async () => {
    const run = await build(
      { context, image, tags: `{{run}}\nlatest`, push: 'true' },
      {
        GITHUB_RUN_NUMBER: '41'
      }
    );
    expectSuccess(run);
    const digest = run.outputs.digest ?? '';
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await registryDigest(repo, '41')).toBe(digest);
    expect(await registryDigest(repo, 'latest')).toBe(digest);
    expect(run.outputs.image).toBe(`${image}:41`);
    expect(run.outputs.imageref).toBe(`${image}@${digest}`);
    expect(run.outputs.images?.split('\n')).toEqual([`${image}:41`, `${image}:latest`]);
    expect(run.outputs.frontend).toBe('dockerfile');
    expect(JSON.parse(run.outputs.metadata ?? '{}')['containerimage.digest']).toBe(digest);
    expect(run.summary).toContain(digest);
    expect(run.summary).toContain('dockerfile Dockerfile');
    expect(run.stdout).toContain('::group::Building');
    expect(run.stdout).toMatch(/#\d+ \[1\/1\] COPY sample-app \/sample-app/);
  }, 240_000);

  it('outputs the index digest for a multi-platform build with provenance', async () => {
    const run = await build({
      context,
      image: `${image}:multi`,
      platforms: 'linux/amd64,linux/386',
      provenance: 'true'
    });
    expectSuccess(run);
    expect(run.stdout).toContain('attest:provenance=mode=min');
    expect(await registryManifest(repo, 'multi')).toEqual({
      digest: run.outputs.digest,
      mediaType: 'application/vnd.oci.image.index.v1+json'
    });
  }, 240_000);

  it('builds through the gateway frontend image the stack pushed; a RUN step reads the secret, which no layer, config or log holds', async () => {
    const secret = `build-secret-${suffix}-value`;
    const dir = path.join(work, 'secret-context');
    mkdirSync(dir);
    buildStepTool(dir);
    writeFileSync(
      path.join(dir, 'Dockerfile'),
      // BuildKit leaves secrets out of the cache key: without this run's own ENV, the step would be
      // a cache hit from an earlier run that mounted another value.
      `FROM scratch\nCOPY step /step\nENV SLIPWAY_IT_RUN=${suffix}-${Date.now()}\n` +
        'RUN --mount=type=secret,id=token,required=true ["/step", "digest", "/run/secrets/token", "/proof/token"]\n'
    );
    const run = await build(
      {
        context: dir,
        image: `${image}:gateway`,
        frontend: 'gateway',
        'frontend-image': stackFact('FRONTEND_IMAGE_TLS'),
        secrets: 'id=token,env=SLIPWAY_IT_BUILD_SECRET'
      },
      { SLIPWAY_IT_BUILD_SECRET: secret }
    );
    expectSuccess(run);
    expect(run.outputs.frontend).toBe('gateway');
    expect(run.stdout).toContain(`source=${stackFact('FRONTEND_IMAGE_TLS')}`);
    expect(await registryDigest(repo, 'gateway')).toBe(run.outputs.digest);
    // The step saw the value: it wrote the value's hash and length into the image.
    const manifest = JSON.parse(
      (
        await registryRequest(registry, `/v2/${repo}/manifests/${run.outputs.digest}`, {
          accept: MANIFEST_ACCEPT
        })
      ).body
    ) as { config: { digest: string }; layers: { digest: string; mediaType: string }[] };
    const layers = await Promise.all(
      manifest.layers.map(async layer => {
        const blob = await registryBlob(repo, layer.digest);
        return layer.mediaType.endsWith('gzip') ? gunzipSync(blob) : blob;
      })
    );
    const proof = `sha256=${createHash('sha256').update(secret).digest('hex')} bytes=${secret.length}\n`;
    expect(layers.filter(layer => layer.includes(proof))).toHaveLength(1);
    // …and the value itself is in no layer, nor in the config (history, env, labels), logs or outputs.
    expect(layers.filter(layer => layer.includes(secret))).toEqual([]);
    const config = (await registryBlob(repo, manifest.config.digest)).toString('utf8');
    expect(config).toContain('/proof/token');
    expect(config).not.toContain(secret);
    expect(run.stdout).toContain(`::add-mask::${secret}`);
    expect(visibleText(run)).not.toContain(secret);
  }, 240_000);

  it('builds a git context at a ref and subdir, fetched by BuildKit', async () => {
    const gitUrl = `${stackFact('SAMPLE_APP_GIT')}#v1.0.0:app`;
    const run = await build({ context: gitUrl, image: `${image}:git` });
    expectSuccess(run);
    expect(run.stdout).toContain(`context=${gitUrl}`);
    expect(run.stdout).toContain('load git source');
    expect(run.stdout).not.toContain('--local');
    expect(await registryDigest(repo, 'git')).toBe(run.outputs.digest);
  }, 240_000);

  it('says the builder has no git when a git context meets a buildkitd without git', async () => {
    // buildkitd enables its git source only when it finds git on its PATH.
    const nogit = startPrivateBuildkitd({
      root: mkdtempSync(path.join(work, 'nogit-root-')),
      env: { PATH: path.join(work, 'no-such-dir') }
    });
    let run: ActionRun;
    try {
      await nogit.ready();
      run = await build(
        { context: `${stackFact('SAMPLE_APP_GIT')}#v1.0.0:app`, image: `${image}:nogit` },
        { BUILDKIT_HOST: nogit.addr }
      );
    } finally {
      await nogit.stop();
    }
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      `::error::The builder at ${nogit.addr} has no git, so it cannot fetch the git context ${stackFact('SAMPLE_APP_GIT')}: failed to solve: failed to read dockerfile: failed to load cache key: unknown scheme git: not found`
    );
    expect(run.stdout).toContain('Install git where buildkitd runs');
    expect(run.stdout).not.toContain('found no Dockerfile');
  }, 120_000);

  it('builds a git context through the gateway frontend', async () => {
    const gitUrl = `${stackFact('SAMPLE_APP_GIT')}#main:app`;
    const run = await build({
      context: gitUrl,
      image: `${image}:git-gateway`,
      frontend: 'gateway',
      'frontend-image': stackFact('FRONTEND_IMAGE_TLS')
    });
    expectSuccess(run);
    expect(run.stdout).toContain(`source=${stackFact('FRONTEND_IMAGE_TLS')}`);
    expect(run.stdout).toContain(`context=${gitUrl}`);
    expect(run.outputs.frontend).toBe('gateway');
    expect(await registryDigest(repo, 'git-gateway')).toBe(run.outputs.digest);
  }, 240_000);

  it('exports a registry cache and imports it on an unchanged rebuild', async () => {
    const cacheRef = `${image}:buildcache`;
    const first = await build({
      context,
      image: `${image}:cache1`,
      'cache-to': `type=registry,ref=${cacheRef},mode=max`
    });
    expectSuccess(first);
    expect(await registryDigest(repo, 'buildcache')).toMatch(/^sha256:/);
    // On a fresh buildkitd with an empty root, so every hit comes from the imported cache (the
    // stack's buildkitd would still hold the first build's layers locally).
    const fresh = startPrivateBuildkitd({ root: mkdtempSync(path.join(work, 'fresh-root-')) });
    let second: ActionRun;
    try {
      await fresh.ready();
      second = await build(
        { context, image: `${image}:cache2`, 'cache-from': cacheRef },
        { BUILDKIT_HOST: fresh.addr }
      );
    } finally {
      await fresh.stop();
    }
    expectSuccess(second);
    // Hits counted from buildctl's `#N CACHED` lines: without the import, the step runs (0 / 1).
    expect([second.outputs['cache-hits'], second.outputs['cache-misses']]).toEqual(['1', '0']);
    expect(second.stdout).toMatch(/^#\d+ CACHED$/m);
    expect(second.summary).toMatch(/\d+ steps? cached, 0 executed/);
    expect(second.stdout).toContain(`importing cache manifest from ${cacheRef}`);
    expect(second.outputs.digest).toBe(first.outputs.digest);
  }, 240_000);

  it('warns when the cache export fails (registry unreachable) and still builds and pushes', async () => {
    const run = await build({
      context: sampleContext('app-cache-to', `it-${suffix}-cache-to`),
      image: `${image}:cache-to-down`,
      'cache-to': 'type=registry,ref=127.0.0.1:1/slipway-it/canfail-cache,mode=max'
    });
    expectSuccess(run);
    const warnings = run.stdout.split('\n').filter(line => line.startsWith('::warning'));
    expect(warnings).toEqual([
      expect.stringMatching(
        /^::warning title=Build cache not used::exporting cache to registry failed, the build went on without it: .*127\.0\.0\.1:1.*connection refused/
      )
    ]);
    expect(await registryDigest(repo, 'cache-to-down')).toBe(run.outputs.digest);
  }, 240_000);

  it('outputs a new digest when the source changes under the same tag', async () => {
    const before = await build({ context, image: `${image}:moving` });
    expectSuccess(before);
    const changed = sampleContext('app-changed', `it-${suffix}-changed`);
    const after = await build({ context: changed, image: `${image}:moving` });
    expectSuccess(after);
    expect(after.outputs.digest).not.toBe(before.outputs.digest);
    expect(await registryDigest(repo, 'moving')).toBe(after.outputs.digest);
    expect(after.outputs.imageref).toBe(`${image}@${after.outputs.digest}`);
  }, 240_000);

  it('shows the failing step, annotates the Dockerfile line, and does not retry', async () => {
    const broken = path.join(work, 'broken');
    mkdirSync(broken);
    writeFileSync(path.join(broken, 'Dockerfile'), 'FROM scratch\nCOPY missing-file /x\n');
    // The job's working directory is the workspace holding the Dockerfile, as on a runner.
    const run = await build({ context: 'broken', image: `${image}:broken` }, {}, work);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /::error title=Build failed at step \[1\/1\] COPY missing-file \/x,file=broken\/Dockerfile,line=2::/
    );
    expect(run.stdout).toContain('::error::The build failed at step [1/1] COPY missing-file /x');
    expect(run.stdout).not.toContain('Transient failure');
    expect(run.summary).toContain('Build failed');
  }, 240_000);

  it('points a push 401 at registry-login-from-secret', async () => {
    const empty = path.join(work, 'no-credentials');
    mkdirSync(empty);
    const run = await build({ context, image: `${image}:denied` }, { DOCKER_CONFIG: empty });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /::error::The registry refused the credentials \(401 Unauthorized\)/
    );
    expect(run.stdout).toContain('registry-login-from-secret');
    expect(run.stdout).not.toContain('Transient failure');
  }, 240_000);

  it('names an unreachable builder, after retrying the connection', async () => {
    const run = await build({ context, image: `${image}:nobuilder`, addr: 'tcp://127.0.0.1:1' });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('Could not reach the BuildKit daemon at tcp://127.0.0.1:1');
    expect(run.stdout).toContain('(attempt 2/3)');
  }, 240_000);

  it('names a gateway frontend image that does not exist', async () => {
    const run = await build({
      context,
      image: `${image}:nofrontend`,
      frontend: 'gateway',
      'frontend-image': `${registry}/slipway-it/no-such-frontend:${suffix}`,
      push: 'false'
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('The gateway frontend');
    expect(run.stdout).toContain('could not be loaded');
  }, 240_000);

  it('refuses frontend: dockerfile without a Dockerfile before running buildctl', async () => {
    const bare = path.join(work, 'no-dockerfile');
    mkdirSync(bare);
    const run = await build({ context: bare, image: `${image}:x`, frontend: 'dockerfile' });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('Input "dockerfile" names no file');
    expect(run.stdout).not.toContain('[command]');
  }, 60_000);
});
