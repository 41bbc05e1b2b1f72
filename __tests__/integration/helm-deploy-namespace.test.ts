import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  newRunnerDirs,
  projectRoot,
  runMain,
  runPost,
  visibleText
} from '../helpers/action-runner.js';
import { kubectl, namespacesDeletedAfterAll } from '../helpers/kube.js';
import { startHttpServer } from '../helpers/http.js';
import { answerOf } from '../helpers/sample-app.js';
import { writeDockerConfig } from '../helpers/registry.js';
import { registryPassword, pathWithHelm, stackFact } from '../helpers/stack.js';

/**
 * helm-deploy-namespace through its real bundle against the stack's API server (RBAC on) and its
 * real node, with the real Helm 3 and Helm 4 binaries, deploying examples/charts/sample-app.
 */
const chart = path.join(projectRoot, 'examples/charts/sample-app');
const newNamespace = namespacesDeletedAfterAll();

/** PATH with only the chosen helm in front (the action must use it, not install one). */
function helmEnv(helm: string): Record<string, string> {
  return { PATH: pathWithHelm(helm), KUBECONFIG: stackFact('KUBECONFIG') };
}

/** The sample app the stack pushed, from the plain registry: these tests are about helm, not
 * pull credentials (node.test.ts and the root action's tests cover those). Deploys run for real on
 * the stack's node, so every release here pulls an image that exists and must become Ready. */
const repository = () => stackFact('SAMPLE_APP_IMAGE_PLAIN');
const digestOf = (version: 1 | 2) => stackFact(`SAMPLE_APP_V${version}_DIGEST`);
const app = (version: 1 | 2 = 1) => ({ image: repository(), digest: digestOf(version) });

function deployment(
  namespace: string,
  release: string
): {
  spec: {
    replicas: number;
    template: {
      spec: { containers: Array<{ image: string; env: Array<{ name: string; value: string }> }> };
      metadata: { annotations?: Record<string, string> };
    };
  };
  status: { readyReplicas?: number };
} {
  return JSON.parse(
    kubectl(['get', 'deployment', `${release}-sample-app`, '-n', namespace, '-o', 'json'])
  );
}

function replicaSets(namespace: string): number {
  return JSON.parse(kubectl(['get', 'replicasets', '-n', namespace, '-o', 'json'])).items.length;
}

function helmStatus(
  helm: string,
  release: string,
  namespace: string
): { version: number; info: { status: string } } {
  const out = spawnSyncText(helm, [
    'status',
    release,
    '-n',
    namespace,
    '-o',
    'json',
    '--kubeconfig',
    stackFact('KUBECONFIG')
  ]);
  return JSON.parse(out);
}

function spawnSyncText(tool: string, args: string[]): string {
  return execFileSync(tool, args, { encoding: 'utf8' });
}

