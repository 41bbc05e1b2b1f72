import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot, runMain, runPost, type ActionRun } from '../helpers/action-runner.js';
import { deleteNamespace, kubectl, uniqueName } from '../helpers/kube.js';
import { manifestDigest } from '../helpers/registry.js';
import { writeSampleAppContext } from '../helpers/sample-app.js';
import { stackFact } from '../helpers/stack.js';
import { median } from '../helpers/timing.js';

/**
 * An existing in-cluster builder, as the seed runs it: examples/kind/buildkitd.yaml (a privileged
 * buildkitd Deployment behind a Service on tcp 1234) deployed on the real node, and setup-buildctl
 * given `addr: kube-service://<ns>/buildkitd`: it finds the Ready pod behind the Service and hands
 * buildctl its kube-pod:// address (kubectl exec), so no port-forward is needed. The build pushes
 * by the in-cluster registry name; the runner finds the digest in the registry.
 */
const namespace = uniqueName('bk-svc');
const registry = stackFact('REGISTRY_PLAIN_IN_CLUSTER');
const env = { KUBECONFIG: stackFact('KUBECONFIG') };
const common = {
  version: stackFact('BUILDKIT_VERSION'),
  'download-url': stackFact('BUILDKIT_DOWNLOAD_URL')
};

/** The example as a kind user applies it, moved to this test's namespace, image and registry. */
function exampleManifest(): string {
  const example = readFileSync(path.join(projectRoot, 'examples/kind/buildkitd.yaml'), 'utf8');
  for (const expected of [
    'namespace: slipway-system',
    'image: moby/buildkit:',
    'kind-registry:5000'
  ]) {
    expect(example).toContain(expected);
  }
  return example
    .replaceAll('namespace: slipway-system', `namespace: ${namespace}`)
    .replace(/image: moby\/buildkit:\S+/, `image: ${stackFact('BUILDKIT_IMAGE')}`)
    .replaceAll('kind-registry:5000', registry);
}

function expectExit(run: ActionRun, code: number): void {
  expect({ code: run.exitCode, log: run.exitCode === code ? '' : run.stdout.slice(-3000) }).toEqual(
    {
      code,
      log: ''
    }
  );
}

beforeAll(() => {
  kubectl(['create', 'namespace', namespace]);
  kubectl(['apply', '-f', '-'], exampleManifest());
  kubectl(['-n', namespace, 'rollout', 'status', 'deployment/buildkitd', '--timeout=180s']);
}, 240_000);
afterAll(() => deleteNamespace(namespace));

/** The sample app built through `buildkitHost` (as later steps see setup's outputs). */
async function buildApp(
  buildEnv: Record<string, string>,
  image: string,
  tag: string
): Promise<{ run: ActionRun; ms: number }> {
  const context = writeSampleAppContext(
    path.join(mkdtempSync(path.join(tmpdir(), 'svc-build-')), 'app'),
    `${tag}-${Date.now()}`
  );
  const started = Date.now();
  const run = await runMain('buildpack-build', { context, image, tags: tag }, { env: buildEnv });
  return { run, ms: Date.now() - started };
}

