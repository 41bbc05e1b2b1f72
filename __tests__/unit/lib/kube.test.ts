import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SlipwayError, describeError } from '../../../src/lib/errors.js';
import {
  KubeClient,
  SERVICE_ACCOUNT_DIR,
  apiCode,
  defaultNamespace,
  describeTarget,
  isTransientKubeError,
  loadKubeConfig,
  mapKubeError,
  metadataContains,
  rbacRuleYaml,
  resolveKubeConfigSource,
  resourcePath,
  statusMessage,
  type KubeOperation
} from '../../../src/lib/kube/index.js';
import { captureStdout } from '../../helpers/capture.js';
import { startHttpServer } from '../../helpers/http.js';

const secretGet: KubeOperation = {
  verb: 'get',
  resource: 'secrets',
  group: '',
  kind: 'Secret',
  namespace: 'ci',
  name: 'registry-creds'
};

function env(vars: Record<string, string>, files: string[] = [], home = '/home/u') {
  return { env: vars, home, exists: (file: string) => files.includes(file) };
}

describe('resolveKubeConfigSource', () => {
  it('prefers the kubeconfig input', () => {
    expect(
      resolveKubeConfigSource({ kubeconfig: '/k' }, env({ KUBECONFIG: '/e' }, ['/k', '/e']))
    ).toEqual({ kind: 'files', files: ['/k'], origin: 'input' });
  });

  it('names a missing kubeconfig input file', () => {
    expect(() => resolveKubeConfigSource({ kubeconfig: '/nope' }, env({}))).toThrow(
      'The kubeconfig file /nope does not exist.'
    );
  });

  it('reads KUBECONFIG as a path list, skipping missing files', () => {
    expect(resolveKubeConfigSource({}, env({ KUBECONFIG: '/a:/b:/c' }, ['/a', '/c']))).toEqual({
      kind: 'files',
      files: ['/a', '/c'],
      origin: 'KUBECONFIG'
    });
    expect(() => resolveKubeConfigSource({}, env({ KUBECONFIG: '/a' }))).toThrow(
      'KUBECONFIG names no existing file (/a).'
    );
  });

  it('uses the in-cluster service account, then ~/.kube/config', () => {
    const inCluster = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const token = path.join(SERVICE_ACCOUNT_DIR, 'token');
    expect(resolveKubeConfigSource({}, env(inCluster, [token]))).toEqual({ kind: 'in-cluster' });
    expect(resolveKubeConfigSource({}, env(inCluster, ['/home/u/.kube/config']))).toEqual({
      kind: 'files',
      files: ['/home/u/.kube/config'],
      origin: 'home'
    });
    expect(() => resolveKubeConfigSource({}, env({}))).toThrow(
      'No Kubernetes configuration found.'
    );
  });
});

describe('describeTarget', () => {
  const contexts = [
    { name: 'a', namespace: 'team-a' },
    { name: 'b', namespace: undefined }
  ];
  const facts = (current: string) => ({
    getCurrentContext: () => current,
    getContexts: () => contexts,
    getContextObject: (name: string) => contexts.find(c => c.name === name) ?? null,
    getCurrentCluster: () => ({ server: 'https://api:6443' })
  });

  it('reads the context namespace, else default', () => {
    expect(describeTarget(facts('a'), undefined)).toEqual({
      context: 'a',
      server: 'https://api:6443',
      namespace: 'team-a'
    });
    expect(describeTarget(facts('a'), 'b').namespace).toBe('default');
    expect(defaultNamespace(null)).toBe('default');
    expect(defaultNamespace({ namespace: ' ' })).toBe('default');
  });

  it('lists the available contexts when the one asked for is missing', () => {
    expect(() => describeTarget(facts('a'), 'prod')).toThrow(
      'The kubeconfig has no context "prod" (available: a, b).'
    );
    expect(() => describeTarget(facts(''), undefined)).toThrow(
      'The kubeconfig has no current context (available: a, b).'
    );
  });
});

