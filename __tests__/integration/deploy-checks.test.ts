import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot, runMain, visibleText } from '../helpers/action-runner.js';
import { kubectl, namespacesDeletedAfterAll } from '../helpers/kube.js';
import { answerOf } from '../helpers/sample-app.js';
import { pathWithHelm, stackFact } from '../helpers/stack.js';

/**
 * helm-deploy-namespace's checks of what it deployed, on the stack's real node with Helm 4: the
 * warning for a chart that ignores the pushed image, and the smoke check through the API server's
 * service proxy (passing, and failing into a rollback).
 */
const chart = path.join(projectRoot, 'examples/charts/sample-app');
const newNamespace = namespacesDeletedAfterAll();

const env = () => ({ PATH: pathWithHelm(stackFact('HELM4')), KUBECONFIG: stackFact('KUBECONFIG') });
const repository = () => stackFact('SAMPLE_APP_IMAGE_PLAIN');
const digestOf = (version: 1 | 2) => stackFact(`SAMPLE_APP_V${version}_DIGEST`);

/** A chart that builds its image from values of its own, like the seed's bulletin-board chart. */
function ownImageChart(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'slipway-own-image-'));
  const [registry, user] = repository().split('/');
  mkdirSync(path.join(dir, 'templates'));
  writeFileSync(path.join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: own-image\nversion: 0.1.0\n');
  writeFileSync(
    path.join(dir, 'values.yaml'),
    `registry: "${registry}"\nuser: ${user}\nbuild: 1.0.0\nreplicaCount: 1\n`
  );
  writeFileSync(
    path.join(dir, 'templates', 'deployment.yaml'),
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels: { app: {{ .Release.Name }} }
  template:
    metadata:
      labels: { app: {{ .Release.Name }} }
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: app
          image: "{{ .Values.registry }}/{{ .Values.user }}/sample-app:{{ .Values.build }}"
          ports: [{ name: http, containerPort: 8080 }]
          readinessProbe: { httpGet: { path: /healthz, port: http } }
`
  );
  return dir;
}

describe('helm-deploy-namespace checks what it deployed', () => {
  it('warns when the chart ignores the pushed image, naming image-values and the image values', async () => {
    const namespace = newNamespace('hdn-own');
    const run = await runMain(
      'helm-deploy-namespace',
      {
        release: 'web',
        namespace,
        chart: ownImageChart(),
        image: repository(),
        digest: digestOf(2),
        timeout: '60s'
      },
      { env: env() }
    );
    expect(run.exitCode).toBe(0);
    const warning = run.stdout.split('\n').find(line => line.startsWith('::warning'));
    expect(warning).toContain('title=image-values');
    expect(warning).toContain(`does not use the pushed image ${repository()}@${digestOf(2)}`);
    expect(warning).toContain(`(it has ${repository()}:1.0.0)`);
    expect(warning).toContain('look like image parts: registry, user, build.');
    expect(run.summary).toContain('**Image values**');
    expect(run.summary).toContain('registry, user, build');
    // It deployed what the chart rendered (the warning does not fail the step).
    const image = kubectl([
      'get',
      'deployment',
      'web',
      '-n',
      namespace,
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}'
    ]);
    expect(image).toBe(`${repository()}:1.0.0`);
  }, 120_000);

  it('passes the smoke check on /healthz and outputs the in-cluster URL; no image warning', async () => {
    const namespace = newNamespace('hdn-chk');
    const run = await runMain(
      'helm-deploy-namespace',
      {
        release: 'web',
        namespace,
        chart,
        image: repository(),
        digest: digestOf(1),
        timeout: '60s',
        'check-path': '/healthz',
        'check-timeout': '30s'
      },
      { env: env() }
    );
    expect(run.exitCode).toBe(0);
    expect(run.outputs.url).toBe(`http://web-sample-app.${namespace}.svc.cluster.local:80/healthz`);
    expect(run.stdout).toContain('Smoke check GET /healthz on Service web-sample-app:80: 200 ok');
    expect(run.summary).toContain('GET /healthz on Service web-sample-app:80: 200 ok');
    expect(run.stdout).not.toContain('image-values');
  }, 120_000);

  it('rolls back when the smoke check fails, and the previous revision still answers', async () => {
    const namespace = newNamespace('hdn-chkf');
    const base = { release: 'web', namespace, chart, image: repository(), timeout: '60s' };
    const first = await runMain(
      'helm-deploy-namespace',
      { ...base, digest: digestOf(1), set: 'message=first' },
      { env: env() }
    );
    expect(first.exitCode).toBe(0);

    const bad = await runMain(
      'helm-deploy-namespace',
      {
        ...base,
        digest: digestOf(2),
        set: 'message=second',
        // The sample app answers every path (200), so the check fails on the status it expects.
        'check-path': '/healthz',
        'check-status': '204',
        'check-timeout': '5s'
      },
      { env: env() }
    );
    expect(bad.exitCode).toBe(1);
    const text = visibleText(bad);
    expect(text).toContain('Smoke check GET /healthz on Service web-sample-app:80: 200 ok');
    expect(text).toContain('Rolling back to revision 1 (atomic)');
    expect(text).toContain(
      'The smoke check GET /healthz on Service web-sample-app:80 failed: expected 204, got 200 ok'
    );
    expect(text).toContain('rolled back: revision 3 serves the previous release');
    expect(bad.summary).toContain('helm-deploy-namespace: failed');
    expect(bad.summary).toMatch(/Smoke check.*GET \/healthz on Service web-sample-app:80: 200 ok/);
    expect(bad.outputs).toMatchObject({ revision: '3', status: 'deployed' });
    expect(bad.outputs.url).toBeUndefined();
    expect(await answerOf(kubectl, namespace, 'web-sample-app')).toBe('first (version 1.0.0)\n');
  }, 240_000);

  it('refuses a check-path that could leave the proxy path before running anything', async () => {
    const run = await runMain(
      'helm-deploy-namespace',
      { release: 'web', namespace: 'unused', chart, 'check-path': '/a/../../../secrets' },
      { env: env() }
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('Input "check-path" must be a URL path');
  }, 30_000);
});
