import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot, runMain, startMain, type ActionRun } from '../helpers/action-runner.js';
import { kubectl, namespacesDeletedAfterAll, podImageDigests, waitUntil } from '../helpers/kube.js';
import { answerOf } from '../helpers/sample-app.js';
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
      writeFileSync(
        config,
        [
          'version: 0.1',
          'log: {level: info, formatter: text}',
          `storage: {filesystem: {rootdirectory: ${path.join(dir, 'data')}}}`,
          `http: {addr: "${host}", secret: ${randomBytes(16).toString('hex')}}`,
          ''
        ].join('\n')
      );
      const started = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
      const up = await waitUntil(
        `private registry on ${host}`,
        () => {
          if (started.exitCode !== null) return false;
          try {
            execFileSync('curl', ['-fsS', '-o', '/dev/null', `http://${host}/v2/`]);
            return true;
          } catch {
            return undefined;
          }
        },
        15_000
      );
      if (up) {
        registry = started;
        break;
      }
      if (attempt >= 3) throw new Error(`no private registry could listen near ${nodeIp()}:25600`);
    }
    // The sample app 1.0.0 and 2.0.0, copied from the stack's plain registry with their digests.
    for (const [tag, digest] of [
      ['v1', v1()],
      ['v2', v2()]
    ] as const) {
      execFileSync('skopeo', [
        'copy',
        '--quiet',
        '--preserve-digests',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        `docker://${stackFact('SAMPLE_APP_IMAGE_PLAIN')}@${digest}`,
        `docker://${host}/${repository}:${tag}`
      ]);
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
    expect(podImageDigests(namespace)).toEqual([v1()]);
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
    expect(podImageDigests(namespace)).toEqual([v1()]);
    expect(await answerOf(kubectl, namespace, 'web-sample-app')).toBe(
      'Hello from Slipway (version 1.0.0)\n'
    );
    console.log(
      `registry killed mid-pull: the deploy failed and rolled back ${failedAfterMs} ms later\n${error}`
    );
  }, 240_000);
});