describe.each([
  ['Helm 3', 'HELM3'],
  ['Helm 4', 'HELM4']
])('helm-deploy-namespace with %s', (_, fact) => {
  const helm = () => stackFact(fact);

  it('installs, then rolls out a new ReplicaSet when only the digest changes', async () => {
    const namespace = newNamespace('hdn-up');
    const inputs = {
      release: 'web',
      namespace,
      chart,
      image: `${repository()}:same-tag`,
      digest: digestOf(1),
      'namespace-labels': 'slipway.dev/pr=42',
      'namespace-annotations': 'slipway.dev/expires=2026-12-01T00:00:00Z',
      timeout: '60s'
    };
    const first = await runMain('helm-deploy-namespace', inputs, { env: helmEnv(helm()) });
    expect(first.exitCode).toBe(0);
    expect(first.outputs).toMatchObject({
      release: 'web',
      namespace,
      revision: '1',
      status: 'deployed'
    });
    expect(first.outputs['manifest-digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(first.stdout).toContain(`Using helm ${fact === 'HELM3' ? 'v3' : 'v4'}`);
    const ns = JSON.parse(kubectl(['get', 'namespace', namespace, '-o', 'json']));
    expect(ns.metadata.labels).toMatchObject({
      'slipway.dev/pr': '42',
      'app.kubernetes.io/managed-by': 'slipway'
    });
    expect(ns.metadata.annotations['slipway.dev/expires']).toBe('2026-12-01T00:00:00Z');
    expect(deployment(namespace, 'web').spec.template.spec.containers[0]?.image).toBe(
      `${repository()}@${inputs.digest}`
    );
    expect(first.summary).toContain('Deployment/web-sample-app 1/1');
    expect(first.summary).toContain('| **Chart** | `sample-app-0.1.0` |');
    const before = replicaSets(namespace);

    const second = await runMain(
      'helm-deploy-namespace',
      { ...inputs, digest: digestOf(2) },
      { env: helmEnv(helm()) }
    );
    expect(second.exitCode).toBe(0);
    expect(second.outputs).toMatchObject({ revision: '2', status: 'deployed' });
    expect(second.outputs['manifest-digest']).not.toBe(first.outputs['manifest-digest']);
    expect(deployment(namespace, 'web').spec.template.spec.containers[0]?.image).toBe(
      `${repository()}@${digestOf(2)}`
    );
    expect(replicaSets(namespace)).toBe(before + 1);
  }, 180_000);

  it('rolls back a rollout that never becomes Ready, prints diagnostics and fails', async () => {
    const namespace = newNamespace('hdn-fail');
    const good = {
      release: 'web',
      namespace,
      chart,
      image: `${repository()}@${digestOf(1)}`,
      timeout: '60s'
    };
    expect((await runMain('helm-deploy-namespace', good, { env: helmEnv(helm()) })).exitCode).toBe(
      0
    );

    const bad = await runMain(
      'helm-deploy-namespace',
      {
        ...good,
        image: `${repository()}@${digestOf(2)}`,
        set: 'nodeSelector.slipway\\.dev/pool=does-not-exist',
        timeout: '15s'
      },
      { env: helmEnv(helm()) }
    );
    expect(bad.exitCode).toBe(1);
    const text = visibleText(bad);
    expect(text).toContain('Diagnostics');
    expect(text).toMatch(/FailedScheduling|Unschedulable/);
    // The failing pod itself (not 'Pods not Ready: none'): described before the rollback.
    expect(text).toMatch(/Pods not Ready:\nPod web-sample-app-[a-z0-9-]+: phase Pending\n/);
    expect(text).toMatch(/Pod web-sample-app-[a-z0-9-]+: cannot be scheduled \(Unschedulable\)/);
    expect(text).toContain('rolled back: revision 3 serves the previous release');
    expect(bad.summary).toContain('helm-deploy-namespace: failed');
    expect(bad.outputs).toMatchObject({ revision: '3', status: 'deployed' });
    expect(helmStatus(helm(), 'web', namespace)).toMatchObject({
      version: 3,
      info: { status: 'deployed' }
    });
    // The previous image still serves.
    expect(deployment(namespace, 'web').spec.template.spec.containers[0]?.image).toBe(good.image);
  }, 240_000);

  it('recovers a release left pending by a killed helm only when asked', async () => {
    const namespace = newNamespace('hdn-pend');
    const base = { release: 'web', namespace, chart, ...app(), timeout: '60s' };
    expect((await runMain('helm-deploy-namespace', base, { env: helmEnv(helm()) })).exitCode).toBe(
      0
    );
    await leavePending(helm(), namespace);
    expect(helmStatus(helm(), 'web', namespace).info.status).toBe('pending-upgrade');

    const refused = await runMain('helm-deploy-namespace', base, { env: helmEnv(helm()) });
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toContain('is stuck in pending-upgrade (revision 2)');
    expect(refused.stdout).toContain('recover: rollback to roll back to revision 1');

    const recovered = await runMain(
      'helm-deploy-namespace',
      { ...base, recover: 'rollback' },
      { env: helmEnv(helm()) }
    );
    expect(recovered.exitCode).toBe(0);
    expect(recovered.stdout).toContain('Rolled back to revision 1');
    expect(recovered.outputs).toMatchObject({ revision: '4', status: 'deployed' });
  }, 240_000);
});

/** Starts a raw helm upgrade that cannot become Ready and kills it once the release is pending. */
async function leavePending(helm: string, namespace: string): Promise<void> {
  const child = spawn(
    helm,
    [
      'upgrade',
      '--install',
      'web',
      chart,
      '-n',
      namespace,
      '--kubeconfig',
      stackFact('KUBECONFIG'),
      '--set',
      'nodeSelector.pool=none',
      helm.includes('v4') ? '--wait=watcher' : '--wait',
      '--timeout',
      '5m'
    ],
    { stdio: 'ignore' }
  );
  const deadline = Date.now() + 60_000;
  try {
    while (Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 500));
      try {
        if (helmStatus(helm, 'web', namespace).info.status === 'pending-upgrade') return;
      } catch {
        // not readable yet
      }
    }
    throw new Error('the release never became pending-upgrade');
  } finally {
    child.kill('SIGKILL');
    await new Promise(resolve => setTimeout(resolve, 300));
  }
}

