import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  projectRoot,
  runMain,
  runPost,
  startMain,
  type ActionRun
} from '../helpers/action-runner.js';
import {
  copySampleApp,
  manifestDigest,
  servePlainRegistry,
  writePlainRegistryConfig
} from '../helpers/registry.js';
import {
  kubectl,
  namespacesDeletedAfterAll,
  readyPodImageDigests,
  waitUntil
} from '../helpers/kube.js';
import { answerOf, writeSampleAppContext } from '../helpers/sample-app.js';
import { pathWithHelm, stackDir, stackFact } from '../helpers/stack.js';

/**
 * Faults on the real node (issue 19, item 3): a registry that stops during the image pull, an API
 * server that restarts during the rollout wait, containerd restarting during a rollout, a builder
 * pod deleted mid-build. Each fault is injected into a private instance this file starts (never
 * the shared stack's registry, API server or buildkitd), except containerd, the node's only one:
 * that test restarts it quickly and runs last.
 */
const chart = path.join(projectRoot, 'examples/charts/sample-app');
const newNamespace = namespacesDeletedAfterAll();
const work = mkdtempSync(path.join(tmpdir(), 'faults-node-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const helmEnv = () => ({
  PATH: pathWithHelm(stackFact('HELM4')),
  KUBECONFIG: stackFact('KUBECONFIG')
});
const v1 = () => stackFact('SAMPLE_APP_V1_DIGEST');
const v2 = () => stackFact('SAMPLE_APP_V2_DIGEST');
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The ::error:: annotation's text, unescaped as the runner shows it. */
function errorAnnotation(run: ActionRun): string {
  const line = run.stdout.split('\n').find(l => l.startsWith('::error::'));
  if (!line) throw new Error(`no ::error:: annotation in:\n${run.stdout.slice(-4000)}`);
  return line
    .slice('::error::'.length)
    .replace(/%0D/g, '\r')
    .replace(/%0A/g, '\n')
    .replace(/%25/g, '%');
}

/** The lines of a log group, as the runner folds them. */
function logGroup(stdout: string, title: string): string {
  const start = stdout.indexOf(`::group::${title}\n`);
  if (start < 0) throw new Error(`no log group ${title} in:\n${stdout.slice(-4000)}`);
  const end = stdout.indexOf('::endgroup::', start);
  return stdout.slice(start, end < 0 ? undefined : end);
}

function releaseStatus(namespace: string): { version: number; status: string } | undefined {
  try {
    const out = execFileSync(
      stackFact('HELM4'),
      ['status', 'web', '-n', namespace, '-o', 'json', '--kubeconfig', stackFact('KUBECONFIG')],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }
    );
    const parsed = JSON.parse(out) as { version: number; info: { status: string } };
    return { version: parsed.version, status: parsed.info.status };
  } catch {
    return undefined;
  }
}

/** A succeeded run, or the end of its log in the failure message. */
function expectSuccess(run: ActionRun): void {
  expect({ code: run.exitCode, log: run.exitCode ? run.stdout.slice(-4000) : '' }).toEqual({
    code: 0,
    log: ''
  });
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise(resolve => child.once('exit', resolve));
}

/** A free-looking port in a range no stack component uses, distinct per test file run. */
function privatePort(base: number): number {
  return base + Math.floor(Math.random() * 90);
}

