import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  newRunnerDirs,
  projectRoot,
  runMain,
  runPost,
  startMain,
  visibleText
} from '../helpers/action-runner.js';
import {
  buildStepTool,
  cleanUpKilledBuildkitd,
  startPrivateBuildkitd
} from '../helpers/buildkit.js';
import { startHttpServer } from '../helpers/http.js';
import { applyRegistrySecret, deleteNamespace, kubectl, uniqueName } from '../helpers/kube.js';
import { registryPassword, pathWithHelm, stackFact } from '../helpers/stack.js';

/**
 * Fault suite: real components stopped, unreachable, or answering errors. Each fault must give a
 * clear, secret-free error, retry only what is transient, keep the previous release serving, and
 * leave no credentials or builders behind. (Also covered elsewhere: registry 401 on verify and on
 * push, Secret 404, RBAC 403, unreachable builder, failed rollout rolled back, release stuck in
 * pending-upgrade — see the per-action suites.)
 */
const namespace = uniqueName('faults');
const chart = path.join(projectRoot, 'examples/charts/sample-app');

function applyDockerConfigSecret(name: string, server: string, password: string): void {
  applyRegistrySecret(namespace, { name, server, password });
}

/** A copy of the admin kubeconfig with another server or user, for API faults. */
function kubeconfigVariant(dir: string, edit: (yaml: string) => string): string {
  const file = path.join(dir, `kubeconfig-${randomBytes(3).toString('hex')}`);
  writeFileSync(file, edit(readFileSync(stackFact('KUBECONFIG'), 'utf8')), { mode: 0o600 });
  return file;
}

function leftovers(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [];
}

beforeAll(() => {
  kubectl(['create', 'namespace', namespace]);
});
afterAll(() => deleteNamespace(namespace));

describe('registry faults', () => {
  it('registry down: login fails naming the registry, retried as transient, nothing left', async () => {
    applyDockerConfigSecret('down', '127.0.0.1:25999', registryPassword());
    const runner = newRunnerDirs();
    const run = await runMain(
      'registry-login-from-secret',
      { 'secret-name': 'down', namespace },
      { runner, env: { KUBECONFIG: stackFact('KUBECONFIG') } }
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/::error::.*127\.0\.0\.1:25999/);
    expect(run.stdout).toMatch(/attempt 2/);
    expect(visibleText(run)).not.toContain(registryPassword());
    expect((await runPost('registry-login-from-secret', run)).exitCode).toBe(0);
    expect(leftovers(runner.temp)).toEqual([]);
  }, 120_000);

  it('registry 5xx: retried, then a clear error with the status; a 401 is not retried', async () => {
    let answer = 503;
    const server = await startHttpServer((_, res) => {
      res.writeHead(answer, answer === 401 ? { 'www-authenticate': 'Basic realm="r"' } : {});
      res.end();
    });
    try {
      const host = server.url.replace('http://', '');
      applyDockerConfigSecret('flaky', `http://${host}`, 'not-the-password');
      const runner = newRunnerDirs();
      const unavailable = await runMain(
        'registry-login-from-secret',
        { 'secret-name': 'flaky', namespace },
        { runner, env: { KUBECONFIG: stackFact('KUBECONFIG') } }
      );
      expect(unavailable.exitCode).toBe(1);
      expect(unavailable.stdout).toMatch(/::error::.*503/);
      const attempts = server.requests.length;
      expect(attempts).toBeGreaterThan(1);
      expect(leftovers(runner.temp)).toEqual([]);

      answer = 401;
      const denied = await runMain(
        'registry-login-from-secret',
        { 'secret-name': 'flaky', namespace },
        { env: { KUBECONFIG: stackFact('KUBECONFIG') } }
      );
      expect(denied.exitCode).toBe(1);
      expect(denied.stdout).toMatch(/::error::.*401/);
      // One anonymous probe and one with credentials: a 401 is not worth a retry.
      expect(server.requests.length - attempts).toBeLessThanOrEqual(2);
      expect(visibleText(denied)).not.toContain('not-the-password');
    } finally {
      await server.close();
    }
  }, 120_000);
});