describe('rbacRuleYaml', () => {
  it('writes a Role for namespaced objects, limited by name', () => {
    expect(rbacRuleYaml(secretGet)).toBe(
      [
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: Role',
        'metadata:',
        '  name: slipway-get-secrets',
        '  namespace: ci',
        'rules:',
        '  - apiGroups: [""]',
        '    resources: ["secrets"]',
        '    verbs: ["get"]',
        '    resourceNames: ["registry-creds"]'
      ].join('\n')
    );
  });

  it('writes a ClusterRole for cluster-scoped objects; create has no resourceNames', () => {
    const yaml = rbacRuleYaml({
      verb: 'create',
      resource: 'namespaces',
      group: '',
      kind: 'Namespace',
      name: 'preview-1'
    });
    expect(yaml).toContain('kind: ClusterRole');
    expect(yaml).not.toContain('namespace:');
    expect(yaml).not.toContain('resourceNames');
  });
});

describe('mapKubeError', () => {
  const server = 'https://127.0.0.1:6443';
  const api = (code: number, body?: unknown) =>
    Object.assign(new Error(`HTTP-Code: ${code}`), { code, body });

  it('401: credentials rejected', () => {
    const error = mapKubeError(api(401), secretGet, server) as SlipwayError;
    expect(error.message).toBe(
      'The Kubernetes API server at https://127.0.0.1:6443 rejected the credentials (401 Unauthorized) while trying to get Secret "registry-creds" in namespace "ci".'
    );
    expect(error.hint).toMatch(/expired/);
  });

  it('403: names the verb, resource and namespace, quotes the server and shows the Role', () => {
    const body = JSON.stringify({
      kind: 'Status',
      message:
        'secrets "registry-creds" is forbidden: User "system:serviceaccount:ci:bot" cannot get resource "secrets"'
    });
    const text = describeError(mapKubeError(api(403, body), secretGet, server));
    expect(text).toContain(
      'Forbidden: the Kubernetes credentials may not "get" resource "secrets" in namespace "ci"'
    );
    expect(text).toContain('User "system:serviceaccount:ci:bot" cannot get');
    expect(text).toContain(rbacRuleYaml(secretGet));
  });

  it('404: names kind, namespace and name', () => {
    expect(mapKubeError(api(404), secretGet, server).message).toBe(
      'Secret "registry-creds" in namespace "ci" was not found (server https://127.0.0.1:6443).'
    );
  });

  it('other statuses carry the Status message', () => {
    expect(mapKubeError(api(422, { message: 'invalid' }), secretGet, server).message).toBe(
      'The Kubernetes API server at https://127.0.0.1:6443 answered HTTP 422 to get Secret "registry-creds" in namespace "ci": invalid'
    );
  });

  it('connection failures: unreachable, naming the server', () => {
    const refused = new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    expect(mapKubeError(refused, secretGet, server).message).toBe(
      'The Kubernetes API server at https://127.0.0.1:6443 is unreachable (ECONNREFUSED) while trying to get Secret "registry-creds" in namespace "ci".'
    );
  });

  it('TLS failures are not called unreachable', () => {
    const tls = new TypeError('fetch failed', {
      cause: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }
    });
    expect(mapKubeError(tls, secretGet, server).message).toContain(
      'TLS verification of the Kubernetes API server at https://127.0.0.1:6443 failed (UNABLE_TO_VERIFY_LEAF_SIGNATURE)'
    );
  });

  it('keeps SlipwayErrors and describes anything else', () => {
    const own = new SlipwayError('mine');
    expect(mapKubeError(own, secretGet, server)).toBe(own);
    expect(mapKubeError(new Error('odd\nmore'), secretGet, server).message).toBe(
      'Kubernetes API call to get Secret "registry-creds" in namespace "ci" at https://127.0.0.1:6443 failed: odd'
    );
  });
});