describe('registry stops during the image pull', () => {
  // A private Debian docker-registry (as components/20-registry.sh starts the plain one) on the
  // node's address, and a certs.d entry that tells the node's containerd to speak HTTP to it.
  const nodeIp = () => stackFact('NODE_IP');
  let port = 0;
  let host = '';
  let registry: ChildProcess | undefined;
  let hostsDir = '';
  const repository = `slipway/faults-app-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    const dir = path.join(work, 'registry');
    mkdirSync(dir);
    for (let attempt = 0; ; attempt++) {
      port = privatePort(25600);
      host = `${nodeIp()}:${port}`;
      const config = path.join(dir, 'config.yml');
      writePlainRegistryConfig(config, host, path.join(dir, 'data'));
      registry = await servePlainRegistry(config, host);
      if (registry) break;
      if (attempt >= 3) throw new Error(`no private registry could listen near ${nodeIp()}:25600`);
    }
    // The sample app 1.0.0 and 2.0.0, copied from the stack's plain registry with their digests.
    for (const [tag, digest] of [
      ['v1', v1()],
      ['v2', v2()]
    ] as const) {
      copySampleApp(digest, `${host}/${repository}:${tag}`);
    }
    hostsDir = path.join(stackDir(), 'node', 'certs.d', host);
    mkdirSync(hostsDir, { recursive: true });
    writeFileSync(
      path.join(hostsDir, 'hosts.toml'),
      `server = "http://${host}"\n\n[host."http://${host}"]\n  capabilities = ["pull", "resolve"]\n`
    );
  }, 120_000);

  afterAll(async () => {
    if (registry) {
      registry.kill('SIGKILL');
      await exited(registry);
    }
    if (hostsDir) rmSync(hostsDir, { recursive: true, force: true });
  });

  it('the pull of v2 breaks: the deploy fails naming the pull, rolls back, v1 still answers', async () => {
    const namespace = newNamespace('faults-pull');
    const image = (digest: string) => `${host}/${repository}@${digest}`;
    const base = { release: 'web', namespace, chart, timeout: '60s' };
    const first = await runMain(
      'helm-deploy-namespace',
      { ...base, image: image(v1()) },
      {
        env: helmEnv()
      }
    );
    expectSuccess(first);
    expect(await readyPodImageDigests(namespace)).toEqual([v1()]);
    expect(await answerOf(kubectl, namespace, 'web-sample-app')).toBe(
      'Hello from Slipway (version 1.0.0)\n'
    );

    // Frozen, the registry accepts the node's connection and never answers: the pull hangs until
    // the registry is killed under it.
    const pid = registry?.pid ?? 0;
    process.kill(pid, 'SIGSTOP');
    const deploy = startMain(
      'helm-deploy-namespace',
      { ...base, image: image(v2()), timeout: '30s' },
      { env: helmEnv() }
    );
    await waitUntil(
      `the node pulling ${image(v2())}`,
      () =>
        kubectl(['-n', namespace, 'get', 'events', '-o', 'jsonpath={.items[*].message}']).includes(
          `Pulling image "${image(v2())}"`
        )
          ? true
          : undefined,
      30_000
    );
    await new Promise(resolve => setTimeout(resolve, 1_000));
    const killed = Date.now();
    process.kill(pid, 'SIGKILL');
    if (registry) await exited(registry);
    const run = await deploy.done;
    const failedAfterMs = Date.now() - killed;

    expect(run.exitCode).toBe(1);
    const error = errorAnnotation(run);
    const diagnostics = logGroup(run.stdout, 'Diagnostics');
    const cannotPull = new RegExp(
      `Pod web-sample-app-[a-z0-9-]+: image ${escape(image(v2()))} cannot be pulled \\((ErrImagePull|ImagePullBackOff)\\)`
    );
    for (const [where, text] of [
      ['Diagnostics', diagnostics],
      ['::error::', error],
      ['summary', run.summary]
    ] as const) {
      expect({ where, cannotPull: cannotPull.test(text) }).toEqual({ where, cannotPull: true });
    }
    expect(error).toMatch(/^helm upgrade --install web into namespace .* failed/);
    expect(error).toContain(`the node cannot reach ${host}`);
    expect(error).toContain('rolled back: revision 3 serves the previous release.');
    expect(run.outputs).toMatchObject({ revision: '3', status: 'deployed' });
    expect(releaseStatus(namespace)).toEqual({ version: 3, status: 'deployed' });
    // The previous release still serves: its pod runs 1.0.0 and answers through its Service.
    expect(await readyPodImageDigests(namespace)).toEqual([v1()]);
    expect(await answerOf(kubectl, namespace, 'web-sample-app')).toBe(
      'Hello from Slipway (version 1.0.0)\n'
    );
    console.log(
      `registry killed mid-pull: the deploy failed and rolled back ${failedAfterMs} ms later\n${error}`
    );
  }, 240_000);
});

/**
 * A second kube-apiserver on the stack's etcd, with the stack's flags and certificates (as
 * components/50-kube.sh starts the first) on a port of its own, bound to loopback and leaving the
 * `kubernetes` Service's endpoint alone: killing it disturbs nobody else.
 */
function privateApiserver(dir: string) {
  const pki = path.join(stackDir(), 'kube', 'pki');
  const port = privatePort(25700);
  const binary = path.join(
    path.dirname(path.dirname(stackFact('HELM4'))),
    `kubernetes-${kubeVersion()}`,
    'kube-apiserver'
  );
  const args = [
    '--etcd-servers',
    'http://127.0.0.1:25379',
    '--bind-address',
    '127.0.0.1',
    '--secure-port',
    String(port),
    '--endpoint-reconciler-type=none',
    '--kubelet-preferred-address-types',
    'InternalIP,Hostname',
    '--kubelet-client-certificate',
    path.join(pki, 'apiserver-kubelet-client.pem'),
    '--kubelet-client-key',
    path.join(pki, 'apiserver-kubelet-client-key.pem'),
    '--tls-cert-file',
    path.join(pki, 'apiserver.pem'),
    '--tls-private-key-file',
    path.join(pki, 'apiserver-key.pem'),
    '--client-ca-file',
    path.join(pki, 'ca.pem'),
    '--service-account-issuer',
    'https://kubernetes.default.svc.cluster.local',
    '--service-account-key-file',
    path.join(pki, 'sa.pub'),
    '--service-account-signing-key-file',
    path.join(pki, 'sa.key'),
    '--service-cluster-ip-range',
    '10.96.0.0/16',
    '--authorization-mode',
    'Node,RBAC',
    '--allow-privileged=true',
    '--profiling=false'
  ];
  const server = `https://127.0.0.1:${port}`;
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    readFileSync(stackFact('KUBECONFIG'), 'utf8').replace(
      /server: https:\/\/127\.0\.0\.1:\d+/,
      `server: ${server}`
    ),
    { mode: 0o600 }
  );
  let daemon: ChildProcess | undefined;
  let starts = 0;
  const ready = () => {
    try {
      execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'get', '--raw', '/readyz'], {
        stdio: 'ignore',
        timeout: 5_000
      });
      return true;
    } catch {
      return undefined;
    }
  };
  return {
    server,
    kubeconfig,
    /** Starts it and waits until it is ready; returns how long that took. */
    async start(): Promise<number> {
      const started = Date.now();
      const log = openSync(path.join(dir, `apiserver-${++starts}.log`), 'a');
      daemon = spawn(binary, args, { stdio: ['ignore', log, log] });
      closeSync(log);
      await waitUntil(`the private kube-apiserver on ${server}`, ready, 90_000);
      return Date.now() - started;
    },
    async kill(): Promise<void> {
      if (!daemon) return;
      daemon.kill('SIGKILL');
      await exited(daemon);
      daemon = undefined;
    }
  };
}

