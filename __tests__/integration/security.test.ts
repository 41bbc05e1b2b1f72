import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  newRunnerDirs,
  projectRoot,
  runMain,
  runPost,
  visibleText,
  type ActionRun,
  type RunnerDirs
} from '../helpers/action-runner.js';
import { applyRegistrySecret, deleteNamespace, kubectl, uniqueName } from '../helpers/kube.js';
import { registryPassword, pathWithHelm, stackFact } from '../helpers/stack.js';
import { makeTlsMaterial } from '../helpers/tls.js';
import { writeSampleAppContext } from '../helpers/sample-app.js';
import { startPrivateBuildkitd } from '../helpers/buildkit.js';

/**
 * Security suite, through the real bundles on the real stack.
 *  1. Canaries: a registry password (the stack's, random per machine), a GitHub token, a TLS client
 *     key and a BuildKit build secret travel through every action and the root action; afterwards
 *     no log, summary, output, exported variable, state file or leftover file holds any of them or
 *     their base64 forms, credentials files were 0600, and nothing was written outside RUNNER_TEMP,
 *     the workspace and the tool cache (HOME and TMPDIR are fresh directories that must stay empty).
 *  2. Bad input: a matrix of malformed inputs across every action, each rejected before any tool
 *     runs (sentinel `helm`, `buildctl`, `kubectl` and `timeout` first on PATH record any call),
 *     with an error naming the input, and nothing left behind.
 */

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter(entry => entry.isFile())
    .map(entry => path.join(entry.parentPath, entry.name));
}

function encodings(secret: string): string[] {
  return [secret, Buffer.from(secret).toString('base64')];
}