describe('small helpers', () => {
  it('classifies transient failures', () => {
    expect(isTransientKubeError({ code: 503 })).toBe(true);
    expect(isTransientKubeError({ code: 429 })).toBe(true);
    expect(isTransientKubeError({ code: 403 })).toBe(false);
    expect(isTransientKubeError({ cause: { code: 'ECONNRESET' } })).toBe(true);
    expect(isTransientKubeError(new Error('x'))).toBe(false);
  });

  it('reads Status messages and API codes', () => {
    expect(statusMessage('{"message":"m"}')).toBe('m');
    expect(statusMessage('not json')).toBeUndefined();
    expect(statusMessage({ message: '' })).toBeUndefined();
    expect(apiCode(new SlipwayError('x', { cause: { code: 404 } }))).toBe(404);
    expect(apiCode(new Error('x'))).toBeUndefined();
  });

  it('compares metadata', () => {
    const ns = { metadata: { labels: { a: '1', b: '2' }, annotations: { n: 'x' } } };
    expect(metadataContains(ns, { a: '1' }, { n: 'x' })).toBe(true);
    expect(metadataContains(ns, { a: '2' }, {})).toBe(false);
    expect(metadataContains({}, {}, {})).toBe(true);
    expect(metadataContains({}, {}, { n: 'x' })).toBe(false);
  });
});

/** A fake API server on a real socket: the real client-node talks to it over HTTP. */
type Handler = (req: http.IncomingMessage, body: string) => { status: number; json: unknown };

let closeServer: (() => Promise<void>) | undefined;

afterEach(async () => {
  await closeServer?.();
  closeServer = undefined;
});

async function fakeApiServer(handler: Handler) {
  const server = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', chunk => (body += chunk));
    req.on('end', () => {
      const { status, json } = handler(req, body);
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(json));
    });
  });
  closeServer = server.close;
  return server;
}

function writeKubeconfig(server: string, namespace?: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'slipway-kube-test-'));
  const file = path.join(dir, 'config');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: bot\n  user:\n    token: test-token',
      'contexts:',
      `- name: fake\n  context:\n    cluster: fake\n    user: bot${namespace ? `\n    namespace: ${namespace}` : ''}`,
      '- name: other\n  context:\n    cluster: fake\n    user: bot',
      'current-context: fake',
      ''
    ].join('\n')
  );
  return file;
}

const status = (code: number, reason: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  code,
  reason,
  message: reason
});

describe('resourcePath', () => {
  it('builds core, grouped, cluster-scoped and subresource paths, names encoded', () => {
    expect(resourcePath('Secret', 'ci', 'x')).toBe('/api/v1/namespaces/ci/secrets/x');
    expect(resourcePath('Namespace', undefined)).toBe('/api/v1/namespaces');
    expect(resourcePath('Namespace', undefined, 'ci')).toBe('/api/v1/namespaces/ci');
    expect(resourcePath('Deployment', 'ci', 'web')).toBe(
      '/apis/apps/v1/namespaces/ci/deployments/web'
    );
    expect(resourcePath('Lease', 'ci')).toBe('/apis/coordination.k8s.io/v1/namespaces/ci/leases');
    expect(resourcePath('PodLog', 'ci', 'web-1', 'log')).toBe(
      '/api/v1/namespaces/ci/pods/web-1/log'
    );
    expect(resourcePath('Secret', 'ci', 'a/b?c')).toBe('/api/v1/namespaces/ci/secrets/a%2Fb%3Fc');
  });
});

describe('loadKubeConfig', () => {
  it('loads a file, its context namespace and server; switches context', async () => {
    const file = writeKubeconfig('http://127.0.0.1:1', 'team-a');
    const target = await loadKubeConfig({ kubeconfig: file });
    expect([target.context, target.namespace, target.server]).toEqual([
      'fake',
      'team-a',
      'http://127.0.0.1:1'
    ]);
    const other = await loadKubeConfig({ kubeconfig: file, context: 'other' });
    expect([other.context, other.namespace]).toEqual(['other', 'default']);
  });

  it('rejects a file that is not a kubeconfig', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'slipway-kube-test-'));
    writeFileSync(path.join(dir, 'bad'), 'clusters: [ {');
    await expect(loadKubeConfig({ kubeconfig: path.join(dir, 'bad') })).rejects.toThrow(
      `Cannot load the Kubernetes configuration from ${path.join(dir, 'bad')}.`
    );
  });
});