function kubeVersion(): string {
  return execFileSync(
    'sed',
    [
      '-n',
      's/^KUBERNETES_VERSION="${KUBERNETES_VERSION:-\\(v[^}]*\\)}".*/\\1/p',
      path.join(projectRoot, 'scripts/stack/lib.sh')
    ],
    { encoding: 'utf8' }
  ).trim();
}

describe('the API server restarts during the rollout wait', () => {
  let apiserver: ReturnType<typeof privateApiserver>;
  beforeAll(async () => {
    const dir = path.join(work, 'apiserver');
    mkdirSync(dir);
    apiserver = privateApiserver(dir);
    await apiserver.start();
  }, 120_000);
  afterAll(() => apiserver.kill());

  it.each(['HELM4', 'HELM3'])(
    '%s and the action ride out the restart; the rollout is reported as it ended',
    async helm => {
      const namespace = newNamespace('faults-api');
      const env = { PATH: pathWithHelm(stackFact(helm)), KUBECONFIG: undefined };
      const plain = stackFact('SAMPLE_APP_IMAGE_PLAIN');
      const base = {
        release: 'web',
        namespace,
        chart,
        kubeconfig: apiserver.kubeconfig,
        timeout: '120s'
      };
      expectSuccess(
        await runMain('helm-deploy-namespace', { ...base, image: `${plain}@${v1()}` }, { env })
      );

      // Pods of revision 2 turn Ready 20 s after they start: helm waits that long.
      const deploy = startMain(
        'helm-deploy-namespace',
        { ...base, image: `${plain}@${v2()}`, set: 'readinessDelaySeconds=20' },
        { env }
      );
      await waitUntil(
        'release web pending-upgrade',
        () => (releaseStatus(namespace)?.status === 'pending-upgrade' ? true : undefined),
        60_000
      );
      // Killed 1 s before the deploy lock's next renewal (every 10 s): while the port is closed.
      const renewed = await waitUntil('the deploy lock', () => {
        const time = kubectl([
          '-n',
          namespace,
          'get',
          'lease',
          'slipway-deploy-web',
          '-o',
          'jsonpath={.spec.renewTime}'
        ]);
        return time ? new Date(time).getTime() : undefined;
      });
      let killAt = renewed + 9_000;
      while (killAt < Date.now()) killAt += 10_000;
      await new Promise(resolve => setTimeout(resolve, killAt - Date.now()));
      const killed = Date.now();
      await apiserver.kill();
      await new Promise(resolve => setTimeout(resolve, 2_500));
      const readyMs = await apiserver.start();
      const downMs = Date.now() - killed;
      const run = await deploy.done;
      console.log(
        `API server killed mid-wait, restarted 2.5 s later, ready after ${readyMs} ms (down ${downMs} ms); the step ended ${Date.now() - killed} ms after the kill, exit ${run.exitCode}\n` +
          run.stdout
            .split('\n')
            .filter(line => /Transient|error|warning|refused|reset|EOF|retry|watch/i.test(line))
            .join('\n')
      );
      expectSuccess(run);
      expect(run.stdout).toMatch(
        /Transient failure \w+ Lease "slipway-deploy-web" .*\(attempt 1\/4\).*ECONNREFUSED/
      );
      expect(run.outputs).toMatchObject({ revision: '2', status: 'deployed' });
      expect(releaseStatus(namespace)).toEqual({ version: 2, status: 'deployed' });
      expect(await readyPodImageDigests(namespace)).toEqual([v2()]);
      expect(await answerOf(kubectl, namespace, 'web-sample-app')).toBe(
        'Hello from Slipway (version 2.0.0)\n'
      );
    },
    300_000
  );
  it('an API server that stays down: a clear message, nothing rolled back blindly, post puts it back', async () => {
    const namespace = newNamespace('faults-api-down');
    const env = { PATH: pathWithHelm(stackFact('HELM4')), KUBECONFIG: undefined };
    const plain = stackFact('SAMPLE_APP_IMAGE_PLAIN');
    const base = { release: 'web', namespace, chart, kubeconfig: apiserver.kubeconfig };
    expectSuccess(
      await runMain(
        'helm-deploy-namespace',
        { ...base, image: `${plain}@${v1()}`, timeout: '60s' },
        { env }
      )
    );
    const inputs = {
      ...base,
      image: `${plain}@${v2()}`,
      set: 'readinessDelaySeconds=20',
      timeout: '15s'
    };
    const deploy = startMain('helm-deploy-namespace', inputs, { env });
    await waitUntil(
      'release web pending-upgrade',
      () => (releaseStatus(namespace)?.status === 'pending-upgrade' ? true : undefined),
      60_000
    );
    const killed = Date.now();
    await apiserver.kill();
    const run = await deploy.done;
    const gaveUpMs = Date.now() - killed;
    const readyMs = await apiserver.start();
    console.log(
      `API server down for good mid-wait: the step gave up ${gaveUpMs} ms after the kill\n${errorAnnotation(run)}\n` +
        run.stdout
          .split('\n')
          .filter(line => /Transient|warning/i.test(line))
          .join('\n')
    );
    expect(run.exitCode).toBe(1);
    const error = errorAnnotation(run);
    expect(error).toMatch(
      new RegExp(
        `^helm upgrade --install web into namespace ${namespace} failed.*; the release's state is unknown \\(helm status web failed: .*${escape(apiserver.server.replace('https://', ''))}.*connection refused\\)`
      )
    );
    expect(error).toContain('The Kubernetes API server did not answer, even after retries');
    expect(run.stdout).toMatch(/Transient failure helm status \(attempt 3\/4\)/);
    expect(run.stdout).not.toContain('nothing was installed');
    // Back up: the release this run left pending is put back by the post step.
    const post = await runPost('helm-deploy-namespace', run, inputs, { env });
    expect(post.exitCode).toBe(0);
    expect(post.stdout).toContain('Rolled back to revision 1');
    expect(releaseStatus(namespace)).toEqual({ version: 3, status: 'deployed' });
    expect(await readyPodImageDigests(namespace)).toEqual([v1()]);
    expect(await answerOf(kubectl, namespace, 'web-sample-app')).toBe(
      'Hello from Slipway (version 1.0.0)\n'
    );
    console.log(`restarted in ${readyMs} ms; post put the release back in ${post.durationMs} ms`);
  }, 300_000);
});

