import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { pushScratchImage } from '../helpers/buildkit.js';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  projectRoot,
  runMain,
  runPost,
  visibleText,
  type ActionRun
} from '../helpers/action-runner.js';
import { registryPassword, stackFact } from '../helpers/stack.js';

/**
 * registry-login-from-secret against the stack's real API server (RBAC on) and real TLS+htpasswd
 * registry, through the bundled entry point. Every run is scanned for the passwords afterwards.
 */
const ACTION = 'registry-login-from-secret';
const suffix = randomBytes(4).toString('hex');
const namespace = `slipway-rl-${suffix}`;

const kubeconfig = stackFact('KUBECONFIG');
const registry = stackFact('REGISTRY_TLS');
const registryCa = stackFact('REGISTRY_CA');
const user = stackFact('REGISTRY_USER');
const password = registryPassword();
/** A wrong password that must never show up anywhere either. */
const canary = `canary-${randomBytes(8).toString('hex')}`;
const forbidden = [
  password,
  canary,
  Buffer.from(`${user}:${password}`).toString('base64'),
  Buffer.from(`${user}:${canary}`).toString('base64'),
  Buffer.from(password).toString('base64'),
  Buffer.from(canary).toString('base64')
];

const work = mkdtempSync(path.join(tmpdir(), 'slipway-rl-it-'));
const runs: ActionRun[] = [];

function kubectl(args: string[], input?: string): string {
  const result = spawnSync('kubectl', args, {
    input,
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: kubeconfig }
  });
  if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

function applySecret(name: string, type: string, stringData: Record<string, string>): void {
  kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace },
      type,
      stringData
    })
  );
}

function dockerConfigJson(auths: Record<string, { username: string; password: string }>): string {
  return JSON.stringify({
    auths: Object.fromEntries(
      Object.entries(auths).map(([server, c]) => [
        server,
        { auth: Buffer.from(`${c.username}:${c.password}`).toString('base64') }
      ])
    )
  });
}

/** A kubeconfig for a ServiceAccount that may do nothing (no RoleBinding at all). */
function serviceAccountKubeconfig(): string {
  kubectl(['create', 'serviceaccount', 'no-secrets', '-n', namespace]);
  const token = kubectl([
    'create',
    'token',
    'no-secrets',
    '-n',
    namespace,
    '--duration',
    '1h'
  ]).trim();
  const file = path.join(work, 'sa-kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: stack\n  cluster:\n    server: ${stackFact('KUBE_APISERVER')}\n    certificate-authority: ${stackFact('KUBE_CA')}`,
      'users:',
      `- name: no-secrets\n  user:\n    token: ${token}`,
      'contexts:',
      `- name: sa\n  context:\n    cluster: stack\n    user: no-secrets\n    namespace: ${namespace}`,
      'current-context: sa',
      ''
    ].join('\n'),
    { mode: 0o600 }
  );
  return file;
}

/** The admin kubeconfig with the test namespace as the context default. */
function namespacedAdminKubeconfig(): string {
  const file = path.join(work, 'admin-kubeconfig');
  writeFileSync(file, kubectl(['config', 'view', '--raw', '--flatten']), { mode: 0o600 });
  kubectl([
    'config',
    'set-context',
    '--current',
    `--namespace=${namespace}`,
    `--kubeconfig=${file}`
  ]);
  return file;
}

let saKubeconfig = '';
let adminKubeconfig = '';

beforeAll(() => {
  kubectl(['create', 'namespace', namespace]);
  applySecret('docker-creds', 'kubernetes.io/dockerconfigjson', {
    '.dockerconfigjson': dockerConfigJson({
      [registry]: { username: user, password },
      'other.example.com': { username: 'someone', password: canary }
    })
  });
  applySecret('key-creds', 'Opaque', { server: registry, username: user, password });
  applySecret('bad-creds', 'Opaque', { server: registry, user, token: canary });
  applySecret('odd-keys', 'Opaque', { host: registry, login: user, pw: password });
  saKubeconfig = serviceAccountKubeconfig();
  adminKubeconfig = namespacedAdminKubeconfig();
}, 60_000);

afterAll(() => {
  kubectl(['delete', 'namespace', namespace, '--wait=false']);
});

async function login(
  inputs: Record<string, string>,
  env: Record<string, string | undefined> = {}
): Promise<ActionRun> {
  const run = await runMain(ACTION, inputs, { env: { KUBECONFIG: kubeconfig, ...env } });
  runs.push(run);
  return run;
}

async function post(main: ActionRun, env: Record<string, string | undefined> = {}) {
  const run = await runPost(ACTION, main, {}, { env: { KUBECONFIG: kubeconfig, ...env } });
  runs.push(run);
  return run;
}

/** The failure message as the runner shows it (`::error::` with %0A-encoded newlines). */
function errorText(run: ActionRun): string {
  const line = run.stdout.split('\n').find(l => l.startsWith('::error::')) ?? '';
  return line
    .slice('::error::'.length)
    .replace(/%0A/g, '\n')
    .replace(/%0D/g, '\r')
    .replace(/%25/g, '%');
}