describe('helm-deploy-namespace (Helm 4)', () => {
  const env = () => helmEnv(stackFact('HELM4'));

  it('delivers escaped set values with commas, dots, quotes, brackets and backslashes intact', async () => {
    const namespace = newNamespace('hdn-set');
    const message = `a=b,c=--post-renderer=/bin/sh "double" 'single' [x] {y} back\\slash dots.in.value`;
    const run = await runMain(
      'helm-deploy-namespace',
      {
        release: 'web',
        namespace,
        chart,
        ...app(),
        // helm's --set grammar: a comma or backslash in a value is escaped with a backslash.
        set: `message=${message.replace(/[\\,]/g, '\\$&')}\npodAnnotations.example\\.com/note=v1\\,v2\nreplicaCount=2`,
        'set-string': 'podAnnotations.build=007'
      },
      { env: env() }
    );
    expect(run.exitCode).toBe(0);
    const spec = deployment(namespace, 'web').spec.template;
    expect(spec.spec.containers[0]?.env.find(e => e.name === 'MESSAGE')?.value).toBe(message);
    expect(spec.metadata.annotations).toEqual({ 'example.com/note': 'v1,v2', build: '007' });
    // No value was passed to helm as a --set argument.
    expect(run.stdout).not.toContain('--set');
    expect(run.stdout).not.toContain('post-renderer=/bin/sh "');
  }, 120_000);

  it('splits a comma list in set into assignments, as helm --set does', async () => {
    const namespace = newNamespace('hdn-list');
    const run = await runMain(
      'helm-deploy-namespace',
      {
        release: 'web',
        namespace,
        chart,
        ...app(),
        set: 'replicaCount=2,message=hi\\, there,podAnnotations.a\\.b=c'
      },
      { env: env() }
    );
    expect(run.exitCode).toBe(0);
    const { spec } = deployment(namespace, 'web');
    expect(spec.replicas).toBe(2);
    // Both replicas become Ready. A wait, not one read: on the loaded 2-core node a pod can miss
    // its probes right after helm's own wait ended (seen once in a CI simulation: 1 of 2 Ready).
    kubectl([
      'wait',
      '--for=jsonpath={.status.readyReplicas}=2',
      'deployment/web-sample-app',
      '-n',
      namespace,
      '--timeout=30s'
    ]);
    expect(spec.template.spec.containers[0]?.env.find(e => e.name === 'MESSAGE')?.value).toBe(
      'hi, there'
    );
    expect(spec.template.metadata.annotations).toEqual({ 'a.b': 'c' });
    expect(await answerOf(kubectl, namespace, 'web-sample-app')).toBe(
      'hi, there (version 1.0.0)\n'
    );
  }, 120_000);

  it('creates a labelled preview namespace, then action: delete removes release and namespace', async () => {
    const namespace = newNamespace('pr');
    const deployed = await runMain(
      'helm-deploy-namespace',
      {
        release: 'web',
        namespace,
        chart,
        ...app(),
        'namespace-labels': 'slipway.dev/preview=true'
      },
      { env: env() }
    );
    expect(deployed.exitCode).toBe(0);
    const removed = await runMain(
      'helm-deploy-namespace',
      { action: 'delete', release: 'web', namespace },
      { env: env() }
    );
    expect(removed.exitCode).toBe(0);
    expect(removed.outputs).toMatchObject({ status: 'uninstalled', 'namespace-deleted': 'true' });
    const phase = kubectl([
      'get',
      'namespace',
      namespace,
      '--ignore-not-found',
      '-o',
      'jsonpath={.status.phase}'
    ]);
    expect(['', 'Terminating']).toContain(phase);
  }, 120_000);

  it('keeps a namespace it did not create when deleting a release', async () => {
    const namespace = newNamespace('hdn-keep');
    kubectl(['create', 'namespace', namespace]);
    expect(
      (
        await runMain(
          'helm-deploy-namespace',
          { release: 'web', namespace, chart, ...app() },
          { env: env() }
        )
      ).exitCode
    ).toBe(0);
    const removed = await runMain(
      'helm-deploy-namespace',
      { action: 'delete', release: 'web', namespace },
      { env: env() }
    );
    expect(removed.exitCode).toBe(0);
    expect(removed.outputs['namespace-deleted']).toBe('false');
    expect(kubectl(['get', 'namespace', namespace, '-o', 'jsonpath={.status.phase}'])).toBe(
      'Active'
    );
    expect(kubectl(['get', 'deployments', '-n', namespace, '-o', 'name']).trim()).toBe('');
  }, 120_000);

  it('force: true replaces resources on Helm 4 (client-side, as --force-replace requires)', async () => {
    const namespace = newNamespace('hdn-force');
    const base = { release: 'web', namespace, chart, ...app() };
    expect((await runMain('helm-deploy-namespace', base, { env: env() })).exitCode).toBe(0);
    const forced = await runMain(
      'helm-deploy-namespace',
      { ...base, ...app(2), force: 'true' },
      { env: env() }
    );
    expect({
      code: forced.exitCode,
      log: forced.exitCode ? forced.stdout.slice(-1500) : ''
    }).toEqual({ code: 0, log: '' });
    expect(forced.outputs).toMatchObject({ revision: '2', status: 'deployed' });
    expect(deployment(namespace, 'web').spec.template.spec.containers[0]?.image).toBe(
      `${repository()}@${digestOf(2)}`
    );
  }, 120_000);

  it('dry-run renders and diffs without changing the release', async () => {
    const namespace = newNamespace('hdn-dry');
    const base = { release: 'web', namespace, chart, ...app(), set: 'message=first' };
    expect((await runMain('helm-deploy-namespace', base, { env: env() })).exitCode).toBe(0);
    const dry = await runMain(
      'helm-deploy-namespace',
      { ...base, set: 'message=second', 'dry-run': 'true' },
      { env: env() }
    );
    expect(dry.exitCode).toBe(0);
    expect(dry.outputs).toMatchObject({ status: 'dry-run', revision: '1' });
    expect(dry.stdout).toMatch(/-\s+value: "first"/);
    expect(dry.stdout).toMatch(/\+\s+value: "second"/);
    expect(helmStatus(stackFact('HELM4'), 'web', namespace).version).toBe(1);
  }, 120_000);

  it('set-context-namespace exports a private kubeconfig for later steps; post removes it', async () => {
    const namespace = newNamespace('hdn-ctx');
    const runner = newRunnerDirs();
    const run = await runMain(
      'helm-deploy-namespace',
      { release: 'web', namespace, chart, ...app(), 'set-context-namespace': 'true' },
      { env: env(), runner }
    );
    expect(run.exitCode).toBe(0);
    const file = run.outputs.kubeconfig ?? '';
    expect(run.exportedEnv.KUBECONFIG).toBe(file);
    expect(file.startsWith(runner.temp)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const config = parseYaml(readFileSync(file, 'utf8')) as {
      'current-context': string;
      contexts: Array<{ name: string; context: { namespace?: string } }>;
    };
    expect(config.contexts.find(c => c.name === config['current-context'])?.context.namespace).toBe(
      namespace
    );
    // kubectl with that file lands in the namespace without -n.
    const pods = spawnSyncText('kubectl', [
      '--kubeconfig',
      file,
      'get',
      'deployments',
      '-o',
      'name'
    ]);
    expect(pods.trim()).toBe('deployment.apps/web-sample-app');
    const post = await runPost('helm-deploy-namespace', run, {}, { env: env() });
    expect(post.exitCode).toBe(0);
    expect(existsSync(file)).toBe(false);
  }, 120_000);

  it('explains an RBAC-forbidden namespace create with the rule to grant', async () => {
    const namespace = newNamespace('hdn-rbac');
    const home = newNamespace('hdn-sa');
    kubectl(['create', 'namespace', home]);
    kubectl(['create', 'serviceaccount', 'deployer', '-n', home]);
    kubectl([
      'create',
      'clusterrole',
      `${home}-ns-read`,
      '--verb=get,list',
      '--resource=namespaces'
    ]);
    kubectl([
      'create',
      'clusterrolebinding',
      `${home}-ns-read`,
      `--clusterrole=${home}-ns-read`,
      `--serviceaccount=${home}:deployer`
    ]);
    const token = kubectl(['create', 'token', 'deployer', '-n', home]).trim();
    const kubeconfig = path.join(newRunnerDirs().temp, 'deployer.kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: deployer',
        'clusters:',
        '- name: stack',
        '  cluster:',
        `    server: ${stackFact('KUBE_APISERVER')}`,
        `    certificate-authority: ${stackFact('KUBE_CA')}`,
        'users:',
        '- name: deployer',
        '  user:',
        `    token: ${token}`,
        'contexts:',
        '- name: deployer',
        '  context:',
        '    cluster: stack',
        '    user: deployer',
        ''
      ].join('\n'),
      { mode: 0o600 }
    );
    const run = await runMain(
      'helm-deploy-namespace',
      { release: 'web', namespace, chart, kubeconfig },
      { env: env() }
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      `Forbidden: the Kubernetes credentials may not "create" resource "namespaces" (cluster-scoped)`
    );
    expect(run.stdout).toContain('kind: ClusterRole');
    expect(visibleText(run)).not.toContain(token);
    kubectl(['delete', 'clusterrolebinding,clusterrole', `${home}-ns-read`]);
  }, 120_000);

  it('rejects bad input before touching helm or the cluster', async () => {
    const namespace = newNamespace('hdn-bad');
    const run = await runMain(
      'helm-deploy-namespace',
      { release: 'web', namespace, chart, set: 'a=1\n--post-renderer=/bin/sh' },
      { env: { ...env(), PATH: '/nonexistent' } }
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      'Input "set" line 2, assignment 1: key "--post-renderer" starts with "-"'
    );
    expect(
      kubectl(['get', 'namespace', namespace, '--ignore-not-found', '-o', 'name']).trim()
    ).toBe('');
  }, 60_000);
});