describe('setup-buildctl addr: kube-service:// or kube-deployment:// (an existing in-cluster builder)', () => {
  it('builds through the Ready pod behind the Service and pushes by the in-cluster name', async () => {
    const started = Date.now();
    const setup = await runMain(
      'setup-buildctl',
      { ...common, addr: `kube-service://${namespace}/buildkitd`, timeout: '60s' },
      { env }
    );
    const setupMs = Date.now() - started;
    expectExit(setup, 0);
    const pod = kubectl([
      '-n',
      namespace,
      'get',
      'pods',
      '-l',
      'app=buildkitd',
      '-o',
      'jsonpath={.items[0].metadata.name}'
    ]);
    expect(setup.outputs.addr).toBe(`kube-pod://${pod}?namespace=${namespace}`);
    expect(setup.stdout).toContain(`Service ${namespace}/buildkitd: builder pod ${pod} is Ready`);

    const buildEnv = {
      ...env,
      ...setup.exportedEnv,
      PATH: [...setup.addedPath, process.env.PATH ?? ''].join(':')
    };
    const repository = `slipway/svc-built-${process.pid}`;
    const timings: Record<'pod' | 'host', number[]> = { pod: [], host: [] };
    for (let round = 0; round < 3; round++) {
      const inCluster = await buildApp(buildEnv, `${registry}/${repository}`, `pod-${round}`);
      expectExit(inCluster.run, 0);
      expect(inCluster.run.outputs.digest).toBe(
        await manifestDigest(stackFact('REGISTRY_PLAIN'), repository, `pod-${round}`)
      );
      timings.pod.push(inCluster.ms);
      // The same build through the host's buildkitd, for the README's figure.
      const onHost = await buildApp(
        { ...buildEnv, BUILDKIT_HOST: stackFact('BUILDKIT_HOST') },
        `${stackFact('REGISTRY_PLAIN')}/${repository}`,
        `host-${round}`
      );
      expectExit(onHost.run, 0);
      timings.host.push(onHost.ms);
    }
    console.log(
      `kube-service:// setup ${setupMs} ms; build through the pod ${timings.pod.join('/')} ms, ` +
        `through the host's buildkitd ${timings.host.join('/')} ms; median ratio ` +
        `${(median(timings.pod) / median(timings.host)).toFixed(2)}`
    );

    // Nothing was started, so the post step leaves the builder alone.
    const post = await runPost('setup-buildctl', setup, {}, { env });
    expect(post.exitCode).toBe(0);
    expect(kubectl(['-n', namespace, 'get', 'pod', pod, '-o', 'name']).trim()).toBe(`pod/${pod}`);
  }, 300_000);

  it("builds through kube-deployment:// (the Deployment's Ready pod) with buildpack-build, pushing by the in-cluster name", async () => {
    const setup = await runMain(
      'setup-buildctl',
      { ...common, addr: `kube-deployment://${namespace}/buildkitd`, timeout: '60s' },
      { env }
    );
    expectExit(setup, 0);
    const pod = kubectl([
      '-n',
      namespace,
      'get',
      'pods',
      '-l',
      'app=buildkitd',
      '--field-selector=status.phase=Running',
      '-o',
      'jsonpath={.items[0].metadata.name}'
    ]);
    expect(setup.outputs.addr).toBe(`kube-pod://${pod}?namespace=${namespace}`);
    expect(setup.exportedEnv.BUILDKIT_HOST).toBe(setup.outputs.addr);
    expect(setup.stdout).toContain(
      `Deployment ${namespace}/buildkitd: builder pod ${pod} is Ready`
    );
    expect(setup.summary).toContain(`a Ready pod behind kube-deployment://${namespace}/buildkitd`);

    // buildpack-build's real entry point, on the builder setup-buildctl exported (BUILDKIT_HOST).
    const repository = `slipway/deployment-built-${process.pid}`;
    const { run } = await buildApp(
      {
        ...env,
        ...setup.exportedEnv,
        PATH: [...setup.addedPath, process.env.PATH ?? ''].join(':')
      },
      `${registry}/${repository}`,
      'deploy-1'
    );
    expectExit(run, 0);
    expect(run.stdout).toContain(
      `buildctl --addr 'kube-pod://${pod}?namespace=${namespace}' build`
    );
    expect(run.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(run.outputs.digest).toBe(
      await manifestDigest(stackFact('REGISTRY_PLAIN'), repository, 'deploy-1')
    );
    expect((await runPost('setup-buildctl', setup, {}, { env })).exitCode).toBe(0);
  }, 300_000);

  it('names the input and the reason when no pod behind the Service is Ready', async () => {
    kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'nobody', namespace },
            spec: { selector: { app: 'nobody' }, ports: [{ port: 1234 }] }
          },
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'unpullable', namespace },
            spec: { selector: { app: 'unpullable' }, ports: [{ port: 1234 }] }
          },
          {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'unpullable', namespace, labels: { app: 'unpullable' } },
            spec: {
              containers: [
                { name: 'buildkitd', image: `${stackFact('REGISTRY_PLAIN')}/slipway/absent:1` }
              ]
            }
          }
        ]
      })
    );
    const nobody = await runMain(
      'setup-buildctl',
      { ...common, addr: `kube-service://${namespace}/nobody`, timeout: '3s' },
      { env }
    );
    expectExit(nobody, 1);
    expect(nobody.stdout).toContain(
      `::error::Input "addr" is kube-service://${namespace}/nobody, but no pod behind Service ${namespace}/nobody became Ready within 3.0 s: no pod matches its selector app=nobody.`
    );

    const unpullable = await runMain(
      'setup-buildctl',
      { ...common, addr: `kube-service://${namespace}/unpullable`, timeout: '10s' },
      { env }
    );
    expectExit(unpullable, 1);
    expect(unpullable.stdout).toMatch(
      new RegExp(
        `::error::Input "addr" is kube-service://${namespace}/unpullable, but no pod behind Service ${namespace}/unpullable became Ready within 10.0 s: pod unpullable: (ErrImagePull|ImagePullBackOff|phase Pending)`
      )
    );

    const missing = await runMain(
      'setup-buildctl',
      { ...common, addr: `kube-deployment://${namespace}/absent` },
      { env }
    );
    expectExit(missing, 1);
    expect(missing.stdout).toContain(
      `::error::Input "addr" is kube-deployment://${namespace}/absent, but Deployment ${namespace}/absent does not exist.`
    );
  }, 120_000);
});