/**
 * `::add-mask::<value>` lines are how a secret reaches the runner's masker; the runner consumes
 * them and never prints them, so they are the one place a secret may appear on stdout.
 */
function withoutMaskCommands(text: string): string {
  return text
    .split('\n')
    .filter(line => !line.startsWith('::add-mask::'))
    .join('\n');
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map(entry => path.join(dir, entry))
    .filter(file => statSync(file).isFile());
}

function helmPushChart(dockerConfig: string) {
  const helm = stackFact('HELM4');
  const home = mkdtempSync(path.join(work, 'helm-home-'));
  const env = { ...process.env, HOME: home, DOCKER_CONFIG: dockerConfig };
  const chartDir = path.join(projectRoot, 'examples', 'charts', 'sample-app');
  const packaged = spawnSync(helm, ['package', chartDir, '-d', home], { encoding: 'utf8', env });
  if (packaged.status !== 0) throw new Error(`helm package failed: ${packaged.stderr}`);
  const archive = readdirSync(home).find(file => file.endsWith('.tgz')) ?? '';
  return spawnSync(
    helm,
    [
      'push',
      path.join(home, archive),
      `oci://${registry}/slipway-rl-${suffix}`,
      '--ca-file',
      registryCa
    ],
    { encoding: 'utf8', env, timeout: 60_000 }
  );
}

