import { beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot, runMain, visibleText } from '../helpers/action-runner.js';
import {
  applyRegistrySecret,
  kubectl,
  namespacesDeletedAfterAll,
  readyPodImageDigests
} from '../helpers/kube.js';
import { answerOf } from '../helpers/sample-app.js';
import { pathWithHelm, registryPassword, stackFact } from '../helpers/stack.js';

/**
 * helm-deploy-namespace's image pull secret on the real node: the sample app is pulled from the
 * TLS + htpasswd registry into a namespace that had no credentials, with a Secret the action made
 * from the job's registry login (DOCKER_CONFIG, as registry-login-from-secret leaves it) or copied
 * from another Secret. Without it the kubelet's pull is refused (node.test.ts).
 */
const chart = path.join(projectRoot, 'examples/charts/sample-app');
const newNamespace = namespacesDeletedAfterAll();

/** A job's registry login: the TLS registry's credentials, plus another registry's that must
 * not reach the namespace. */
function jobLogin(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pull-secret-login-'));
  const auth = (user: string, password: string) =>
    Buffer.from(`${user}:${password}`).toString('base64');
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({
      auths: {
        [stackFact('REGISTRY_TLS')]: { auth: auth(stackFact('REGISTRY_USER'), registryPassword()) },
        'other.registry.example': { auth: auth('someone', 'other-password-never-copied') }
      }
    }),
    { mode: 0o600 }
  );
  return dir;
}

const image = () => `${stackFact('SAMPLE_APP_IMAGE_TLS')}@${stackFact('SAMPLE_APP_V1_DIGEST')}`;
let dockerConfig: string;
const env = () => ({
  PATH: pathWithHelm(),
  KUBECONFIG: stackFact('KUBECONFIG'),
  DOCKER_CONFIG: dockerConfig
});
beforeAll(() => {
  dockerConfig = jobLogin();
});

function secret(namespace: string, name: string) {
  return JSON.parse(kubectl(['-n', namespace, 'get', 'secret', name, '-o', 'json'])) as {
    type: string;
    metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
    data: Record<string, string>;
  };
}

function storedAuths(namespace: string, name: string): string[] {
  const json = Buffer.from(secret(namespace, name).data['.dockerconfigjson'] ?? '', 'base64');
  return Object.keys(JSON.parse(json.toString('utf8')).auths);
}

