import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot, runMain, runPost, visibleText } from '../helpers/action-runner.js';
import {
  applyRegistrySecret,
  deleteNamespace,
  kubectl,
  readyPodImageDigests,
  uniqueName
} from '../helpers/kube.js';
import { manifestDigest } from '../helpers/registry.js';
import { answerOf, writeSampleAppContext } from '../helpers/sample-app.js';
import { pathWithHelm, registryPassword, stackFact } from '../helpers/stack.js';

/**
 * The root action with `builder: kubernetes` on the real node, the seed's flow in one step: a
 * builder pod in the cluster that trusts the registry's private CA (`builder-registry-ca`, mounted
 * next to its buildkitd.toml), credentials from a Secret for the TLS + auth registry's in-cluster
 * name, the build pushed by that name from inside the cluster, deployed by digest with a pull
 * secret made from the same login, and the app answers. The post step deletes the builder pod.
 */
const namespace = uniqueName('root-k8s');
const target = uniqueName('root-k8s-app');
const registry = stackFact('REGISTRY_TLS_IN_CLUSTER');

beforeAll(() => {
  kubectl(['create', 'namespace', namespace]);
  applyRegistrySecret(namespace, { server: registry });
});
afterAll(() => [namespace, target].forEach(deleteNamespace));

describe('root action with builder: kubernetes', () => {
  it('builds in a builder pod, pushes to the TLS registry by its in-cluster name, deploys, and the app answers', async () => {
    const repository = `slipway/root-k8s-${process.pid}`;
    const env = { KUBECONFIG: stackFact('KUBECONFIG'), PATH: pathWithHelm() };
    const source = writeSampleAppContext(
      path.join(mkdtempSync(path.join(tmpdir(), 'root-k8s-')), 'app'),
      `root-k8s-${Date.now()}`
    );
    const main = await runMain(
      'slipway',
      {
        builder: 'kubernetes',
        'builder-namespace': namespace,
        'builder-image': stackFact('BUILDKIT_IMAGE'),
        'buildkitd-config': `[registry."${registry}"]\n  ca = ["/etc/buildkit/registry-ca.pem"]\n`,
        'builder-registry-ca': readFileSync(stackFact('REGISTRY_CA'), 'utf8'),
        'buildkit-version': stackFact('BUILDKIT_VERSION'),
        'buildkit-download-url': stackFact('BUILDKIT_DOWNLOAD_URL'),
        'secret-name': 'registry-credentials',
        'secret-namespace': namespace,
        // The runner does not resolve the in-cluster name; the push from the pod proves the login.
        'registry-verify': 'false',
        source,
        image: `${registry}/${repository}`,
        tags: 'k8s',
        chart: path.join(projectRoot, 'examples/charts/sample-app'),
        release: 'web',
        namespace: target,
        set: 'message=built by the root action in the cluster',
        'deploy-timeout': '90s'
      },
      { env, timeoutMs: 280_000 }
    );
    const addr = main.exportedEnv.BUILDKIT_HOST ?? '';
    const pod = addr.slice('kube-pod://'.length, addr.indexOf('?'));
    try {
      expect({
        code: main.exitCode,
        errors: main.stdout.split('\n').filter(line => line.startsWith('::error'))
      }).toEqual({ code: 0, errors: [] });
      expect(addr).toMatch(
        new RegExp(`^kube-pod://slipway-buildkitd-[0-9a-f]{8}\\?namespace=${namespace}$`)
      );
      const digest = await manifestDigest(stackFact('REGISTRY_TLS'), repository, 'k8s');
      expect(main.outputs.imageref).toBe(`${registry}/${repository}@${digest}`);
      expect(await readyPodImageDigests(target)).toEqual([digest]);
      expect(await answerOf(kubectl, target, 'web-sample-app')).toBe(
        'built by the root action in the cluster (version dev)\n'
      );
      expect(visibleText(main)).not.toContain(registryPassword());
    } finally {
      const post = await runPost('slipway', main, {}, { env });
      expect(post.exitCode).toBe(0);
      if (pod) expect(post.stdout).toContain(`Deleted builder pod ${namespace}/${pod}`);
    }
    expect(
      kubectl(['-n', namespace, 'get', 'pod,configmap', pod, '--ignore-not-found', '-o', 'name'])
    ).toBe('');
  }, 300_000);
});
