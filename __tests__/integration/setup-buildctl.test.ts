import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
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
import { newRunnerDirs, runMain, runPost, visibleText } from '../helpers/action-runner.js';
import { startHttpServer } from '../helpers/http.js';
import { deleteNamespace, kubectl } from '../helpers/kube.js';
import { stackFact } from '../helpers/stack.js';
import { makeTlsMaterial } from '../helpers/tls.js';
import { startPrivateBuildkitd } from '../helpers/buildkit.js';

/**
 * setup-buildctl through its real bundle: a real BuildKit release tarball (built by the stack)
 * served by a real HTTP server, the real tool cache, the stack's buildkitd over unix and tcp, and a
 * buildkitd the action starts and its post step stops.
 */
const version = () => stackFact('BUILDKIT_VERSION');
const tarball = () => readFileSync(stackFact('BUILDKIT_TARBALL'));
const sha256 = () => stackFact('BUILDKIT_TARBALL_SHA256');

let server: Awaited<ReturnType<typeof startHttpServer>>;
let apiReleases: unknown = [];

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    const url = req.url ?? '';
    if (url.startsWith('/repos/moby/buildkit/releases')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(apiReleases));
    } else if (url === `/mirror/${version()}/buildkit-${version()}.linux-amd64.tar.gz`) {
      res.writeHead(200);
      res.end(tarball());
    } else if (url === `/mirror/${version()}/buildkit-${version()}.linux-amd64.tar.gz.sha256`) {
      res.writeHead(200);
      res.end(`${sha256()}  buildkit-${version()}.linux-amd64.tar.gz\n`);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
});
afterAll(() => server.close());

const mirror = () => `${server.url}/mirror/{version}/buildkit-{version}.linux-{arch}.tar.gz`;
const downloads = () => server.requests.filter(r => r.endsWith('.tar.gz')).length;

