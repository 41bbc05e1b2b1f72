import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot, runMain, type ActionRun } from '../helpers/action-runner.js';
import { kubectl, namespacesDeletedAfterAll } from '../helpers/kube.js';
import { pathWithHelm, stackFact } from '../helpers/stack.js';

/**
 * helm-deploy-namespace inputs through the real Helm 3 and Helm 4 binaries on the stack's node,
 * each checked by its effect in the cluster (the Deployment's rendered spec, the release's
 * revisions as helm's storage Secrets, the namespace), not by log lines.
 */
const chart = path.join(projectRoot, 'examples/charts/sample-app');
const newNamespace = namespacesDeletedAfterAll();
const repository = () => stackFact('SAMPLE_APP_IMAGE_PLAIN');
const digestOf = (version: 1 | 2) => stackFact(`SAMPLE_APP_V${version}_DIGEST`);
const app = (version: 1 | 2 = 1) => ({ image: repository(), digest: digestOf(version) });
const env = (helm = 'HELM4') => ({
  PATH: pathWithHelm(stackFact(helm)),
  KUBECONFIG: stackFact('KUBECONFIG')
});
const work = mkdtempSync(path.join(tmpdir(), 'helm-inputs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Deployment {
  metadata: { labels?: Record<string, string> };
  spec: {
    template: {
      metadata: { annotations?: Record<string, string> };
      spec: {
        nodeSelector?: Record<string, string>;
        containers: Array<{ image: string; env: Array<{ name: string; value: string }> }>;
      };
    };
  };
  status: { readyReplicas?: number };
}

function deployment(namespace: string, release = 'web'): Deployment {
  return JSON.parse(
    kubectl(['get', 'deployment', `${release}-sample-app`, '-n', namespace, '-o', 'json'])
  );
}

const message = (d: Deployment) =>
  d.spec.template.spec.containers[0]?.env.find(e => e.name === 'MESSAGE')?.value;

/** The release's revisions as helm stores them (Secrets owner=helm), oldest first. */
function revisions(namespace: string, release = 'web'): Array<{ version: number; status: string }> {
  const list = JSON.parse(
    kubectl(['get', 'secrets', '-n', namespace, '-l', `owner=helm,name=${release}`, '-o', 'json'])
  ) as { items: Array<{ metadata: { labels: Record<string, string> } }> };
  return list.items
    .map(s => ({
      version: Number(s.metadata.labels.version),
      status: s.metadata.labels.status ?? ''
    }))
    .sort((a, b) => a.version - b.version);
}

function namespacePhase(namespace: string): string {
  return kubectl([
    'get',
    'namespace',
    namespace,
    '--ignore-not-found',
    '-o',
    'jsonpath={.status.phase}'
  ]);
}

function deploy(inputs: Record<string, string>, helm = 'HELM4'): Promise<ActionRun> {
  return runMain('helm-deploy-namespace', inputs, { env: env(helm) });
}

function expectOk(run: ActionRun): void {
  expect({ code: run.exitCode, log: run.exitCode ? run.stdout.slice(-2000) : '' }).toEqual({
    code: 0,
    log: ''
  });
}

describe('helm-deploy-namespace inputs through real helm', () => {
  it('values-files in order, then values, then set: each later source wins, earlier keys stay', async () => {
    const namespace = newNamespace('canfail-values');
    const first = path.join(work, 'first.yaml');
    const second = path.join(work, 'second.yaml');
    writeFileSync(first, 'message: from first\npodAnnotations:\n  first: "1"\n  shared: first\n');
    writeFileSync(second, 'message: from second\npodAnnotations:\n  shared: second\n');
    const run = await deploy({
      release: 'web',
      namespace,
      chart,
      ...app(),
      'values-files': `${first}\n${second}`,
      values: 'podAnnotations:\n  inline: "yes"\nenv:\n  - name: FROM_VALUES\n    value: inline\n',
      // A string helm's YAML 1.1 would read as a boolean, were it written bare.
      'set-string': 'podAnnotations.flag=on'
    });
    expectOk(run);
    const d = deployment(namespace);
    expect(message(d)).toBe('from second');
    expect(d.spec.template.metadata.annotations).toEqual({
      first: '1',
      shared: 'second',
      inline: 'yes',
      flag: 'on'
    });
    expect(d.spec.template.spec.containers[0]?.env).toContainEqual({
      name: 'FROM_VALUES',
      value: 'inline'
    });
    // set is applied after values: it overrides an inline key.
    const again = await deploy({
      release: 'web',
      namespace,
      chart,
      ...app(),
      'values-files': first,
      values: 'message: inline',
      set: 'message=from set'
    });
    expectOk(again);
    expect(message(deployment(namespace))).toBe('from set');
  }, 180_000);

  it('image-values maps the image into a packaged (.tgz) chart’s own value paths', async () => {
    // A copy of the sample chart that reads its image from app.repo / app.sha, packaged by helm.
    const source = path.join(work, 'custom-chart');
    cpSync(chart, source, { recursive: true });
    const helpers = path.join(source, 'templates', '_helpers.tpl');
    const tpl = readFileSync(helpers, 'utf8');
    const custom = tpl
      .replace(/\.Values\.image\.repository/g, '.Values.app.repo')
      .replace(/\.Values\.image\.digest/g, '.Values.app.sha');
    expect(custom).not.toBe(tpl);
    writeFileSync(helpers, custom);
    writeFileSync(
      path.join(source, 'values.yaml'),
      readFileSync(path.join(source, 'values.yaml'), 'utf8') +
        '\napp:\n  repo: 127.0.0.1:25000/slipway/not-this-one\n  sha: ""\n'
    );
    const packaged = mkdtempSync(path.join(work, 'tgz-'));
    execFileSync(stackFact('HELM4'), ['package', source, '--destination', packaged], {
      stdio: 'ignore'
    });
    const tgz = path.join(packaged, 'sample-app-0.1.0.tgz');
    const namespace = newNamespace('canfail-imgvals');
    const run = await deploy({
      release: 'web',
      namespace,
      chart: tgz,
      ...app(2),
      'image-values': 'repository=app.repo\ndigest=app.sha'
    });
    expectOk(run);
    const d = deployment(namespace);
    expect(d.spec.template.spec.containers[0]?.image).toBe(`${repository()}@${digestOf(2)}`);
    expect(d.status.readyReplicas).toBe(1);
    expect(run.outputs).toMatchObject({ revision: '1', status: 'deployed' });
  }, 180_000);

  it('history-max keeps that many revisions', async () => {
    const namespace = newNamespace('canfail-history');
    for (const n of [1, 2, 3, 4]) {
      const run = await deploy({
        release: 'web',
        namespace,
        chart,
        ...app(),
        set: `message=revision ${n}`,
        'history-max': '2',
        wait: 'false',
        atomic: 'false'
      });
      expectOk(run);
      expect(run.outputs.revision).toBe(String(n));
    }
    expect(revisions(namespace).map(r => r.version)).toEqual([3, 4]);
  }, 180_000);

  it('wait: false (with atomic: false) returns once helm has applied a rollout that can never be Ready', async () => {
    const namespace = newNamespace('canfail-nowait');
    const run = await deploy({
      release: 'web',
      namespace,
      chart,
      ...app(),
      set: 'nodeSelector.slipway\\.dev/pool=does-not-exist',
      wait: 'false',
      atomic: 'false',
      timeout: '60s'
    });
    expectOk(run);
    expect(run.outputs).toMatchObject({ revision: '1', status: 'deployed' });
    expect(run.durationMs).toBeLessThan(45_000);
    const d = deployment(namespace);
    expect(d.spec.template.spec.nodeSelector).toEqual({ 'slipway.dev/pool': 'does-not-exist' });
    expect(d.status.readyReplicas ?? 0).toBe(0);
  }, 120_000);

  it('atomic: false leaves a failed upgrade failed (no rollback): revision 2 failed, its spec live', async () => {
    const namespace = newNamespace('canfail-noatomic');
    const base = { release: 'web', namespace, chart, ...app(), timeout: '60s' };
    expectOk(await deploy(base));
    const bad = await deploy({
      ...base,
      set: 'nodeSelector.slipway\\.dev/pool=does-not-exist',
      timeout: '15s',
      atomic: 'false'
    });
    expect(bad.exitCode).toBe(1);
    // No rollback (atomic would add revision 3 from revision 1): 1 stays the deployed one.
    expect(revisions(namespace)).toEqual([
      { version: 1, status: 'deployed' },
      { version: 2, status: 'failed' }
    ]);
    expect(deployment(namespace).spec.template.spec.nodeSelector).toEqual({
      'slipway.dev/pool': 'does-not-exist'
    });
  }, 180_000);

  it.each([
    ['Helm 3', 'HELM3'],
    ['Helm 4', 'HELM4']
  ])(
    'force: true replaces the Deployment with %s (a label added out of band is gone)',
    async (_, helm) => {
      const namespace = newNamespace('canfail-force');
      const base = { release: 'web', namespace, chart, ...app() };
      expectOk(await deploy(base, helm));
      const label = (): string | undefined =>
        deployment(namespace).metadata.labels?.['canfail-extra'];
      kubectl(['label', '-n', namespace, 'deployment', 'web-sample-app', 'canfail-extra=kept']);
      // Without force, helm patches: the extra label stays.
      expectOk(await deploy({ ...base, set: 'message=patched' }, helm));
      expect(label()).toBe('kept');
      const forced = await deploy({ ...base, set: 'message=replaced', force: 'true' }, helm);
      expectOk(forced);
      expect(forced.outputs).toMatchObject({ revision: '3', status: 'deployed' });
      expect(label()).toBeUndefined();
      expect(message(deployment(namespace))).toBe('replaced');
    },
    180_000
  );

  it('delete-namespace: true deletes a namespace Slipway did not create; false keeps one it did', async () => {
    const theirs = newNamespace('canfail-del-true');
    kubectl(['create', 'namespace', theirs]);
    expectOk(await deploy({ release: 'web', namespace: theirs, chart, ...app(), wait: 'false' }));
    const removed = await deploy({
      action: 'delete',
      release: 'web',
      namespace: theirs,
      'delete-namespace': 'true'
    });
    expectOk(removed);
    expect(removed.outputs['namespace-deleted']).toBe('true');
    expect(['', 'Terminating']).toContain(namespacePhase(theirs));

    const ours = newNamespace('canfail-del-false');
    expectOk(await deploy({ release: 'web', namespace: ours, chart, ...app(), wait: 'false' }));
    const kept = await deploy({
      action: 'delete',
      release: 'web',
      namespace: ours,
      'delete-namespace': 'false'
    });
    expectOk(kept);
    expect(kept.outputs['namespace-deleted']).toBe('false');
    expect(namespacePhase(ours)).toBe('Active');
    expect(revisions(ours)).toEqual([]);
  }, 180_000);

  it('never deletes a namespace that still holds another release, even with delete-namespace: true', async () => {
    const namespace = newNamespace('canfail-shared');
    for (const release of ['web', 'api']) {
      expectOk(await deploy({ release, namespace, chart, ...app(), wait: 'false' }));
    }
    const removed = await deploy({
      action: 'delete',
      release: 'web',
      namespace,
      'delete-namespace': 'true'
    });
    expectOk(removed);
    expect(removed.outputs).toMatchObject({ status: 'uninstalled', 'namespace-deleted': 'false' });
    expect(namespacePhase(namespace)).toBe('Active');
    expect(revisions(namespace, 'web')).toEqual([]);
    expect(revisions(namespace, 'api')).toEqual([{ version: 1, status: 'deployed' }]);
    expect(deployment(namespace, 'api').spec.template.spec.containers[0]?.image).toBe(
      `${repository()}@${digestOf(1)}`
    );
  }, 180_000);
});

describe('helm-deploy-namespace with Helm 3', () => {
  let ociChart = '';
  beforeAll(() => {
    // Helm 3.17 speaks plain HTTP to loopback registries: the chart goes to the plain registry.
    const packaged = mkdtempSync(path.join(work, 'oci-'));
    execFileSync(stackFact('HELM3'), ['package', chart, '--destination', packaged], {
      stdio: 'ignore'
    });
    const repo = `oci://${stackFact('REGISTRY_PLAIN')}/canfail-charts-${process.pid}`;
    execFileSync(stackFact('HELM3'), ['push', path.join(packaged, 'sample-app-0.1.0.tgz'), repo], {
      stdio: 'ignore'
    });
    ociChart = `${repo}/sample-app`;
  }, 60_000);

  it('set, dry-run, then delete', async () => {
    const namespace = newNamespace('canfail-h3');
    const base = { release: 'web', namespace, chart, ...app() };
    const first = await deploy(
      { ...base, set: 'message=hi\\, helm 3,podAnnotations.a\\.b=c\nreplicaCount=1' },
      'HELM3'
    );
    expectOk(first);
    expect(first.stdout).toContain('Using helm v3');
    expect(message(deployment(namespace))).toBe('hi, helm 3');
    expect(deployment(namespace).spec.template.metadata.annotations).toEqual({ 'a.b': 'c' });

    const dry = await deploy({ ...base, set: 'message=second', 'dry-run': 'true' }, 'HELM3');
    expectOk(dry);
    expect(dry.outputs).toMatchObject({ status: 'dry-run', revision: '1' });
    expect(revisions(namespace)).toEqual([{ version: 1, status: 'deployed' }]);
    expect(message(deployment(namespace))).toBe('hi, helm 3');

    const removed = await deploy({ action: 'delete', release: 'web', namespace }, 'HELM3');
    expectOk(removed);
    expect(removed.outputs).toMatchObject({ status: 'uninstalled', 'namespace-deleted': 'true' });
    expect(revisions(namespace)).toEqual([]);
    expect(['', 'Terminating']).toContain(namespacePhase(namespace));
  }, 180_000);

  it('installs an OCI chart', async () => {
    const namespace = newNamespace('canfail-h3-oci');
    const run = await deploy(
      {
        release: 'web',
        namespace,
        chart: ociChart,
        'chart-version': '0.1.0',
        ...app(2),
        set: 'message=from oci'
      },
      'HELM3'
    );
    expectOk(run);
    expect(run.outputs).toMatchObject({ revision: '1', status: 'deployed' });
    const d = deployment(namespace);
    expect(message(d)).toBe('from oci');
    expect(d.spec.template.spec.containers[0]?.image).toBe(`${repository()}@${digestOf(2)}`);
  }, 120_000);
});