describe('a builder pod deleted mid-build', () => {
  it('the build fails naming the lost builder, nothing is pushed, post cleans up', async () => {
    const namespace = newNamespace('faults-bk');
    kubectl(['create', 'namespace', namespace]);
    const registry = stackFact('REGISTRY_PLAIN_IN_CLUSTER');
    const env = { KUBECONFIG: stackFact('KUBECONFIG'), PATH: process.env.PATH ?? '' };
    const setup = await runMain(
      'setup-buildctl',
      {
        version: stackFact('BUILDKIT_VERSION'),
        'download-url': stackFact('BUILDKIT_DOWNLOAD_URL'),
        addr: 'kubernetes',
        'builder-namespace': namespace,
        'builder-image': stackFact('BUILDKIT_IMAGE'),
        'buildkitd-config': `[registry."${registry}"]\n  http = true\n`,
        timeout: '90s'
      },
      { env }
    );
    expectSuccess(setup);
    const addr = setup.outputs.addr ?? '';
    const pod = addr.slice('kube-pod://'.length, addr.indexOf('?'));
    expect(pod).toMatch(/^slipway-buildkitd-[0-9a-f]{8}$/);

    // A RUN step that never ends on its own: the sample app's server, started by the build.
    const context = writeSampleAppContext(path.join(work, 'lost-builder'));
    writeFileSync(
      path.join(context, 'Dockerfile'),
      'FROM scratch\nCOPY sample-app /sample-app\nRUN ["/sample-app"]\n'
    );
    const repository = `slipway/faults-lost-${randomBytes(3).toString('hex')}`;
    const build = startMain(
      'buildpack-build',
      { context, image: `${registry}/${repository}`, tags: 'never', timeout: '120s' },
      {
        env: { ...env, ...setup.exportedEnv, PATH: [...setup.addedPath, env.PATH].join(':') }
      }
    );
    let progress = '';
    build.child.stdout?.on('data', chunk => (progress += chunk));
    // The RUN step has started: the app it runs says so in the build's progress output.
    await waitUntil(
      'the RUN step to start',
      () => (/^#\d+ [\d.]+ .*sample-app dev listening on :8080/m.test(progress) ? true : undefined),
      90_000
    );
    const deleted = Date.now();
    kubectl(['-n', namespace, 'delete', 'pod', pod, '--wait=false']);
    const run = await build.done;
    const failedAfterMs = Date.now() - deleted;

    expect(run.exitCode).toBe(1);
    const error = errorAnnotation(run);
    expect(error).toMatch(
      new RegExp(`^The BuildKit builder at ${escape(addr)} went away during the build: `)
    );
    expect(run.stdout).not.toMatch(/Transient failure running buildctl build/);
    expect(run.outputs.digest ?? '').toBe('');
    // Nothing reached the registry under that name.
    await expect(manifestDigest(stackFact('REGISTRY_PLAIN'), repository, 'never')).rejects.toThrow(
      /→ 404/
    );

    const post = await runPost('setup-buildctl', setup, {}, { env });
    expect(post.exitCode).toBe(0);
    expect(post.stdout).not.toContain('::warning::');
    expect(
      kubectl([
        '-n',
        namespace,
        'get',
        'pod,configmap',
        '-l',
        'app.kubernetes.io/managed-by',
        '-o',
        'name'
      ]).trim()
    ).toBe('');
    expect(
      kubectl(['-n', namespace, 'get', 'pod', pod, '--ignore-not-found', '-o', 'name']).trim()
    ).toBe('');
    console.log(
      `builder pod deleted mid-RUN: the step failed ${failedAfterMs} ms later\n${error}\npost:\n${post.stdout}`
    );
  }, 300_000);
});

/**
 * The node's containerd, stopped with SIGTERM and started again the way components/80-node.sh
 * starts it (its config, its log, its pid file, detached from this process). Running containers
 * outlive it (their shims do); only what asks containerd meanwhile waits or fails.
 */
function nodeContainerd() {
  const bin = path.dirname(stackFact('CTR'));
  const config = path.join(stackDir(), 'node', 'containerd', 'config.toml');
  const pidFile = path.join(stackDir(), 'pids', 'containerd.pid');
  const pid = () => Number(readFileSync(pidFile, 'utf8').trim());
  const running = () => {
    try {
      return readFileSync(`/proc/${pid()}/cmdline`, 'utf8').includes('containerd');
    } catch {
      return false;
    }
  };
  const answers = () => {
    try {
      execFileSync(stackFact('CTR'), ['--address', stackFact('CONTAINERD_ADDRESS'), 'version'], {
        stdio: 'ignore',
        timeout: 5_000
      });
      return true;
    } catch {
      return undefined;
    }
  };
  const start = () => {
    const log = openSync(path.join(stackDir(), 'logs', 'containerd.log'), 'a');
    const daemon = spawn(path.join(bin, 'containerd'), ['--config', config], {
      cwd: stackDir(),
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` }
    });
    closeSync(log);
    daemon.unref();
    writeFileSync(pidFile, `${daemon.pid}\n`);
  };
  return {
    running,
    /** SIGTERM, wait for the exit, start again, wait until it answers; the outage in ms. */
    async restart(): Promise<{ stoppedMs: number; outageMs: number }> {
      const old = pid();
      if (!running()) throw new Error(`containerd (pid file ${pidFile}) is not running`);
      const stopping = Date.now();
      process.kill(old, 'SIGTERM');
      // Gone, or a zombie its parent (the machine's init) has not reaped yet.
      const gone = () => {
        try {
          const stat = readFileSync(`/proc/${old}/stat`, 'utf8');
          return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') ? true : undefined;
        } catch {
          return true;
        }
      };
      await waitUntil('containerd to exit', gone, 10_000);
      const stoppedMs = Date.now() - stopping;
      start();
      await waitUntil('containerd to answer again', answers, 30_000);
      return { stoppedMs, outageMs: Date.now() - stopping };
    },
    /** The stack's node must not be left without containerd, whatever happened above. */
    ensureRunning(): void {
      if (!running()) start();
    }
  };
}

describe('containerd restarts during a rollout (the shared node: runs last)', () => {
  const containerd = nodeContainerd();
  afterAll(() => containerd.ensureRunning());

  it('the rollout completes, the node stays Ready, and the new revision answers', async () => {
    const namespace = newNamespace('faults-ctrd');
    const plain = stackFact('SAMPLE_APP_IMAGE_PLAIN');
    const base = { release: 'web', namespace, chart, timeout: '120s' };
    expectSuccess(
      await runMain(
        'helm-deploy-namespace',
        { ...base, image: `${plain}@${v1()}` },
        { env: helmEnv() }
      )
    );
    const deploy = startMain(
      'helm-deploy-namespace',
      { ...base, image: `${plain}@${v2()}`, set: 'readinessDelaySeconds=8' },
      { env: helmEnv() }
    );
    // Restarted while the new pod is being created and started on the node.
    await waitUntil(
      'a pod of revision 2',
      () =>
        kubectl([
          '-n',
          namespace,
          'get',
          'pods',
          '-o',
          'jsonpath={.items[*].spec.containers[0].image}'
        ]).includes(v2())
          ? true
          : undefined,
      60_000
    );
    const restarted = Date.now();
    const { stoppedMs, outageMs } = await containerd.restart();
    const run = await deploy.done;
    console.log(
      `containerd: SIGTERM → exit ${stoppedMs} ms, answering again after ${outageMs} ms; the step ended ${Date.now() - restarted} ms after the restart began, exit ${run.exitCode}`
    );
    expectSuccess(run);
    expect(run.outputs).toMatchObject({ revision: '2', status: 'deployed' });
    expect(releaseStatus(namespace)).toEqual({ version: 2, status: 'deployed' });
    expect(await readyPodImageDigests(namespace)).toEqual([v2()]);
    expect(await answerOf(kubectl, namespace, 'web-sample-app')).toBe(
      'Hello from Slipway (version 2.0.0)\n'
    );
    expect(
      kubectl([
        'get',
        'node',
        stackFact('NODE_NAME'),
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}'
      ])
    ).toBe('True');
  }, 300_000);
});
