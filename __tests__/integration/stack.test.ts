import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../helpers/action-runner.js';
import { applyRegistrySecret, deleteNamespace, kubectl, uniqueName } from '../helpers/kube.js';
import { pushScratchImage } from '../helpers/buildkit.js';
import {
  catalogRepositories,
  manifestDigest,
  registryRequest,
  writeDockerConfig
} from '../helpers/registry.js';
import { stackFact } from '../helpers/stack.js';

/**
 * Smoke test of the local real-peer stack itself: an image built by the real buildkitd is pushed
 * to the TLS + htpasswd registry and found through the registry API, and the sample chart is
 * installed by real Helm 3 and Helm 4 into fresh namespaces where the sample app, pulled from the TLS
 * registry with the namespace's pull secret, becomes Ready on the real node (node.test.ts covers
 * the node itself).
 */
const namespaces: string[] = [];
afterAll(() => namespaces.forEach(deleteNamespace));

describe('local stack', () => {
  let digest = '';
  const repository = `slipway/smoke-${process.pid}`;

  it('refuses anonymous pushes and pulls on the TLS registry', async () => {
    const anonymous = await registryRequest(stackFact('REGISTRY_TLS'), '/v2/', { auth: false });
    expect(anonymous.status).toBe(401);
    expect(String(anonymous.headers['www-authenticate'])).toMatch(/^Basic realm="slipway"/);
    expect((await registryRequest(stackFact('REGISTRY_TLS'), '/v2/')).status).toBe(200);
  });

  it('builds with buildkitd and pushes to the TLS + auth registry', () => {
    const dockerConfig = writeDockerConfig();
    try {
      const pushed = pushScratchImage(
        `${stackFact('REGISTRY_TLS')}/${repository}:smoke`,
        dockerConfig
      );
      expect({ status: pushed.status, stderr: pushed.status === 0 ? '' : pushed.stderr }).toEqual({
        status: 0,
        stderr: ''
      });
      digest = pushed.digest ?? '';
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    } finally {
      rmSync(dockerConfig, { recursive: true, force: true });
    }
  });

  it('lists the pushed image through the registry API', async () => {
    expect(await catalogRepositories(stackFact('REGISTRY_TLS'))).toContain(repository);
    const tags = JSON.parse(
      (await registryRequest(stackFact('REGISTRY_TLS'), `/v2/${repository}/tags/list`)).body
    );
    expect(tags.tags).toEqual(['smoke']);
    expect(await manifestDigest(stackFact('REGISTRY_TLS'), repository, 'smoke')).toBe(digest);
  });

  it.each([
    ['Helm 3', 'HELM3', 'v3.'],
    ['Helm 4', 'HELM4', 'v4.']
  ])(
    '%s installs the sample chart into a new namespace that becomes Ready',
    (_, helmKey, major) => {
      const helm = stackFact(helmKey);
      expect(
        execFileSync(helm, ['version', '--template', '{{.Version}}'], { encoding: 'utf8' })
      ).toMatch(new RegExp(`^${major.replace('.', '\\.')}`));
      const namespace = uniqueName(`smoke-${helmKey.toLowerCase()}`);
      namespaces.push(namespace);
      kubectl(['create', 'namespace', namespace]);
      applyRegistrySecret(namespace);
      const values = path.join(mkdtempSync(path.join(tmpdir(), 'smoke-values-')), 'values.yaml');
      writeFileSync(
        values,
        [
          'image:',
          `  repository: ${stackFact('SAMPLE_APP_IMAGE_TLS')}`,
          `  digest: ${stackFact('SAMPLE_APP_V1_DIGEST')}`,
          'imagePullSecrets:',
          '  - name: registry-credentials',
          'replicaCount: 2',
          ''
        ].join('\n')
      );
      execFileSync(
        helm,
        [
          'upgrade',
          '--install',
          'smoke',
          path.join(projectRoot, 'examples/charts/sample-app'),
          '--namespace',
          namespace,
          '--wait',
          '--timeout',
          '2m',
          '--values',
          values,
          '--kubeconfig',
          stackFact('KUBECONFIG')
        ],
        { stdio: 'pipe' }
      );
      const deployment = JSON.parse(
        kubectl(['-n', namespace, 'get', 'deployment', 'smoke-sample-app', '-o', 'json'])
      );
      expect(deployment.status.readyReplicas).toBe(2);
      expect(deployment.spec.template.spec.containers[0].image).toBe(
        `${stackFact('SAMPLE_APP_IMAGE_TLS')}@${stackFact('SAMPLE_APP_V1_DIGEST')}`
      );
      const nodes = kubectl([
        '-n',
        namespace,
        'get',
        'pods',
        '-o',
        'jsonpath={.items[*].spec.nodeName}'
      ]).split(' ');
      expect(nodes).toEqual([stackFact('NODE_NAME'), stackFact('NODE_NAME')]);
    }
  );
});