describe('canary secrets never leak', () => {
  const namespace = uniqueName('sec-canary');
  const deployNamespace = uniqueName('sec-deploy');
  const serverName = 'buildkitd.canary.test';
  const token = `ghs_canary${Date.now()}TOKEN`;
  const buildSecret = `build-secret-canary-${process.pid}-${Date.now()}`;
  let tls: ReturnType<typeof makeTlsMaterial>;
  let daemon: ChildProcess;
  let tlsAddr: string;
  let home: string;
  let tmp: string;

  beforeAll(async () => {
    kubectl(['create', 'namespace', namespace]);
    applyRegistrySecret(namespace);
    tls = makeTlsMaterial(serverName);
    ({ daemon, addr: tlsAddr } = startPrivateBuildkitd({
      root: path.join(tls.dir, 'root'),
      tls: { ca: tls.files.ca, cert: tls.files.serverCert, key: tls.files.serverKey }
    }));
    home = mkdtempSync(path.join(tmpdir(), 'sec-home-'));
    tmp = mkdtempSync(path.join(tmpdir(), 'sec-tmp-'));
  });
  afterAll(async () => {
    daemon.kill('SIGTERM');
    deleteNamespace(namespace);
    deleteNamespace(deployNamespace);
    await new Promise(resolve => setTimeout(resolve, 300));
    for (const dir of [tls.dir, home, tmp]) rmSync(dir, { recursive: true, force: true });
  });

  it('through setup → login → build → deploy and their post steps, and the root action', async () => {
    const runner = newRunnerDirs();
    const keyLines = tls.clientKeyPem.split('\n').filter(line => line && !line.startsWith('-----'));
    const canaries = [
      ...encodings(registryPassword()),
      Buffer.from(`${stackFact('REGISTRY_USER')}:${registryPassword()}`).toString('base64'),
      ...encodings(token),
      ...keyLines,
      ...encodings(buildSecret)
    ];
    const baseEnv = {
      KUBECONFIG: stackFact('KUBECONFIG'),
      HOME: home,
      TMPDIR: tmp,
      CANARY_BUILD_SECRET: buildSecret
    };
    const runs: ActionRun[] = [];
    const fileModes: Array<[string, number]> = [];
    let env: Record<string, string> = { ...baseEnv };
    const step = async (action: string, inputs: Record<string, string>) => {
      const run = await runMain(action, inputs, { runner, env });
      expect({
        action,
        code: run.exitCode,
        log: run.exitCode ? run.stdout.slice(-3000) : ''
      }).toEqual({
        action,
        code: 0,
        log: ''
      });
      runs.push(run);
      env = { ...env, ...run.exportedEnv };
      if (run.addedPath.length)
        env.PATH = `${run.addedPath.join(':')}:${env.PATH ?? process.env.PATH ?? ''}`;
      return run;
    };

    const setup = await step('setup-buildctl', {
      version: stackFact('BUILDKIT_VERSION'),
      'download-url': stackFact('BUILDKIT_DOWNLOAD_URL'),
      'github-token': token,
      addr: tlsAddr,
      'tls-ca': tls.caPem,
      'tls-cert': tls.clientCertPem,
      'tls-key': tls.clientKeyPem,
      'tls-server-name': serverName
    });
    const login = await step('registry-login-from-secret', {
      'secret-name': 'registry-credentials',
      namespace,
      'ca-file': stackFact('REGISTRY_CA')
    });
    for (const file of [
      path.join(login.exportedEnv.DOCKER_CONFIG ?? '', 'config.json'),
      setup.exportedEnv.BUILDKIT_TLS_KEY ?? ''
    ]) {
      fileModes.push([file, statSync(file).mode & 0o777]);
      expect(file.startsWith(runner.temp)).toBe(true);
    }
    // The sample app, so that the deploy below runs on the real node, pulled with a pull secret
    // made from this job's login (whose forms are canaries too).
    const context = writeSampleAppContext(path.join(runner.workspace, 'app'));
    const build = await step('buildpack-build', {
      context,
      image: `${stackFact('REGISTRY_TLS')}/slipway/${namespace}`,
      tags: 'canary',
      secrets: 'id=token,env=CANARY_BUILD_SECRET'
    });
    await step('helm-deploy-namespace', {
      release: 'web',
      namespace: deployNamespace,
      chart: path.join(projectRoot, 'examples/charts/sample-app'),
      image: build.outputs.imageref ?? '',
      'image-pull-secret': 'pulls',
      'pull-secret-service-account': 'default',
      'github-token': token,
      'set-context-namespace': 'true',
      'helm-version': 'v4.1.4',
      'helm-download-url': stackFact('HELM_DOWNLOAD_URL')
    });
    // Post steps in the runner's order (reverse), with each main step's saved state.
    const posts: ActionRun[] = [];
    for (const [action, main] of [
      ['helm-deploy-namespace', runs[3]],
      ['buildpack-build', runs[2]],
      ['registry-login-from-secret', runs[1]],
      ['setup-buildctl', runs[0]]
    ] as Array<[string, ActionRun]>) {
      const post = await runPost(action, main, {}, { env });
      expect({ action, code: post.exitCode }).toEqual({ action, code: 0 });
      posts.push(post);
    }

    // Every visible text, every command file, and every file left anywhere the actions could write.
    const texts = [...runs, ...posts].map(visibleText);
    const leftovers = [runner.temp, runner.commands, runner.workspace, home, tmp].flatMap(
      listFiles
    );
    for (const file of leftovers) texts.push(readFileSync(file, 'latin1'));
    const found = canaries.filter(canary => texts.some(text => text.includes(canary)));
    expect(found.map(canary => `${canary.slice(0, 6)}… (${canary.length} chars)`)).toEqual([]);
    for (const [file, mode] of fileModes) expect({ file, mode }).toEqual({ file, mode: 0o600 });
    // Credentials are gone after the post steps: only the build's workspace input remains.
    expect(listFiles(runner.temp)).toEqual([]);
    expect(listFiles(home)).toEqual([]);
    expect(listFiles(tmp)).toEqual([]);
  }, 240_000);

  it('the root action, with a canary token, leaves nothing behind either', async () => {
    const runner = newRunnerDirs();
    const target = uniqueName('sec-root');
    try {
      const env = {
        KUBECONFIG: stackFact('KUBECONFIG'),
        HOME: home,
        TMPDIR: tmp,
        PATH: pathWithHelm()
      };
      const main = await runMain(
        'slipway',
        {
          builder: stackFact('BUILDKIT_TCP_ADDR'),
          'buildkit-version': stackFact('BUILDKIT_VERSION'),
          'buildkit-download-url': stackFact('BUILDKIT_DOWNLOAD_URL'),
          'github-token': token,
          'secret-name': 'registry-credentials',
          'secret-namespace': namespace,
          'registry-ca-file': stackFact('REGISTRY_CA'),
          source: `${stackFact('SAMPLE_APP_GIT')}#v1.0.0:app`,
          image: `${stackFact('REGISTRY_TLS')}/slipway/${target}`,
          chart: path.join(projectRoot, 'examples/charts/sample-app'),
          release: 'web',
          namespace: target
        },
        { runner, env }
      );
      expect({ code: main.exitCode, log: main.exitCode ? main.stdout.slice(-3000) : '' }).toEqual({
        code: 0,
        log: ''
      });
      const post = await runPost('slipway', main, {}, { env });
      expect(post.exitCode).toBe(0);
      const texts = [
        visibleText(main),
        visibleText(post),
        ...listFiles(runner.commands).map(f => readFileSync(f, 'latin1'))
      ];
      const canaries = [...encodings(registryPassword()), ...encodings(token)];
      expect(canaries.filter(c => texts.some(t => t.includes(c))).length).toBe(0);
      expect(listFiles(runner.temp)).toEqual([]);
      expect(listFiles(home)).toEqual([]);
      expect(listFiles(tmp)).toEqual([]);
    } finally {
      deleteNamespace(target);
    }
  }, 240_000);
});