describe('BuildKit faults', () => {
  let work: string;
  let daemon: ChildProcess | undefined;
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'faults-bk-'));
  });
  // The RUN step's command line, unique to this run: killed in afterAll with the daemon's mounts.
  const stepArgv = ['/step', 'wait', '300', `faults-${process.pid}`];
  afterAll(async () => {
    daemon?.kill('SIGKILL');
    await new Promise(resolve => setTimeout(resolve, 300));
    cleanUpKilledBuildkitd(work, stepArgv);
    rmSync(work, { recursive: true, force: true });
  });

  it('buildkitd killed mid-build (during a RUN step): the build fails naming the builder, within its timeout', async () => {
    const builder = startPrivateBuildkitd({ root: path.join(work, 'root') });
    daemon = builder.daemon;
    const addr = builder.addr;
    // A RUN step that says it started, then sleeps far longer than the test waits.
    const context = path.join(work, 'context');
    mkdirSync(context);
    buildStepTool(context);
    writeFileSync(
      path.join(context, 'Dockerfile'),
      `FROM scratch\nCOPY step /step\nRUN ${JSON.stringify(stepArgv).replace(/,/g, ', ')}\n`
    );
    await builder.ready();
    const started = Date.now();
    const running = startMain(
      'buildpack-build',
      {
        context,
        image: `${stackFact('REGISTRY_PLAIN')}/slipway/faults-${process.pid}`,
        addr,
        timeout: '60s'
      },
      { env: { PATH: `${stackFact('BUILDKIT_BIN_DIR')}:${process.env.PATH ?? ''}` } }
    );
    // Kill only once the step's own output is in the progress: the daemon dies during the build.
    let seen = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the RUN step never started:\n${seen}`)),
        45_000
      );
      running.child.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (/^#\d+ [\d.]+ step started$/m.test(seen)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    daemon.kill('SIGKILL');
    const killed = Date.now();
    const run = await running.done;
    expect(run.exitCode).toBe(1);
    const step = /^#(\d+) \[2\/2\] RUN \["\/step", "wait", "300", "faults-\d+"\]$/m.exec(
      run.stdout
    )?.[1];
    expect(step).toBeDefined();
    expect(run.stdout).not.toMatch(new RegExp(`^#${step} DONE`, 'm'));
    // The action's own error (an ::error:: annotation, not buildctl's echoed command line), once.
    // buildctl words the dropped connection as gRPC's `code = Unavailable desc = …` or as
    // `failed to solve: Unavailable: error reading from server: EOF`, depending on when it noticed.
    const errors = run.stdout.split('\n').filter(line => line.startsWith('::error'));
    expect(errors).toEqual([
      expect.stringMatching(
        new RegExp(
          `^::error::The BuildKit builder at ${addr.replace(/\./g, '\\.')} went away during the build: .*(code = Unavailable|Unavailable: )`
        )
      )
    ]);
    // No retry of a build whose builder died, no wait for the 60 s timeout.
    expect(run.stdout).not.toContain('attempt 2/');
    expect(Date.now() - killed).toBeLessThan(20_000);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(leftovers(path.join(run.runner.temp))).toEqual([]);
  }, 120_000);
});

describe('Kubernetes API faults', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'faults-kube-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('API server down: login and deploy name the server, after retries; nothing is left', async () => {
    const kubeconfig = kubeconfigVariant(dir, yaml =>
      yaml.replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:25998')
    );
    const runner = newRunnerDirs();
    const login = await runMain(
      'registry-login-from-secret',
      { 'secret-name': 'registry-credentials', namespace, kubeconfig },
      { runner }
    );
    expect(login.exitCode).toBe(1);
    expect(login.stdout).toContain(
      '::error::The Kubernetes API server at https://127.0.0.1:25998 is unreachable'
    );
    expect(login.stdout).toMatch(/attempt 2/);
    const deploy = await runMain(
      'helm-deploy-namespace',
      { release: 'web', namespace: uniqueName('faults-down'), chart, kubeconfig },
      { runner, env: { PATH: pathWithHelm() } }
    );
    expect(deploy.exitCode).toBe(1);
    expect(deploy.stdout).toContain('https://127.0.0.1:25998 is unreachable');
    expect(leftovers(runner.temp)).toEqual([]);
  }, 180_000);

  it('API server 401 (bad token): a clear message, not retried, the token never shown', async () => {
    const token = `bad-token-${randomBytes(8).toString('hex')}`;
    const kubeconfig = kubeconfigVariant(dir, yaml =>
      yaml
        .replace(/client-certificate(-data)?: .*\n/, '')
        .replace(/client-key(-data)?: .*\n/, `token: ${token}\n`)
    );
    const run = await runMain(
      'helm-deploy-namespace',
      {
        release: 'web',
        namespace: uniqueName('faults-401'),
        chart,
        kubeconfig
      },
      { env: { PATH: pathWithHelm() } }
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('rejected the credentials (401 Unauthorized)');
    expect(run.stdout).not.toMatch(/attempt 2/);
    expect(visibleText(run)).not.toContain(token);
  }, 120_000);

  it('API server 404 on a chart namespace that may not be created: says so, changes nothing', async () => {
    const missing = uniqueName('faults-missing');
    const run = await runMain(
      'helm-deploy-namespace',
      { release: 'web', namespace: missing, chart, 'create-namespace': 'false' },
      {
        env: {
          KUBECONFIG: stackFact('KUBECONFIG'),
          PATH: pathWithHelm()
        }
      }
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      `Namespace "${missing}" does not exist and create-namespace is false`
    );
    expect(kubectl(['get', 'namespace', missing, '--ignore-not-found', '-o', 'name']).trim()).toBe(
      ''
    );
  }, 60_000);
});

describe('disk faults', () => {
  let mountPoint: string;
  beforeAll(() => {
    mountPoint = mkdtempSync(path.join(tmpdir(), 'faults-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint]);
  });
  afterAll(() => {
    execFileSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('a full RUNNER_TEMP fails the install clearly and caches nothing', async () => {
    const runner = newRunnerDirs();
    const run = await runMain(
      'setup-buildctl',
      {
        version: stackFact('BUILDKIT_VERSION'),
        'download-url': stackFact('BUILDKIT_DOWNLOAD_URL'),
        addr: stackFact('BUILDKIT_HOST')
      },
      { runner: { ...runner, temp: mountPoint } }
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/::error::.*(ENOSPC|no space left)/i);
    expect(existsSync(path.join(runner.toolCache, 'buildkit'))).toBe(false);
  }, 120_000);
});