describe('helm-deploy-namespace with an OCI chart', () => {
  const chartRepo = `oci://${stackFact('REGISTRY_TLS')}/slipway-charts-${process.pid}`;
  let dockerConfig: string;
  beforeAll(() => {
    // Publish the sample chart to the stack's TLS + auth registry with raw helm.
    dockerConfig = writeDockerConfig();
    const dir = mkdtempSync(path.join(tmpdir(), 'oci-chart-'));
    execFileSync(stackFact('HELM4'), ['package', chart, '--destination', dir], { stdio: 'ignore' });
    execFileSync(
      stackFact('HELM4'),
      [
        'push',
        path.join(dir, 'sample-app-0.1.0.tgz'),
        chartRepo,
        '--registry-config',
        path.join(dockerConfig, 'config.json'),
        '--ca-file',
        stackFact('REGISTRY_CA')
      ],
      { stdio: 'ignore' }
    );
  });

  // Helm 4 only: Helm 3.17 always speaks plain HTTP to loopback OCI registries, and the stack's
  // registry is TLS on 127.0.0.1 (Helm 3 gets the same --registry-config on real hosts).
  it.each([['Helm 4', 'HELM4']])(
    '%s pulls it with the registry login in DOCKER_CONFIG',
    async (_, fact) => {
      const namespace = newNamespace('hdn-oci');
      const inputs = {
        release: 'web',
        namespace,
        chart: `${chartRepo}/sample-app`,
        ...app(),
        'chart-version': '0.1.0',
        'ca-file': stackFact('REGISTRY_CA')
      };
      // Helm would find DOCKER_CONFIG's credentials by itself (and ~/.docker's): only the
      // --registry-config the action passes holds them here, with HOME empty.
      const home = mkdtempSync(path.join(tmpdir(), 'oci-home-'));
      const run = await runMain('helm-deploy-namespace', inputs, {
        env: { ...helmEnv(stackFact(fact)), DOCKER_CONFIG: dockerConfig, HOME: home }
      });
      expect({ code: run.exitCode, log: run.exitCode ? run.stdout.slice(-2000) : '' }).toEqual({
        code: 0,
        log: ''
      });
      expect(run.summary).toContain(`${chartRepo}/sample-app@0.1.0`);
      expect(run.stdout).toContain(`--registry-config ${path.join(dockerConfig, 'config.json')}`);
      expect(visibleText(run)).not.toContain(registryPassword());
    },
    120_000
  );

  it('fails clearly without credentials', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'no-docker-config-'));
    const run = await runMain(
      'helm-deploy-namespace',
      {
        release: 'web',
        namespace: newNamespace('hdn-oci-denied'),
        chart: `${chartRepo}/sample-app`,
        'chart-version': '0.1.0',
        'ca-file': stackFact('REGISTRY_CA')
      },
      { env: { ...helmEnv(stackFact('HELM4')), DOCKER_CONFIG: empty, HOME: empty } }
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /::error::helm upgrade --install web .*failed: .*(credential|unauthorized|401)/i
    );
  }, 60_000);
});