describe('setup-buildctl', () => {
  it('installs from a mirror (sidecar checksum), connects over unix, then hits the tool cache', async () => {
    const runner = newRunnerDirs();
    const before = downloads();
    const inputs = {
      version: version(),
      'download-url': mirror(),
      addr: stackFact('BUILDKIT_HOST'),
      timeout: '20s'
    };
    const first = await runMain('setup-buildctl', inputs, { runner });
    expect(first.exitCode).toBe(0);
    expect(first.outputs.version).toBe(version());
    expect(first.outputs.addr).toBe(stackFact('BUILDKIT_HOST'));
    expect((first.outputs.platforms ?? '').split(',')).toContain('linux/amd64');
    const buildctl = first.outputs.path ?? '';
    expect(buildctl).toBe(path.join(first.addedPath[0] ?? '', 'buildctl'));
    expect(buildctl.startsWith(runner.toolCache)).toBe(true);
    expect(existsSync(buildctl)).toBe(true);
    expect(first.exportedEnv.BUILDKIT_HOST).toBe(stackFact('BUILDKIT_HOST'));
    expect(first.stdout).toContain(`Verified sha256 ${sha256()}`);
    expect(first.summary).toContain('miss (downloaded and verified)');
    expect(downloads()).toBe(before + 1);
    // A builder not on the runner: buildctl alone was taken from the archive.
    expect(readdirSync(path.dirname(buildctl))).toEqual(['buildctl']);

    // The hit makes no request, so it loads none of node's HTTP modules; its one-line outputs and
    // state need no random delimiter, so node:crypto stays unloaded too.
    const probe = mkdtempSync(path.join(tmpdir(), 'builtins-'));
    const preload = path.join(probe, 'preload.cjs');
    const loaded = path.join(probe, 'loaded.txt');
    writeFileSync(
      preload,
      `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(loaded)}, process.moduleLoadList.join('\\n')));`
    );
    const second = await runMain('setup-buildctl', inputs, {
      runner,
      env: { NODE_OPTIONS: `--require ${preload}` }
    });
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toContain('found in the tool cache');
    expect(second.summary).toContain('| **Tool cache** | `hit` |');
    expect(downloads()).toBe(before + 1);
    const builtins = readFileSync(loaded, 'utf8').split('\n');
    expect(builtins).toContain('NativeModule child_process');
    expect(builtins.filter(m => /^NativeModule (http|https|tls|zlib|crypto)$/.test(m))).toEqual([]);
    rmSync(probe, { recursive: true, force: true });
    expect((await runPost('setup-buildctl', second)).exitCode).toBe(0);
  });

  it('resolves latest through the GitHub releases API and verifies the asset digest it publishes', async () => {
    apiReleases = [
      { tag_name: 'v99.0.0-rc1', assets: [] },
      {
        tag_name: version(),
        assets: [{ name: `buildkit-${version()}.linux-amd64.tar.gz`, digest: `sha256:${sha256()}` }]
      },
      { tag_name: 'v0.1.0', assets: [] }
    ];
    const run = await runMain('setup-buildctl', {
      version: 'latest',
      'github-api-url': server.url,
      'github-token': 'canary-token-5150',
      'download-url': mirror(),
      addr: stackFact('BUILDKIT_TCP_ADDR'),
      timeout: '20s'
    });
    expect(run.exitCode).toBe(0);
    expect(run.outputs.version).toBe(version());
    expect(run.outputs.addr).toBe(stackFact('BUILDKIT_TCP_ADDR'));
    expect(run.summary).toContain('GitHub releases');
    expect(visibleText(run)).not.toContain('canary-token-5150');
  });

  it('falls back to the pinned list with a warning when the API is unreachable', async () => {
    const run = await runMain('setup-buildctl', {
      version: 'latest',
      'github-api-url': 'http://127.0.0.1:9',
      'download-url': mirror(),
      addr: stackFact('BUILDKIT_HOST')
    });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(
      /::warning::Could not list BuildKit releases .*using v\d+\.\d+\.\d+ from Slipway's pinned list/
    );
    expect(run.outputs.version).toBe(version());
  });

  it('fails on a checksum mismatch, printing both digests', async () => {
    const runner = newRunnerDirs();
    const wrong = 'e'.repeat(64);
    const run = await runMain(
      'setup-buildctl',
      {
        version: version(),
        'download-url': mirror(),
        checksum: wrong,
        addr: stackFact('BUILDKIT_HOST')
      },
      { runner }
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(`expected sha256 ${wrong}, got ${sha256()}`);
    expect(existsSync(path.join(runner.toolCache, 'buildkit'))).toBe(false);
    expect(run.addedPath).toEqual([]);
  });

  it('starts a local buildkitd, and the post step stops it and removes its directory', async () => {
    const main = await runMain('setup-buildctl', {
      version: version(),
      'download-url': mirror(),
      addr: 'local',
      timeout: '60s'
    });
    expect(main.exitCode).toBe(0);
    const pid = Number(main.state.setup_buildkitd_pid);
    const dir = main.state.setup_buildkitd_dir ?? '';
    expect(pid).toBeGreaterThan(0);
    expect(main.outputs.addr).toBe(`unix://${path.join(dir, 'buildkitd.sock')}`);
    expect(dir.startsWith(main.runner.temp)).toBe(true);
    expect(main.outputs.platforms).toContain('linux/amd64');
    expect(() => process.kill(pid, 0)).not.toThrow();

    const post = await runPost('setup-buildctl', main);
    expect(post.exitCode).toBe(0);
    expect(post.stdout).toContain(`Stopped buildkitd (pid ${pid})`);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(existsSync(dir)).toBe(false);
  }, 120_000);

  it('fails at once with its log when the local buildkitd exits at start, and post still cleans up', async () => {
    const started = Date.now();
    const main = await runMain('setup-buildctl', {
      version: version(),
      'download-url': mirror(),
      addr: 'local',
      'buildkitd-flags': '--no-such-flag-slipway',
      timeout: '60s'
    });
    expect(main.exitCode).toBe(1);
    expect(main.stdout).toContain(
      '::error::buildkitd (rootful) exited before the builder answered.'
    );
    expect(main.stdout).toContain('no-such-flag-slipway');
    expect(Date.now() - started).toBeLessThan(30_000);
    const dir = main.state.setup_buildkitd_dir ?? '';
    expect(existsSync(dir)).toBe(true);
    const post = await runPost('setup-buildctl', main);
    expect(post.exitCode).toBe(0);
    expect(existsSync(dir)).toBe(false);
  }, 120_000);

  it('fails within the timeout, naming an unreachable builder', async () => {
    const started = Date.now();
    const run = await runMain('setup-buildctl', {
      version: version(),
      'download-url': mirror(),
      addr: 'tcp://127.0.0.1:9',
      timeout: '3s'
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      '::error::The BuildKit builder at tcp://127.0.0.1:9 is not reachable after 3.0 s'
    );
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('rejects a bad addr before downloading anything', async () => {
    const before = server.requests.length;
    const run = await runMain('setup-buildctl', {
      version: version(),
      'download-url': mirror(),
      addr: 'http://127.0.0.1:1234'
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /::error::Input "addr" must be local, kubernetes, kube-service:\/\/namespace\/service, kube-deployment:\/\/namespace\/deployment or a BuildKit address/
    );
    expect(server.requests.length).toBe(before);
  });
});

describe('setup-buildctl with a TLS builder', () => {
  const serverName = 'buildkitd.slipway.test';
  let tls: ReturnType<typeof makeTlsMaterial>;
  let daemon: ChildProcess;
  let addr: string;

  beforeAll(async () => {
    tls = makeTlsMaterial(serverName);
    // A second buildkitd (the stack's binary) that requires client certificates.
    ({ daemon, addr: addr } = startPrivateBuildkitd({
      root: path.join(tls.dir, 'root'),
      tls: { ca: tls.files.ca, cert: tls.files.serverCert, key: tls.files.serverKey }
    }));
  });
  afterAll(async () => {
    daemon.kill('SIGTERM');
    await new Promise(resolve => setTimeout(resolve, 500));
    rmSync(tls.dir, { recursive: true, force: true });
  });

  it('connects with a CA, a client certificate and a server name; files are private, masked and removed', async () => {
    const runner = newRunnerDirs();
    const run = await runMain(
      'setup-buildctl',
      {
        version: version(),
        'download-url': mirror(),
        addr,
        'tls-ca': tls.caPem,
        'tls-cert': tls.clientCertPem,
        'tls-key': tls.clientKeyPem,
        'tls-server-name': serverName,
        timeout: '30s'
      },
      { runner }
    );
    expect({ code: run.exitCode, log: run.exitCode ? run.stdout.slice(-2000) : '' }).toEqual({
      code: 0,
      log: ''
    });
    expect((run.outputs.platforms ?? '').split(',')).toContain('linux/amd64');
    const env = run.exportedEnv;
    expect(env.BUILDKIT_TLS_SERVER_NAME).toBe(serverName);
    for (const file of [env.BUILDKIT_TLS_CA, env.BUILDKIT_TLS_CERT, env.BUILDKIT_TLS_KEY]) {
      expect(file?.startsWith(runner.temp)).toBe(true);
      expect(statSync(file ?? '').mode & 0o777).toBe(0o600);
    }
    expect(readFileSync(env.BUILDKIT_TLS_KEY ?? '', 'utf8')).toBe(tls.clientKeyPem);
    const keyBody = tls.clientKeyPem.split('\n')[1] ?? '';
    expect(run.stdout).toContain(`::add-mask::${keyBody}`);
    expect(visibleText(run)).not.toContain(keyBody);

    // buildpack-build picks the TLS files up from the exported variables.
    const context = path.join(runner.workspace, 'app');
    mkdirSync(context);
    writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /x\n');
    const build = await runMain(
      'buildpack-build',
      { context, image: `${stackFact('REGISTRY_PLAIN')}/slipway/tls-${process.pid}`, tags: 'a' },
      { runner, env: { ...env, PATH: `${run.addedPath[0]}:${process.env.PATH ?? ''}` } }
    );
    expect({ code: build.exitCode, log: build.exitCode ? build.stdout.slice(-2000) : '' }).toEqual({
      code: 0,
      log: ''
    });
    expect(build.outputs.digest).toMatch(/^sha256:/);
    expect(build.stdout).toContain('--tlsservername');

    const post = await runPost('setup-buildctl', run);
    expect(post.exitCode).toBe(0);
    expect(existsSync(path.dirname(env.BUILDKIT_TLS_KEY ?? ''))).toBe(false);
  }, 120_000);

  it('fails within the timeout, naming the address, without the client certificate', async () => {
    const run = await runMain('setup-buildctl', {
      version: version(),
      'download-url': mirror(),
      addr,
      'tls-ca': tls.caPem,
      'tls-server-name': serverName,
      timeout: '5s'
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(`The BuildKit builder at ${addr} is not reachable after`);
  }, 60_000);
});

describe('setup-buildctl with addr: kubernetes', () => {
  // The pod's life cycle with an image the node cannot pull: created with the right spec, waited
  // for, the kubelet's reason named in the error, deleted by the post step.
  const namespace = `bk-pod-${process.pid}`;
  beforeAll(() => {
    kubectl(['create', 'namespace', namespace]);
  });
  afterAll(() => deleteNamespace(namespace));

  it('names the kubelet’s reason when the builder pod cannot start, and post deletes it', async () => {
    const run = await runMain(
      'setup-buildctl',
      {
        version: version(),
        'download-url': mirror(),
        addr: 'kubernetes',
        'builder-namespace': namespace,
        'builder-image': `${stackFact('REGISTRY_PLAIN')}/slipway/buildkit:missing`,
        'buildkitd-config': '[worker.oci]\n  gc = true\n',
        timeout: '6s'
      },
      { env: { KUBECONFIG: stackFact('KUBECONFIG') } }
    );
    const pods = JSON.parse(
      kubectl([
        'get',
        'pods',
        '-n',
        namespace,
        '-l',
        'app.kubernetes.io/managed-by=slipway',
        '-o',
        'json'
      ])
    ).items;
    expect(pods).toHaveLength(1);
    const pod = pods[0];
    const name: string = pod.metadata.name;
    expect(name).toMatch(/^slipway-buildkitd-[0-9a-f]{8}$/);
    expect(pod.spec.containers[0].image).toBe(
      `${stackFact('REGISTRY_PLAIN')}/slipway/buildkit:missing`
    );
    expect(pod.spec.containers[0].securityContext.privileged).toBe(true);
    const configMap = JSON.parse(
      kubectl(['get', 'configmap', name, '-n', namespace, '-o', 'json'])
    );
    expect(configMap.data['buildkitd.toml']).toContain('gc = true');
    expect(run.stdout).toContain(`Created builder pod ${namespace}/${name}`);
    // The pod lands on the real node, whose kubelet cannot pull an image that does not exist:
    // the wait names the pod, the reason and the kubelet's message, then gives up.
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      `::error::The builder pod ${namespace}/${name} did not become Ready within 6.0 s: ErrImagePull: `
    );
    expect(run.stdout).toContain(
      `${stackFact('REGISTRY_PLAIN')}/slipway/buildkit:missing: not found`
    );

    const post = await runPost(
      'setup-buildctl',
      run,
      {},
      { env: { KUBECONFIG: stackFact('KUBECONFIG') } }
    );
    expect(post.exitCode).toBe(0);
    expect(post.stdout).toContain(`Deleted builder pod ${namespace}/${name}`);
    expect(
      kubectl([
        'get',
        'pod,configmap',
        name,
        '-n',
        namespace,
        '--ignore-not-found',
        '-o',
        'name'
      ]).trim()
    ).toBe('');
  }, 120_000);
});
