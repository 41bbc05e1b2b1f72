import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot, runMain, runPost, visibleText } from '../helpers/action-runner.js';
import { pushSourceChange } from '../helpers/git.js';
import {
  applyRegistrySecret,
  deleteNamespace,
  kubectl,
  readyPodImageDigests,
  uniqueName
} from '../helpers/kube.js';
import { answerOf } from '../helpers/sample-app.js';
import { manifestDigest } from '../helpers/registry.js';
import { registryPassword, pathWithHelm, stackFact } from '../helpers/stack.js';

/**
 * The root action (whole flow in one step) through its real bundle on the real stack: credentials
 * from a Secret in the cluster, the sample app built from the git server and pushed to the TLS +
 * auth registry, digest checked against the registry, everything cleaned up by the post step.
 */
const namespace = uniqueName('slipway-root');

beforeAll(() => {
  kubectl(['create', 'namespace', namespace]);
  applyRegistrySecret(namespace);
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

  it('deploys by digest with Helm; a second run with the same tag and changed source rolls out a new ReplicaSet', async () => {
    const repository = `slipway/flow-${namespace}`;
    const target = uniqueName('slipway-flow');
    const branch = `flow-${target}`;
    const inputs = {
      builder: stackFact('BUILDKIT_TCP_ADDR'),
      'buildkit-version': stackFact('BUILDKIT_VERSION'),
      'buildkit-download-url': stackFact('BUILDKIT_DOWNLOAD_URL'),
      'secret-name': 'registry-credentials',
      'secret-namespace': namespace,
      'registry-ca-file': stackFact('REGISTRY_CA'),
      image: `${stackFact('REGISTRY_TLS')}/${repository}`,
      tags: 'same',
      chart: path.join(projectRoot, 'examples/charts/sample-app'),
      release: 'sample-app',
      namespace: target,
      'namespace-labels': 'slipway.dev/flow=test',
      set: 'message=deployed\\, by "Slipway"',
      'check-path': '/healthz',
      'deploy-timeout': '2m',
      ttl: '72h'
    };
    const env = {
      KUBECONFIG: stackFact('KUBECONFIG'),
      PATH: pathWithHelm()
    };
    try {
      const runs = [];
      for (const change of ['one', 'two']) {
        const source = pushSourceChange(branch, change);
        const run = await runMain('slipway', { ...inputs, source }, { env });
        expect({
          exitCode: run.exitCode,
          errors: run.stdout.split('\n').filter(l => l.startsWith('::error'))
        }).toEqual({ exitCode: 0, errors: [] });
        expect(run.stdout).toContain('Stage 4/4: deploy with Helm');
        const registryDigest = await manifestDigest(stackFact('REGISTRY_TLS'), repository, 'same');
        expect(run.outputs.digest).toBe(registryDigest);
        const pinned = `${stackFact('REGISTRY_TLS')}/${repository}@${registryDigest}`;
        const deployment = JSON.parse(
          kubectl(['get', 'deployment', 'sample-app', '-n', target, '-o', 'json'])
        );
        expect(deployment.spec.template.spec.containers[0].image).toBe(pinned);
        expect(deployment.status.readyReplicas).toBe(1);
        // The real node pulled the pushed digest (with the pull secret the action made in the
        // new namespace) and the app answers.
        expect(await readyPodImageDigests(target)).toEqual([registryDigest]);
        expect(await answerOf(kubectl, target, 'sample-app')).toBe(
          'deployed, by "Slipway" (version 1.0.0)\n'
        );
        expect(run.outputs).toMatchObject({
          release: 'sample-app',
          namespace: target,
          status: 'deployed',
          url: `http://sample-app.${target}.svc.cluster.local:80/healthz`
        });
        expect(run.stdout).toContain('Smoke check GET /healthz on Service sample-app:80: 200 ok');
        // ttl reached the deploy stage: the namespace it created carries the expiry it output.
        const annotations = JSON.parse(kubectl(['get', 'namespace', target, '-o', 'json'])).metadata
          .annotations as Record<string, string>;
        expect(run.outputs['expires-at']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
        expect(annotations['slipway.dev/expires-at']).toBe(run.outputs['expires-at']);
        expect(visibleText(run)).not.toContain(registryPassword());
        expect((await runPost('slipway', run)).exitCode).toBe(0);
        runs.push(run);
      }
      expect(runs.map(r => r.outputs.revision)).toEqual(['1', '2']);
      expect(runs[1]?.outputs.digest).not.toBe(runs[0]?.outputs.digest);
      const replicaSets = JSON.parse(
        kubectl(['get', 'replicasets', '-n', target, '-o', 'json'])
      ).items;
      expect(replicaSets).toHaveLength(2);
    } finally {
      deleteNamespace(target);
    }
  }, 300_000);

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
    expect(run.state.setup_buildkitd_pid).toBeUndefined();
  });
});