describe('KubeClient against a fake API server', () => {
  it('reads a Secret with the bearer token', async () => {
    const seen: string[] = [];
    const server = await fakeApiServer(req => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      return {
        status: 200,
        json: { kind: 'Secret', apiVersion: 'v1', type: 'Opaque', data: { a: 'Yg==' } }
      };
    });
    const client = await KubeClient.connect({ kubeconfig: writeKubeconfig(server.url) });
    const secret = await client.readSecret('ci', 'creds');
    expect(secret.data).toEqual({ a: 'Yg==' });
    expect(seen).toEqual(['GET /api/v1/namespaces/ci/secrets/creds Bearer test-token']);
  });

  it('GETs a path through the service proxy with the credentials; any status is an answer', async () => {
    const seen: string[] = [];
    const server = await fakeApiServer(req => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      return req.url?.includes('missing')
        ? { status: 404, json: 'not here' }
        : { status: 200, json: 'x'.repeat(10_000) };
    });
    const client = await KubeClient.connect({ kubeconfig: writeKubeconfig(server.url) });
    expect(await client.proxyGet('pr-1', 'web', 80, '/missing?a=1', 5000)).toEqual({
      status: 404,
      body: '"not here"'
    });
    const big = await client.proxyGet('pr-1', 'web', 'http', '/healthz', 5000);
    expect([big.status, big.body.length]).toEqual([200, 4096]);
    expect(seen).toEqual([
      'GET /api/v1/namespaces/pr-1/services/web:80/proxy/missing?a=1 Bearer test-token',
      'GET /api/v1/namespaces/pr-1/services/web:http/proxy/healthz Bearer test-token'
    ]);
    await expect(
      (await KubeClient.connect({ kubeconfig: writeKubeconfig('http://127.0.0.1:1') })).proxyGet(
        'pr-1',
        'web',
        80,
        '/',
        2000
      )
    ).rejects.toThrow(/ECONNREFUSED/);
  });

  it('maps 404 and 403 from the server', async () => {
    const server = await fakeApiServer(req =>
      req.url?.includes('missing')
        ? { status: 404, json: status(404, 'NotFound') }
        : { status: 403, json: status(403, 'forbidden by test') }
    );
    const client = await KubeClient.connect({ kubeconfig: writeKubeconfig(server.url) });
    await expect(client.readSecret('ci', 'missing')).rejects.toThrow(
      'Secret "missing" in namespace "ci" was not found'
    );
    await expect(client.readSecret('ci', 'locked')).rejects.toThrow(
      'may not "get" resource "secrets" in namespace "ci"'
    );
  });

  it('retries 503 then succeeds', async () => {
    let calls = 0;
    const server = await fakeApiServer(() =>
      ++calls < 3
        ? { status: 503, json: status(503, 'busy') }
        : { status: 200, json: { kind: 'Secret', data: {} } }
    );
    const client = await KubeClient.connect({
      kubeconfig: writeKubeconfig(server.url),
      retry: { sleep: async () => {} }
    });
    const { output } = await captureStdout(() => client.readSecret('ci', 'x'));
    expect(calls).toBe(3);
    expect(output).toContain('Transient failure get Secret "x" in namespace "ci" (attempt 1/4)');
  });

  it('reports an unreachable server after retrying', async () => {
    const server = await fakeApiServer(() => ({ status: 200, json: {} }));
    await server.close();
    closeServer = undefined;
    const client = await KubeClient.connect({
      kubeconfig: writeKubeconfig(server.url),
      retry: { attempts: 2, sleep: async () => {} }
    });
    const { result, output } = await captureStdout(() =>
      client.readSecret('ci', 'x').then(
        () => 'resolved',
        (error: Error) => error.message
      )
    );
    expect(result).toBe(
      `The Kubernetes API server at ${server.url} is unreachable (ECONNREFUSED) while trying to get Secret "x" in namespace "ci".`
    );
    expect(output).toContain('(attempt 1/2): Error: connect ECONNREFUSED');
  });

  it('ensureNamespace creates, then patches only what differs, and is idempotent', async () => {
    const namespaces = new Map<string, { labels: Record<string, string> }>();
    const calls: string[] = [];
    const server = await fakeApiServer((req, body) => {
      calls.push(`${req.method} ${req.url} ${req.headers['content-type'] ?? ''}`.trim());
      const name = /namespaces\/([^/?]+)/.exec(req.url ?? '')?.[1] ?? '';
      if (req.method === 'POST') {
        const parsed = JSON.parse(body) as {
          metadata: { name: string; labels: Record<string, string> };
        };
        namespaces.set(parsed.metadata.name, { labels: parsed.metadata.labels });
        return { status: 201, json: { kind: 'Namespace', metadata: parsed.metadata } };
      }
      const existing = namespaces.get(name);
      if (!existing) return { status: 404, json: status(404, 'NotFound') };
      if (req.method === 'PATCH') {
        const parsed = JSON.parse(body) as { metadata: { labels: Record<string, string> } };
        Object.assign(existing.labels, parsed.metadata.labels);
      }
      if (req.method === 'DELETE') {
        namespaces.delete(name);
        return { status: 200, json: { kind: 'Status', status: 'Success' } };
      }
      return { status: 200, json: { kind: 'Namespace', metadata: { name, ...existing } } };
    });
    const client = await KubeClient.connect({ kubeconfig: writeKubeconfig(server.url) });
    expect(await client.ensureNamespace('preview-1', { app: 'a' })).toBe('created');
    expect(await client.ensureNamespace('preview-1', { app: 'a' })).toBe('unchanged');
    expect(await client.ensureNamespace('preview-1', { app: 'b' })).toBe('updated');
    expect(namespaces.get('preview-1')?.labels).toEqual({ app: 'b' });
    expect(calls).toContain('PATCH /api/v1/namespaces/preview-1 application/merge-patch+json');
    expect(await client.deleteNamespace('preview-1')).toBe(true);
    expect(await client.deleteNamespace('preview-1')).toBe(false);
  });

  it('ensureNamespace takes the namespace its caller has just read instead of reading it again', async () => {
    const calls: string[] = [];
    const server = await fakeApiServer(req => {
      calls.push(`${req.method} ${req.url}`);
      return req.method === 'PATCH'
        ? { status: 200, json: { kind: 'Namespace' } }
        : { status: 500, json: status(500, 'InternalError') };
    });
    const client = await KubeClient.connect({ kubeconfig: writeKubeconfig(server.url) });
    const namespace = { metadata: { name: 'n', labels: { a: '1' } } };
    expect(await client.ensureNamespace('n', { a: '1' }, {}, { namespace })).toBe('unchanged');
    expect(await client.ensureNamespace('n', { a: '2' }, {}, { namespace })).toBe('updated');
    expect(calls).toEqual(['PATCH /api/v1/namespaces/n']);
  });

  it('ensureNamespace patches when another writer created it first (409)', async () => {
    let created = false;
    const server = await fakeApiServer(req => {
      if (req.method === 'POST') {
        created = true;
        return { status: 409, json: status(409, 'AlreadyExists') };
      }
      if (req.method === 'PATCH') return { status: 200, json: { kind: 'Namespace' } };
      return created
        ? { status: 200, json: { kind: 'Namespace', metadata: { name: 'n', labels: {} } } }
        : { status: 404, json: status(404, 'NotFound') };
    });
    const client = await KubeClient.connect({ kubeconfig: writeKubeconfig(server.url) });
    expect(await client.ensureNamespace('n', { a: '1' })).toBe('updated');
  });
});