describe('helm-deploy-namespace with a chart repository', () => {
  it('installs name + repo-url + chart-version from a real HTTP chart repository (helm repo index)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'chart-repo-'));
    execFileSync(stackFact('HELM4'), ['package', chart, '--destination', dir], { stdio: 'ignore' });
    const server = await startHttpServer((req, res) => {
      const file = path.join(dir, path.basename(req.url ?? ''));
      if (existsSync(file)) {
        res.writeHead(200);
        res.end(readFileSync(file));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    try {
      execFileSync(stackFact('HELM4'), ['repo', 'index', dir, '--url', server.url], {
        stdio: 'ignore'
      });
      const home = mkdtempSync(path.join(tmpdir(), 'chart-repo-home-'));
      const namespace = newNamespace('hdn-repo');
      const run = await runMain(
        'helm-deploy-namespace',
        {
          release: 'web',
          namespace,
          chart: 'sample-app',
          ...app(),
          'repo-url': server.url,
          'chart-version': '0.1.0'
        },
        { env: { ...helmEnv(stackFact('HELM4')), HOME: home } }
      );
      expect({ code: run.exitCode, log: run.exitCode ? run.stdout.slice(-2000) : '' }).toEqual({
        code: 0,
        log: ''
      });
      expect(server.requests).toContain('GET /index.yaml');
      expect(server.requests).toContain('GET /sample-app-0.1.0.tgz');
      expect(deployment(namespace, 'web').status.readyReplicas).toBe(1);
    } finally {
      await server.close();
    }
  }, 120_000);
});

describe('helm-deploy-namespace installs helm', () => {
  it('downloads a verified helm from a mirror into the tool cache, then hits the cache', async () => {
    const namespace = newNamespace('hdn-inst');
    const runner = newRunnerDirs();
    // A PATH without helm: the action must install it.
    const env = { PATH: '/usr/bin:/bin', KUBECONFIG: stackFact('KUBECONFIG') };
    const inputs = {
      release: 'web',
      namespace,
      chart,
      ...app(),
      'helm-version': 'v3.17.3',
      'helm-download-url': stackFact('HELM_DOWNLOAD_URL')
    };
    const first = await runMain('helm-deploy-namespace', inputs, { env, runner });
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain('Verified sha256');
    expect(first.addedPath[0]).toContain(path.join(runner.toolCache, 'helm', '3.17.3'));
    const second = await runMain('helm-deploy-namespace', inputs, { env, runner });
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toContain('helm v3.17.3 found in the tool cache');
    expect(second.outputs.revision).toBe('2');
  }, 180_000);

  it('a helm download that fails leaves the cluster untouched (no namespace, so no lock either)', async () => {
    const namespace = newNamespace('hdn-nohelm');
    const run = await runMain(
      'helm-deploy-namespace',
      {
        release: 'web',
        namespace,
        chart,
        ...app(),
        'helm-version': 'v3.17.3',
        // The mirror answers 404 for this layout: no checksum, no archive.
        'helm-download-url': `${stackFact('HELM_DOWNLOAD_URL').replace(/\/[^/]*$/, '')}/missing/helm-{version}-linux-{arch}.tar.gz`
      },
      {
        env: { PATH: '/usr/bin:/bin', KUBECONFIG: stackFact('KUBECONFIG') },
        runner: newRunnerDirs()
      }
    );
    expect(run.exitCode).not.toBe(0);
    expect(run.stdout).toContain('No sha256 is published');
    expect(kubectl(['get', 'namespaces', '-o', 'name'])).not.toContain(`namespace/${namespace}\n`);
  }, 60_000);

  it('a cluster it cannot use leaves nothing in RUNNER_TEMP (its work dir is removed)', async () => {
    const runner = newRunnerDirs();
    const run = await runMain(
      'helm-deploy-namespace',
      { release: 'web', namespace: newNamespace('hdn-noctx'), chart, context: 'no-such-context' },
      { env: helmEnv(stackFact('HELM4')), runner }
    );
    expect(run.exitCode).not.toBe(0);
    expect(run.stdout).toContain('no-such-context');
    expect(readdirSync(runner.temp)).toEqual([]);
  }, 60_000);

  it('a helm on PATH answers its version while the namespace and lock are prepared', async () => {
    const namespace = newNamespace('hdn-bg');
    const run = await runMain(
      'helm-deploy-namespace',
      { release: 'web', namespace, chart, ...app() },
      { env: helmEnv(stackFact('HELM4')) }
    );
    expect(run.exitCode).toBe(0);
    const groups = run.stdout
      .split('\n')
      .filter(line => line.startsWith('::group::'))
      .map(line => line.slice('::group::'.length).split(' ')[0]);
    // The Helm group is printed when helm is first needed: after the cluster work it overlapped.
    expect(groups.slice(0, 4)).toEqual(['Namespace', 'Deploy', 'Helm', 'helm']);
    expect(run.stdout).toContain(`Using helm ${stackFact('HELM4_VERSION')} from PATH`);
  }, 120_000);
});