describe('helm-deploy-namespace image-pull-secret', () => {
  it("makes the Secret from the job's login (the image's registry only); the chart's pods pull with it and answer", async () => {
    const namespace = newNamespace('ps-login');
    const run = await runMain(
      'helm-deploy-namespace',
      {
        release: 'web',
        namespace,
        chart,
        image: image(),
        'image-pull-secret': 'pulls',
        set: 'imagePullSecrets[0].name=pulls\nmessage=pulled with a made secret',
        timeout: '90s'
      },
      { env: env() }
    );
    expect({ code: run.exitCode, log: run.exitCode ? run.stdout.slice(-3000) : '' }).toEqual({
      code: 0,
      log: ''
    });
    expect(run.stdout).toContain(`Image pull secret pulls in ${namespace}: created`);
    const made = secret(namespace, 'pulls');
    expect(made.type).toBe('kubernetes.io/dockerconfigjson');
    expect(made.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('slipway');
    expect(made.metadata.annotations?.['slipway.dev/pull-secret-for']).toBe('web');
    expect(storedAuths(namespace, 'pulls')).toEqual([stackFact('REGISTRY_TLS')]);
    expect(await readyPodImageDigests(namespace)).toEqual([stackFact('SAMPLE_APP_V1_DIGEST')]);
    expect(await answerOf(kubectl, namespace, 'web-sample-app')).toBe(
      'pulled with a made secret (version 1.0.0)\n'
    );
    expect(visibleText(run)).not.toContain(registryPassword());

    // Rotated credentials (here: the stored copy went stale) are written again on the next deploy.
    kubectl([
      '-n',
      namespace,
      'patch',
      'secret',
      'pulls',
      '--type=merge',
      '-p',
      JSON.stringify({
        data: { '.dockerconfigjson': Buffer.from('{"auths":{}}').toString('base64') }
      })
    ]);
    const again = await runMain(
      'helm-deploy-namespace',
      {
        release: 'web',
        namespace,
        chart,
        image: image(),
        'image-pull-secret': 'pulls',
        set: 'imagePullSecrets[0].name=pulls'
      },
      { env: env() }
    );
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain(`Image pull secret pulls in ${namespace}: updated`);
    expect(storedAuths(namespace, 'pulls')).toEqual([stackFact('REGISTRY_TLS')]);
  }, 180_000);

  it('adds it to a ServiceAccount for charts with no pull-secret value; delete removes it once unused', async () => {
    const namespace = newNamespace('ps-sa');
    kubectl(['create', 'namespace', namespace]); // not Slipway's: kept by delete
    const deploy = (release: string) =>
      runMain(
        'helm-deploy-namespace',
        {
          release,
          namespace,
          chart,
          image: image(),
          'image-pull-secret': 'shared-pulls',
          'pull-secret-service-account': 'default',
          timeout: '90s'
        },
        { env: env() }
      );
    for (const release of ['one', 'two']) {
      const run = await deploy(release);
      expect({ code: run.exitCode, log: run.exitCode ? run.stdout.slice(-3000) : '' }).toEqual({
        code: 0,
        log: ''
      });
    }
    const account = JSON.parse(
      kubectl(['-n', namespace, 'get', 'serviceaccount', 'default', '-o', 'json'])
    );
    expect(account.imagePullSecrets).toEqual([{ name: 'shared-pulls' }]);
    expect(
      secret(namespace, 'shared-pulls').metadata.annotations?.['slipway.dev/pull-secret-for']
    ).toBe('one,two');
    expect(await answerOf(kubectl, namespace, 'two-sample-app')).toMatch(/\(version 1\.0\.0\)\n$/);

    const remove = (release: string) =>
      runMain(
        'helm-deploy-namespace',
        {
          action: 'delete',
          release,
          namespace,
          'image-pull-secret': 'shared-pulls',
          'pull-secret-service-account': 'default'
        },
        { env: env() }
      );
    const first = await remove('one');
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain(`Image pull secret shared-pulls in ${namespace}: kept`);
    expect(
      secret(namespace, 'shared-pulls').metadata.annotations?.['slipway.dev/pull-secret-for']
    ).toBe('two');
    const second = await remove('two');
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toContain(`Image pull secret shared-pulls in ${namespace}: deleted`);
    expect(
      kubectl([
        '-n',
        namespace,
        'get',
        'secret',
        'shared-pulls',
        '--ignore-not-found',
        '-o',
        'name'
      ])
    ).toBe('');
    const after = JSON.parse(
      kubectl(['-n', namespace, 'get', 'serviceaccount', 'default', '-o', 'json'])
    );
    expect(after.imagePullSecrets ?? []).toEqual([]);
  }, 240_000);

  it('copies image-pull-secret-from another namespace', async () => {
    const source = newNamespace('ps-src');
    kubectl(['create', 'namespace', source]);
    applyRegistrySecret(source, { name: 'ci-registry' });
    const namespace = newNamespace('ps-from');
    const run = await runMain(
      'helm-deploy-namespace',
      {
        release: 'web',
        namespace,
        chart,
        image: image(),
        'image-pull-secret': 'pulls',
        'image-pull-secret-from': `${source}/ci-registry`,
        'pull-secret-service-account': 'default',
        timeout: '90s'
      },
      // No job login at all: the credentials come from the named Secret.
      { env: { ...env(), DOCKER_CONFIG: '' } }
    );
    expect({ code: run.exitCode, log: run.exitCode ? run.stdout.slice(-3000) : '' }).toEqual({
      code: 0,
      log: ''
    });
    expect(storedAuths(namespace, 'pulls')).toEqual([stackFact('REGISTRY_TLS')]);
    expect(await readyPodImageDigests(namespace)).toEqual([stackFact('SAMPLE_APP_V1_DIGEST')]);
  }, 180_000);

  it('never overwrites a Secret it did not create, and changes nothing before saying so', async () => {
    const namespace = newNamespace('ps-foreign');
    kubectl(['create', 'namespace', namespace]);
    kubectl(['-n', namespace, 'create', 'secret', 'generic', 'pulls', '--from-literal=a=b']);
    const run = await runMain(
      'helm-deploy-namespace',
      { release: 'web', namespace, chart, image: image(), 'image-pull-secret': 'pulls' },
      { env: env() }
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      `Secret "pulls" in namespace "${namespace}" exists and was not created by Slipway`
    );
    expect(secret(namespace, 'pulls').data).toEqual({ a: Buffer.from('b').toString('base64') });
    expect(kubectl(['-n', namespace, 'get', 'deployments', '-o', 'name']).trim()).toBe('');
  }, 120_000);

  it('without any registry login fails before the namespace exists, naming what to do', async () => {
    const namespace = newNamespace('ps-nologin');
    const run = await runMain(
      'helm-deploy-namespace',
      { release: 'web', namespace, chart, image: image(), 'image-pull-secret': 'pulls' },
      { env: { ...env(), DOCKER_CONFIG: '' } }
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('image-pull-secret needs registry credentials');
    expect(run.stdout).toContain('registry-login-from-secret');
    expect(kubectl(['get', 'namespace', namespace, '--ignore-not-found', '-o', 'name'])).toBe('');
  }, 60_000);
});