describe('bad input is rejected before any tool runs', () => {
  let sentinelDir: string;
  let marker: string;
  const watched = uniqueName('sec-bad');

  beforeAll(() => {
    sentinelDir = mkdtempSync(path.join(tmpdir(), 'sentinels-'));
    marker = path.join(sentinelDir, 'called');
    for (const tool of ['helm', 'buildctl', 'buildkitd', 'kubectl', 'timeout', 'tar', 'git']) {
      const file = path.join(sentinelDir, tool);
      writeFileSync(file, `#!/bin/sh\necho "${tool} $*" >> "${marker}"\nexit 97\n`);
      chmodSync(file, 0o755);
    }
  });
  afterAll(() => rmSync(sentinelDir, { recursive: true, force: true }));

  const tcp = { addr: 'tcp://127.0.0.1:1' };
  const deploy = {
    release: 'web',
    namespace: watched,
    chart: path.join(projectRoot, 'examples/charts/sample-app')
  };
  const build = { image: '127.0.0.1:25001/slipway/x', context: '.' };
  const login = { 'secret-name': 'registry-credentials' };
  const root = {
    'secret-name': 'registry-credentials',
    image: '127.0.0.1:25001/slipway/x',
    builder: 'tcp://127.0.0.1:1'
  };
  const cases: Array<[string, Record<string, string>, string]> = [
    // setup-buildctl
    ['setup-buildctl', { version: 'banana' }, 'version'],
    ['setup-buildctl', { version: 'v0.x.y; rm -rf /' }, 'version'],
    ['setup-buildctl', { 'download-url': 'ftp://mirror/buildkit.tgz' }, 'download-url'],
    ['setup-buildctl', { checksum: 'abc' }, 'checksum'],
    ['setup-buildctl', { addr: 'tcp://host' }, 'addr'],
    ['setup-buildctl', { addr: 'http://127.0.0.1:1234' }, 'addr'],
    ['setup-buildctl', { addr: 'unix:///run/buildkit.sock\nBUILDKIT_HOST=tcp://evil:1' }, 'addr'],
    ['setup-buildctl', { ...tcp, 'buildkitd-flags': '--debug' }, 'buildkitd-flags'],
    ['setup-buildctl', { timeout: 'forever' }, 'timeout'],
    ['setup-buildctl', { ...tcp, 'tls-ca': '/etc/ssl/certs/ca.pem' }, 'tls-ca'],
    [
      'setup-buildctl',
      { ...tcp, 'tls-key': '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----' },
      'tls-cert'
    ],
    ['setup-buildctl', { ...tcp, 'tls-server-name': 'host name' }, 'tls-server-name'],
    // registry-login-from-secret
    ['registry-login-from-secret', { 'secret-name': 'Bad_Name' }, 'secret-name'],
    ['registry-login-from-secret', { 'secret-name': '' }, 'secret-name'],
    ['registry-login-from-secret', { ...login, namespace: 'Kube System' }, 'namespace'],
    ['registry-login-from-secret', { ...login, namespace: 'ns\n::set-env name=X::y' }, 'namespace'],
    ['registry-login-from-secret', { ...login, format: 'xml' }, 'format'],
    ['registry-login-from-secret', { ...login, verify: 'maybe' }, 'verify'],
    // buildpack-build
    ['buildpack-build', { ...build, image: 'UPPER/Case' }, 'image'],
    ['buildpack-build', { ...build, image: '' }, 'image'],
    ['buildpack-build', { ...build, image: 'reg/app:tag\nBUILDKIT_HOST=tcp://evil:1' }, 'image'],
    ['buildpack-build', { ...build, tags: 'bad tag!' }, 'tags'],
    ['buildpack-build', { ...build, context: '../../../etc' }, 'context'],
    ['buildpack-build', { ...build, context: 'http://host/not-a-repo' }, 'context'],
    ['buildpack-build', { ...build, 'build-args': 'no-equals-sign' }, 'build-args'],
    ['buildpack-build', { ...build, 'build-args': '1BAD=x' }, 'build-args'],
    ['buildpack-build', { ...build, frontend: 'magic' }, 'frontend'],
    ['buildpack-build', { ...build, 'frontend-image': 'Not An Image' }, 'frontend-image'],
    ['buildpack-build', { ...build, addr: 'ftp://x' }, 'addr'],
    ['buildpack-build', { ...build, timeout: '0s' }, 'timeout'],
    ['buildpack-build', { ...build, push: 'perhaps' }, 'push'],
    // helm-deploy-namespace
    ['helm-deploy-namespace', { ...deploy, release: 'Bad_Release' }, 'release'],
    ['helm-deploy-namespace', { ...deploy, namespace: 'Kube System' }, 'namespace'],
    [
      'helm-deploy-namespace',
      { ...deploy, namespace: `${watched}\nKUBECONFIG=/evil` },
      'namespace'
    ],
    ['helm-deploy-namespace', { ...deploy, chart: '../../../etc' }, 'chart'],
    ['helm-deploy-namespace', { ...deploy, chart: '--post-renderer=/bin/sh' }, 'chart'],
    ['helm-deploy-namespace', { ...deploy, set: 'a=b,c=d\n--post-renderer=/bin/sh' }, 'set'],
    ['helm-deploy-namespace', { ...deploy, set: 'image..tag=1' }, 'set'],
    ['helm-deploy-namespace', { ...deploy, set: `big=${'x'.repeat(70_000)}` }, 'set'],
    ['helm-deploy-namespace', { ...deploy, values: '- not\n- a mapping' }, 'values'],
    ['helm-deploy-namespace', { ...deploy, 'values-files': '../../../etc/passwd' }, 'values-files'],
    ['helm-deploy-namespace', { ...deploy, timeout: 'soon' }, 'timeout'],
    ['helm-deploy-namespace', { ...deploy, atomic: 'yes' }, 'atomic'],
    ['helm-deploy-namespace', { ...deploy, 'history-max': '-5' }, 'history-max'],
    ['helm-deploy-namespace', { ...deploy, image: 'bad image' }, 'image'],
    ['helm-deploy-namespace', { ...deploy, image: 'reg/app', digest: 'xyz' }, 'digest'],
    ['helm-deploy-namespace', { ...deploy, recover: 'force' }, 'recover'],
    ['helm-deploy-namespace', { ...deploy, action: 'nuke' }, 'action'],
    ['helm-deploy-namespace', { ...deploy, 'namespace-labels': 'bad key=1' }, 'namespace-labels'],
    ['helm-deploy-namespace', { ...deploy, 'helm-version': 'four' }, 'helm-version'],
    ['helm-deploy-namespace', { ...deploy, 'repo-url': 'file:///etc' }, 'repo-url'],
    // root action (its own names)
    ['slipway', { ...root, source: 'http://host/not-a-repo' }, 'source'],
    ['slipway', { ...root, builder: 'carrier-pigeon' }, 'builder'],
    ['slipway', { ...root, chart: './chart', namespace: watched }, 'release'],
    [
      'slipway',
      { ...root, chart: deploy.chart, release: 'web', namespace: watched, 'deploy-timeout': 'x' },
      'deploy-timeout'
    ],
    [
      'slipway',
      { ...root, 'builder-tls-key': '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----' },
      'builder-tls-cert'
    ]
  ];

  it(`has at least 40 cases (${cases.length})`, () =>
    expect(cases.length).toBeGreaterThanOrEqual(40));

  // Titles show the action and input only: some values are 70 000 characters long.
  it.each(cases.map(([action, inputs, input], index) => ({ index, action, inputs, input })))(
    'case $index: $action refuses a bad $input',
    async ({ action, inputs, input }) => {
      rmSync(marker, { force: true });
      const runner: RunnerDirs = newRunnerDirs();
      const run = await runMain(action, inputs, {
        runner,
        env: {
          PATH: `${sentinelDir}:${process.env.PATH ?? ''}`,
          KUBECONFIG: stackFact('KUBECONFIG')
        }
      });
      expect(run.exitCode).toBe(1);
      const error = run.stdout.split('\n').find(line => line.startsWith('::error::')) ?? '';
      expect(error).toContain(`Input "${input}"`);
      expect(existsSync(marker) ? readFileSync(marker, 'utf8') : '').toBe('');
      expect(listFiles(runner.temp)).toEqual([]);
      expect(run.outputs).toEqual({});
      expect(run.exportedEnv).toEqual({});
    },
    30_000
  );

  it('left the watched namespace uncreated', () => {
    expect(kubectl(['get', 'namespace', watched, '--ignore-not-found', '-o', 'name']).trim()).toBe(
      ''
    );
  });
});