describe('registry-login-from-secret', () => {
  it('dockerconfigjson: verifies, merges into DOCKER_CONFIG, buildctl pushes with it, post cleans up', async () => {
    const previous = path.join(work, 'previous-docker-config');
    mkdirSync(previous, { recursive: true });
    writeFileSync(
      path.join(previous, 'config.json'),
      JSON.stringify({ auths: { 'keep.example.com': { auth: 'a2VlcDprZWVw' } } })
    );
    const run = await login(
      {
        'secret-name': 'docker-creds',
        namespace,
        registry,
        'ca-file': registryCa,
        'export-env': 'true'
      },
      { DOCKER_CONFIG: previous }
    );
    expect({ exitCode: run.exitCode, error: errorText(run) }).toEqual({ exitCode: 0, error: '' });

    const dir = run.outputs['docker-config'] ?? '';
    expect(run.outputs).toMatchObject({ registry, username: user });
    expect(path.dirname(dir)).toBe(run.runner.temp);
    expect(run.exportedEnv).toEqual({
      DOCKER_CONFIG: dir,
      REGISTRY_SERVER: registry,
      REGISTRY_USER: user
    });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const configFile = path.join(dir, 'config.json');
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    const written = JSON.parse(readFileSync(configFile, 'utf8')) as {
      auths: Record<string, { auth: string }>;
    };
    expect(Object.keys(written.auths).sort()).toEqual([registry, 'keep.example.com'].sort());
    expect(written.auths[registry]?.auth).toBe(
      Buffer.from(`${user}:${password}`).toString('base64')
    );
    expect(run.stdout).toContain(`accepted user "${user}" (basic auth)`);
    expect(run.summary).toContain(`Secret ${namespace}/docker-creds`);

    // The config is used for real: buildctl (client-side auth) pushes to the htpasswd registry.
    const image = `${registry}/slipway/registry-login-it:${suffix}`;
    const pushed = pushScratchImage(image, dir, `hello ${suffix}\n`);
    expect({ status: pushed.status, stderr: pushed.status === 0 ? '' : pushed.stderr }).toEqual({
      status: 0,
      stderr: ''
    });
    // …and without it the same push is refused, so the credentials made the difference.
    const anonymous = pushScratchImage(
      image,
      mkdtempSync(path.join(work, 'empty-config-')),
      `hello ${suffix}\n`
    );
    expect(anonymous.status).not.toBe(0);
    expect(anonymous.stderr).toMatch(/401|unauthorized|authorization/i);

    // Helm (OCI charts) reads the same config: helm 4 pushes a chart with it, from an empty HOME.
    const chart = helmPushChart(dir);
    expect({ status: chart.status, stderr: chart.status === 0 ? '' : chart.stderr }).toEqual({
      status: 0,
      stderr: ''
    });
    expect(chart.stdout + chart.stderr).toContain(`Pushed: ${registry}/slipway-rl-${suffix}/`);

    const cleanup = await post(run, { DOCKER_CONFIG: dir });
    expect(cleanup.exitCode).toBe(0);
    expect(existsSync(dir)).toBe(false);
    expect(cleanup.exportedEnv).toEqual({ DOCKER_CONFIG: previous });

    const leftBehind = filesUnder(path.dirname(run.runner.temp));
    expect(leftBehind.length).toBeGreaterThan(0);
    for (const file of leftBehind) {
      const text = readFileSync(file, 'utf8');
      for (const value of forbidden)
        expect({ file, leaks: text.includes(value) }).toEqual({ file, leaks: false });
    }
  }, 180_000);

  it('keys: namespace from the kubeconfig context, CA from NODE_EXTRA_CA_CERTS, post unsets DOCKER_CONFIG', async () => {
    const run = await login(
      { 'secret-name': 'key-creds', format: 'keys', kubeconfig: adminKubeconfig },
      { NODE_EXTRA_CA_CERTS: registryCa, DOCKER_CONFIG: undefined, HOME: work }
    );
    expect({ exitCode: run.exitCode, error: errorText(run) }).toEqual({ exitCode: 0, error: '' });
    expect(run.outputs).toMatchObject({ registry, username: user });
    expect(run.stdout).toContain(`Reading Secret ${namespace}/key-creds`);
    const written = JSON.parse(
      readFileSync(path.join(run.outputs['docker-config'] ?? '', 'config.json'), 'utf8')
    ) as { auths: Record<string, unknown> };
    expect(Object.keys(written.auths)).toEqual([registry]);
    const cleanup = await post(run);
    expect(cleanup.exportedEnv).toEqual({ DOCKER_CONFIG: '' });
    expect(filesUnder(run.runner.temp)).toEqual([]);
  }, 60_000);

  it('keys with alternative names via the *-key inputs, verify off', async () => {
    const run = await login({
      'secret-name': 'odd-keys',
      namespace,
      'server-key': 'host',
      'username-key': 'login',
      'password-key': 'pw',
      verify: 'false'
    });
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({ registry, username: user });
    expect(run.summary).toContain('no (verify: false)');
    expect((await post(run)).exitCode).toBe(0);
  }, 60_000);

  it('dockerconfigjson without a registry selection writes every registry in it', async () => {
    const run = await login({ 'secret-name': 'docker-creds', namespace, verify: 'false' });
    expect(run.exitCode).toBe(0);
    const written = JSON.parse(
      readFileSync(path.join(run.outputs['docker-config'] ?? '', 'config.json'), 'utf8')
    ) as { auths: Record<string, unknown> };
    expect(Object.keys(written.auths)).toEqual(
      expect.arrayContaining([registry, 'other.example.com'])
    );
    expect(run.outputs.registry).toBe(registry);
    expect((await post(run)).exitCode).toBe(0);
  }, 60_000);

  it('verify: a wrong password fails with 401 pointing at the Secret, and writes nothing', async () => {
    const run = await login({ 'secret-name': 'bad-creds', namespace, 'ca-file': registryCa });
    expect(run.exitCode).toBe(1);
    expect(errorText(run)).toContain(
      `Registry ${registry} rejected the credentials of user "${user}" from Secret ${namespace}/bad-creds (401 Unauthorized`
    );
    expect(filesUnder(run.runner.temp)).toEqual([]);
    expect(run.exportedEnv).toEqual({});
  }, 60_000);

  it('RBAC: a ServiceAccount without get secrets gets the missing verb and the Role rule', async () => {
    const run = await login({ 'secret-name': 'docker-creds', kubeconfig: saKubeconfig });
    expect(run.exitCode).toBe(1);
    const text = errorText(run);
    expect(text).toContain(
      `Forbidden: the Kubernetes credentials may not "get" resource "secrets" in namespace "${namespace}"`
    );
    expect(text).toContain(`system:serviceaccount:${namespace}:no-secrets`);
    expect(text).toContain(
      [
        'kind: Role',
        'metadata:',
        '  name: slipway-get-secrets',
        `  namespace: ${namespace}`,
        'rules:',
        '  - apiGroups: [""]',
        '    resources: ["secrets"]',
        '    verbs: ["get"]',
        '    resourceNames: ["docker-creds"]'
      ].join('\n')
    );
  }, 60_000);

  it('not found: names the namespace and the Secret', async () => {
    const run = await login({ 'secret-name': 'no-such-secret', namespace });
    expect(run.exitCode).toBe(1);
    expect(errorText(run)).toContain(
      `Secret "no-such-secret" in namespace "${namespace}" was not found`
    );
  }, 60_000);

  it('wrong keys and wrong type: list the keys present, never values', async () => {
    const keys = await login({ 'secret-name': 'odd-keys', namespace });
    expect(keys.exitCode).toBe(1);
    expect(errorText(keys)).toContain(
      `Secret ${namespace}/odd-keys has no key "server" (keys present: host, login, pw).`
    );
    const type = await login({ 'secret-name': 'key-creds', namespace, format: 'dockerconfigjson' });
    expect(type.exitCode).toBe(1);
    expect(errorText(type)).toContain(
      `Secret ${namespace}/key-creds has type "Opaque", not "kubernetes.io/dockerconfigjson"`
    );
  }, 60_000);

  it('no password, auth string or canary in any output of any run', () => {
    expect(runs.length).toBeGreaterThanOrEqual(11);
    for (const run of runs) {
      const text = withoutMaskCommands(visibleText(run)) + JSON.stringify(run.state);
      for (const value of forbidden) expect(text.includes(value)).toBe(false);
      for (const file of filesUnder(path.dirname(run.runner.temp))) {
        const content = readFileSync(file, 'utf8');
        for (const value of forbidden) {
          expect({ file, leaks: content.includes(value) }).toEqual({ file, leaks: false });
        }
      }
    }
  });
});
