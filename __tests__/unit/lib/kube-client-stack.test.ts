import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import diagnostics from 'node:diagnostics_channel';
import { KubeClient, apiCode } from '../../../src/lib/kube/index.js';
import { startHttpServer } from '../../helpers/http.js';
import { deleteNamespace, kubectl, uniqueName, waitUntil } from '../../helpers/kube.js';
import { stackFact } from '../../helpers/stack.js';

/** KubeClient's CRUD against the stack's real API server, in a namespace of this file's own. */
const namespace = uniqueName('unit-kube-client');
let client: KubeClient;

beforeAll(async () => {
  client = await KubeClient.connect({ kubeconfig: stackFact('KUBECONFIG') });
  expect(await client.ensureNamespace(namespace, { test: 'kube-client' })).toBe('created');
});
afterAll(() => deleteNamespace(namespace));

const kwokNode = () => stackFact('KWOK_NODES').split(' ')[0] ?? '';
/** A pod on a kwok node: it "runs" without a container runtime. */
const kwokPodSpec = (): V1Pod['spec'] => ({
  nodeName: kwokNode(),
  tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
  containers: [{ name: 'app', image: stackFact('PAUSE_IMAGE') }]
});

describe('KubeClient against the stack API server', () => {
  it('keeps its TLS connection to the API server alive between requests', async () => {
    // Every new TCP connection this process opens is published on this channel.
    let opened = 0;
    const count = () => opened++;
    diagnostics.subscribe('net.client.socket', count);
    try {
      for (let i = 0; i < 4; i++) expect(await client.readNamespace(namespace)).toBeDefined();
    } finally {
      diagnostics.unsubscribe('net.client.socket', count);
    }
    expect(opened).toBeLessThanOrEqual(1);
  });

  it('lists Secret labels by selector, metadata only (what the pending-release check reads)', async () => {
    for (const [name, status] of [
      ['sh.helm.release.v1.web.v1', 'superseded'],
      ['sh.helm.release.v1.web.v2', 'pending-upgrade'],
      ['other', 'deployed']
    ] as const) {
      kubectl([
        '-n',
        namespace,
        'create',
        'secret',
        'generic',
        name,
        '--from-literal=release=not-to-be-read'
      ]);
      kubectl([
        '-n',
        namespace,
        'label',
        'secret',
        name,
        `status=${status}`,
        `owner=${name === 'other' ? 'someone' : 'helm'}`,
        'name=web'
      ]);
    }
    const labels = await client.listSecretLabels(namespace, 'owner=helm,name=web');
    expect(labels.map(item => item.labels?.status).sort()).toEqual([
      'pending-upgrade',
      'superseded'
    ]);
  });

  it('lists namespaces by label selector; deletes one only as it was read', async () => {
    const mark = uniqueName('sel');
    const name = uniqueName('unit-ns-sweep');
    try {
      expect(await client.ensureNamespace(name, { 'slipway.dev/unit': mark })).toBe('created');
      const listed = await client.listNamespaces(`slipway.dev/unit=${mark}`);
      expect(listed.map(ns => ns.metadata?.name)).toEqual([name]);
      expect(await client.listNamespaces(`slipway.dev/unit=${mark},other=x`)).toEqual([]);
      // Changed after the list (a deploy stamping a new expiry): the stale delete is refused.
      await client.ensureNamespace(name, {}, { 'slipway.dev/expires-at': '2999-01-01T00:00:00Z' });
      const stale = await client
        .deleteNamespace(name, listed[0]?.metadata?.resourceVersion)
        .catch((error: unknown) => error);
      expect(apiCode(stale)).toBe(409);
      const current = await client.readNamespace(name);
      expect(current).toBeDefined();
      expect(await client.deleteNamespace(name, current?.metadata?.resourceVersion)).toBe(true);
    } finally {
      deleteNamespace(name);
    }
  });

  it('finds, creates, replaces and deletes a Secret; a stale write is refused', async () => {
    expect(await client.findSecret(namespace, 'creds')).toBeUndefined();
    const created = await client.writeSecret(namespace, {
      metadata: { name: 'creds', labels: { app: 'a' } },
      stringData: { token: 'one' }
    });
    const found = await client.findSecret(namespace, 'creds');
    expect(Buffer.from(found?.data?.token ?? '', 'base64').toString()).toBe('one');
    expect(found?.metadata?.uid).toBe(created.metadata?.uid);

    const replaced = await client.writeSecret(namespace, {
      metadata: { name: 'creds', resourceVersion: created.metadata?.resourceVersion },
      stringData: { token: 'two' }
    });
    expect(replaced.metadata?.uid).toBe(created.metadata?.uid);
    expect(replaced.metadata?.resourceVersion).not.toBe(created.metadata?.resourceVersion);
    expect(
      kubectl(['-n', namespace, 'get', 'secret', 'creds', '-o', 'jsonpath={.data.token}'])
    ).toBe(Buffer.from('two').toString('base64'));

    // Written from the stale read: the API server answers 409 instead of overwriting.
    await expect(
      client.writeSecret(namespace, {
        metadata: { name: 'creds', resourceVersion: created.metadata?.resourceVersion },
        stringData: { token: 'stale' }
      })
    ).rejects.toThrow(/conflict|modified/i);
    // Creating what exists fails too.
    await expect(
      client.writeSecret(namespace, { metadata: { name: 'creds' }, stringData: {} })
    ).rejects.toThrow(/already exists/);

    expect(await client.deleteSecret(namespace, 'creds')).toBe(true);
    expect(await client.deleteSecret(namespace, 'creds')).toBe(false);
    expect(await client.findSecret(namespace, 'creds')).toBeUndefined();
  });

  it('finds, creates and replaces a ServiceAccount', async () => {
    expect(await client.findServiceAccount(namespace, 'deployer')).toBeUndefined();
    const created = await client.writeServiceAccount(namespace, {
      metadata: { name: 'deployer' }
    });
    const found = await client.findServiceAccount(namespace, 'deployer');
    expect(found?.metadata?.uid).toBe(created.metadata?.uid);
    await client.writeServiceAccount(namespace, {
      ...found,
      imagePullSecrets: [{ name: 'registry-credentials' }]
    });
    expect(
      kubectl([
        '-n',
        namespace,
        'get',
        'serviceaccount',
        'deployer',
        '-o',
        'jsonpath={.imagePullSecrets[0].name}'
      ])
    ).toBe('registry-credentials');
  });

  it('creates and deletes a ConfigMap', async () => {
    await client.createConfigMap(namespace, {
      metadata: { name: 'buildkitd' },
      data: { 'buildkitd.toml': 'debug = true' }
    });
    expect(
      kubectl(['-n', namespace, 'get', 'configmap', 'buildkitd', '-o', 'jsonpath={.data}'])
    ).toBe('{"buildkitd.toml":"debug = true"}');
    expect(await client.deleteConfigMap(namespace, 'buildkitd')).toBe(true);
    expect(await client.deleteConfigMap(namespace, 'buildkitd')).toBe(false);
  });

  it('creates, reads, lists by label and deletes pods; lists events oldest first', async () => {
    await client.createPod(namespace, {
      metadata: { name: 'p1', labels: { role: 'builder' } },
      spec: kwokPodSpec()
    });
    await client.createPod(namespace, {
      metadata: { name: 'p2', labels: { role: 'other' } },
      spec: kwokPodSpec()
    });
    expect((await client.readPod(namespace, 'p1'))?.spec?.nodeName).toBe(kwokNode());
    expect(await client.readPod(namespace, 'nope')).toBeUndefined();
    expect((await client.listPods(namespace, 'role=builder')).map(p => p.metadata?.name)).toEqual([
      'p1'
    ]);
    expect((await client.listPods(namespace)).map(p => p.metadata?.name).sort()).toEqual([
      'p1',
      'p2'
    ]);

    kubectl(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'later', namespace },
        involvedObject: { kind: 'Pod', name: 'p1', namespace },
        reason: 'Later',
        message: 'second',
        lastTimestamp: '2030-01-01T00:00:10Z'
      })
    );
    kubectl(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'earlier', namespace },
        involvedObject: { kind: 'Pod', name: 'p1', namespace },
        reason: 'Earlier',
        message: 'first',
        lastTimestamp: '2030-01-01T00:00:00Z'
      })
    );
    const reasons = (await client.listEvents(namespace)).map(e => e.reason);
    expect(reasons.indexOf('Earlier')).toBeGreaterThanOrEqual(0);
    expect(reasons.indexOf('Earlier')).toBe(reasons.indexOf('Later') - 1);
    expect(reasons.at(-1)).toBe('Later');

    expect(await client.deletePod(namespace, 'p1')).toBe(true);
    await waitUntil('p1 to be gone', () =>
      kubectl(['-n', namespace, 'get', 'pods', '-o', 'name']).includes('pod/p1') ? undefined : true
    );
    expect(await client.deletePod(namespace, 'p1')).toBe(false);
  });

  it('finds Services and Deployments; reports workload readiness', async () => {
    expect(await client.findService(namespace, 'web')).toBeUndefined();
    expect(await client.findDeployment(namespace, 'web')).toBeUndefined();
    expect(await client.workloadReadiness('Deployment', namespace, 'web')).toBeUndefined();
    expect(await client.workloadReadiness('StatefulSet', namespace, 'db')).toBeUndefined();
    const template = {
      metadata: { labels: { app: 'web' } },
      spec: kwokPodSpec()
    };
    kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'web', namespace },
            spec: { selector: { app: 'web' }, ports: [{ port: 80 }] }
          },
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'web', namespace },
            spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template }
          },
          {
            apiVersion: 'apps/v1',
            kind: 'StatefulSet',
            metadata: { name: 'db', namespace },
            spec: {
              replicas: 0,
              serviceName: 'db',
              selector: { matchLabels: { app: 'web' } },
              template
            }
          }
        ]
      })
    );
    expect((await client.findService(namespace, 'web'))?.spec?.ports?.[0]?.port).toBe(80);
    expect((await client.findDeployment(namespace, 'web'))?.spec?.replicas).toBe(2);
    let readiness: { ready: number; wanted: number } | undefined;
    const deadline = Date.now() + 60_000;
    do {
      readiness = await client.workloadReadiness('Deployment', namespace, 'web');
      if (readiness?.ready === 2) break;
      await new Promise(r => setTimeout(r, 250));
    } while (Date.now() < deadline);
    expect(readiness).toEqual({ ready: 2, wanted: 2 });
    expect(await client.workloadReadiness('StatefulSet', namespace, 'db')).toEqual({
      ready: 0,
      wanted: 0
    });
  }, 90_000);
});

describe('KubeClient.podLogTail', () => {
  it('asks for the tail of one container, of the previous instance when told', async () => {
    const seen: string[] = [];
    const server = await startHttpServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('line 1\nline 2\n');
    });
    try {
      const { mkdtempSync, writeFileSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const path = (await import('node:path')).default;
      const file = path.join(mkdtempSync(path.join(tmpdir(), 'slipway-kube-')), 'config');
      writeFileSync(
        file,
        `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: '${server.url}', insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: c, context: { cluster: c, user: u } }]
current-context: c
`
      );
      const fake = await KubeClient.connect({ kubeconfig: file });
      expect(await fake.podLogTail('ci', 'web-1', 'app', 20)).toBe('line 1\nline 2\n');
      await fake.podLogTail('ci', 'web-1', 'app', 5, true);
      expect(seen).toEqual([
        '/api/v1/namespaces/ci/pods/web-1/log?container=app&tailLines=20&previous=false',
        '/api/v1/namespaces/ci/pods/web-1/log?container=app&tailLines=5&previous=true'
      ]);
    } finally {
      await server.close();
    }
  });
});
