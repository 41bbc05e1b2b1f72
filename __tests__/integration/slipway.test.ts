import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { runMain, runPost, visibleText } from '../helpers/action-runner.js';
import { deleteNamespace, kubectl, uniqueName } from '../helpers/kube.js';
import { manifestDigest } from '../helpers/registry.js';
import { registryPassword, stackFact } from '../helpers/stack.js';

/**
 * The root action (whole flow in one step) through its real bundle on the real stack: credentials
 * from a Secret in the cluster, the sample app built from the git server and pushed to the TLS +
 * auth registry, digest checked against the registry, everything cleaned up by the post step.
 */
const namespace = uniqueName('slipway-root');

beforeAll(() => {
  kubectl(['create', 'namespace', namespace]);
  const auth = Buffer.from(`${stackFact('REGISTRY_USER')}:${registryPassword()}`).toString(
    'base64'
  );
  const dockerconfig = JSON.stringify({ auths: { [stackFact('REGISTRY_TLS')]: { auth } } });
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/dockerconfigjson',
    metadata: { name: 'registry-credentials', namespace },
    data: { '.dockerconfigjson': Buffer.from(dockerconfig).toString('base64') }
  };
  kubectl(['apply', '-f', '-'], JSON.stringify(secret));
});
afterAll(() => deleteNamespace(namespace));

describe('root action', () => {
  it('builds from the git server and pushes with credentials from the Secret; post cleans up', async () => {
    const repository = `slipway/root-${namespace}`;
    const inputs = {
      builder: stackFact('BUILDKIT_TCP_ADDR'),
      'buildkit-version': stackFact('BUILDKIT_VERSION'),
      'buildkit-download-url': stackFact('BUILDKIT_DOWNLOAD_URL'),
      'secret-name': 'registry-credentials',
      'secret-namespace': namespace,
      'registry-ca-file': stackFact('REGISTRY_CA'),
      source: `${stackFact('SAMPLE_APP_GIT')}#v1.0.0:app`,
      image: `${stackFact('REGISTRY_TLS')}/${repository}`,
      tags: '7'
    };
    const main = await runMain('slipway', inputs, { env: { KUBECONFIG: stackFact('KUBECONFIG') } });
    expect({
      exitCode: main.exitCode,
      errors: main.stdout.split('\n').filter(l => l.startsWith('::error'))
    }).toEqual({ exitCode: 0, errors: [] });
    const registryDigest = await manifestDigest(stackFact('REGISTRY_TLS'), repository, '7');
    expect(main.outputs.digest).toBe(registryDigest);
    expect(main.outputs.imageref).toBe(
      `${stackFact('REGISTRY_TLS')}/${repository}@${registryDigest}`
    );
    expect(main.outputs.image).toBe(`${stackFact('REGISTRY_TLS')}/${repository}:7`);
    expect(main.outputs['buildkit-version']).toBe(stackFact('BUILDKIT_VERSION'));
    expect(main.exportedEnv.BUILDKIT_HOST).toBe(stackFact('BUILDKIT_TCP_ADDR'));
    const dockerConfig = main.exportedEnv.DOCKER_CONFIG ?? '';
    expect(existsSync(`${dockerConfig}/config.json`)).toBe(true);
    expect(main.stdout).toMatch(
      /Stage 1\/3: BuildKit builder[\s\S]*Stage 2\/3: registry credentials[\s\S]*Stage 3\/3: build and push/
    );
    expect(visibleText(main)).not.toContain(registryPassword());

    const post = await runPost('slipway', main);
    expect(post.exitCode).toBe(0);
    expect(existsSync(dockerConfig)).toBe(false);
    expect(visibleText(post)).not.toContain(registryPassword());
  });

  it('validates every stage before running any: a bad source fails before the builder is set up', async () => {
    const run = await runMain('slipway', {
      builder: 'local',
      'secret-name': 'registry-credentials',
      image: 'r.example/app',
      source: 'http://host/not-a-repo'
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/::error::Input "source" /);
    expect(run.stdout).not.toContain('Stage 1/3');
    expect(run.state.buildkitdPid).toBeUndefined();
  });
});
