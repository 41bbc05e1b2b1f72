import { afterAll, describe, expect, it } from '@jest/globals';
import {
  applyRegistrySecret,
  deleteNamespace,
  getFromPod,
  kubectl,
  podState,
  uniqueName,
  waitUntil
} from '../helpers/kube.js';
import { manifestDigest } from '../helpers/registry.js';
import { stackFact } from '../helpers/stack.js';

/**
 * The stack's real node (scripts/stack/components/80-node.sh): the kubelet pulls an image that
 * BuildKit built here FROM scratch from the TLS + htpasswd registry with the namespace's pull
 * secret, containerd runs it, and the app answers through its Service, both through the API
 * server's service proxy and from another pod by its DNS name. No Slipway code is involved.
 */
const namespaces: string[] = [];
afterAll(() => namespaces.forEach(deleteNamespace));

function newNamespace(): string {
  const namespace = uniqueName('node');
  namespaces.push(namespace);
  kubectl(['create', 'namespace', namespace]);
  return namespace;
}

/** A pod of the sample app (pushed to the TLS registry by the stack) behind a Service `web`. */
function applyApp(namespace: string, options: { pullSecret?: string; message: string }): string {
  const image = `${stackFact('SAMPLE_APP_IMAGE_TLS')}@${stackFact('SAMPLE_APP_V1_DIGEST')}`;
  kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'web', namespace, labels: { app: 'web' } },
          spec: {
            ...(options.pullSecret ? { imagePullSecrets: [{ name: options.pullSecret }] } : {}),
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: 'app',
                image,
                env: [{ name: 'MESSAGE', value: options.message }],
                ports: [{ name: 'http', containerPort: 8080 }],
                readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 }
              }
            ]
          }
        },
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web', namespace },
          spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] }
        }
      ]
    })
  );
  return image;
}

describe('the real node', () => {
  it('is Ready, and the kwok nodes are tainted so that ordinary pods land on it', () => {
    const nodes = JSON.parse(kubectl(['get', 'nodes', '-o', 'json'])).items as Array<{
      metadata: { name: string };
      spec: { taints?: Array<{ key: string; effect: string }> };
      status: { conditions: Array<{ type: string; status: string }> };
    }>;
    const real = nodes.find(node => node.metadata.name === stackFact('NODE_NAME'));
    expect(real?.status.conditions.find(c => c.type === 'Ready')?.status).toBe('True');
    expect(real?.spec.taints ?? []).toEqual([]);
    for (const kwok of stackFact('KWOK_NODES').split(' ')) {
      const node = nodes.find(n => n.metadata.name === kwok);
      expect(node?.spec.taints?.map(t => `${t.key}:${t.effect}`)).toEqual([
        'kwok.x-k8s.io/node:NoSchedule'
      ]);
    }
  });

  it('pulls from the TLS + auth registry with a pull secret and runs the app, which answers by Service', async () => {
    const namespace = newNamespace();
    applyRegistrySecret(namespace);
    const message = `hello from ${namespace}`;
    applyApp(namespace, { pullSecret: 'registry-credentials', message });
    const state = await waitUntil(
      'the app pod to be Ready',
      () => {
        const s = podState(namespace, 'web');
        return s.ready ? s : undefined;
      },
      90_000
    );
    expect(state.nodeName).toBe(stackFact('NODE_NAME'));
    // What the kubelet pulled is what the registry serves for the tag the stack pushed.
    const registryDigest = await manifestDigest(
      stackFact('REGISTRY_TLS'),
      'slipway/sample-app',
      '1.0.0'
    );
    // Only the digest: containerd reports an image by the first name it stored that content under,
    // and other suites (the fault suite's private registry) store the same sample app elsewhere.
    expect(state.imageID).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(state.imageID.replace(/^.*@/, '')).toBe(registryDigest);

    // Through the API server's service proxy (what a runner outside the cluster can use)...
    const proxied = await waitUntil('an answer through the service proxy', () => {
      try {
        return kubectl(['get', '--raw', `/api/v1/namespaces/${namespace}/services/web:80/proxy/`]);
      } catch {
        return undefined;
      }
    });
    expect(proxied).toBe(`${message} (version 1.0.0)\n`);
    // ...and from another pod, by the Service's DNS names (CoreDNS + kube-proxy's ClusterIP).
    const fromPod = await getFromPod(namespace, [
      'http://web/',
      `http://web.${namespace}.svc.cluster.local/healthz`
    ]);
    expect(fromPod.trim().split('\n')).toEqual([
      `http://web/ 200 ${message} (version 1.0.0)`,
      `http://web.${namespace}.svc.cluster.local/healthz 200 ok`
    ]);
  });

  it('reaches the API server and the stack by name from a pod', async () => {
    const namespace = newNamespace();
    const out = await getFromPod(namespace, [
      // Plain HTTP to the API server's TLS port: Go's TLS server answers 400, which proves the
      // kubernetes Service's name, ClusterIP and endpoint (the node's address) all work.
      'http://kubernetes.default.svc:443/',
      `http://${stackFact('REGISTRY_PLAIN_IN_CLUSTER')}/v2/`,
      `${stackFact('SAMPLE_APP_GIT_IN_CLUSTER')}/info/refs?service=git-upload-pack`
    ]);
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe(
      'http://kubernetes.default.svc:443/ 400 Client sent an HTTP request to an HTTPS server.'
    );
    expect(lines[1]).toMatch(/ 200 \{\}$/);
    expect(lines[2]).toMatch(/ 200 .*refs\/heads\/main/);
  });

  it('refuses the pull without the pull secret: ErrImagePull with the registry’s 401', async () => {
    const namespace = newNamespace();
    const image = applyApp(namespace, { message: 'never runs' });
    const waiting = await waitUntil(
      'the pull to fail',
      () => {
        const w = podState(namespace, 'web').waiting;
        return w && /ErrImagePull|ImagePullBackOff/.test(w.reason) && w.message ? w : undefined;
      },
      60_000
    );
    // containerd's words, as the kubelet reports them: the registry's 401 to an anonymous pull.
    expect(waiting.message).toBe(
      `failed to pull and unpack image "${image}": failed to resolve image: pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials`
    );
  });
});
