import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot, runMain, runPost } from '../helpers/action-runner.js';
import { deleteNamespace, kubectl, readyPodImageDigests, uniqueName } from '../helpers/kube.js';
import { manifestDigest } from '../helpers/registry.js';
import { answerOf, writeSampleAppContext } from '../helpers/sample-app.js';
import { pathWithHelm, stackFact } from '../helpers/stack.js';

/**
 * `addr: kubernetes` end to end on the real node, as the seed runs BuildKit: setup-buildctl starts
 * a privileged buildkitd pod (the stack's BuildKit image, what moby/buildkit holds), buildctl
 * reaches it through `kube-pod://` (kubectl exec via the API server and the kubelet), the build
 * runs inside the cluster and pushes to the registry by its in-cluster name, the kubelet pulls
 * that digest under the same name, the app answers, and the post step deletes the pod.
 */
const namespace = uniqueName('bk-e2e');
const target = uniqueName('bk-app');
beforeAll(() => {
  kubectl(['create', 'namespace', namespace]);
});
afterAll(() => [namespace, target].forEach(deleteNamespace));

describe('setup-buildctl addr: kubernetes on the real node', () => {
  it('builds in a builder pod, pushes by the in-cluster registry name, deploys, and the app answers', async () => {
    const registry = stackFact('REGISTRY_PLAIN_IN_CLUSTER');
    const env = { KUBECONFIG: stackFact('KUBECONFIG'), PATH: pathWithHelm() };
    const started = Date.now();
    const setup = await runMain(
      'setup-buildctl',
      {
        version: stackFact('BUILDKIT_VERSION'),
        'download-url': stackFact('BUILDKIT_DOWNLOAD_URL'),
        addr: 'kubernetes',
        'builder-namespace': namespace,
        'builder-image': stackFact('BUILDKIT_IMAGE'),
        // The in-cluster name of the stack's plain registry speaks HTTP.
        'buildkitd-config': `[registry."${registry}"]\n  http = true\n`,
        timeout: '90s'
      },
      { env }
    );
    const readyMs = Date.now() - started;
    expect({ code: setup.exitCode, log: setup.exitCode ? setup.stdout.slice(-3000) : '' }).toEqual({
      code: 0,
      log: ''
    });
    const addr = setup.outputs.addr ?? '';
    expect(addr).toMatch(
      new RegExp(`^kube-pod://slipway-buildkitd-[0-9a-f]{8}\\?namespace=${namespace}$`)
    );
    const pod = addr.slice('kube-pod://'.length, addr.indexOf('?'));
    expect(kubectl(['-n', namespace, 'get', 'pod', pod, '-o', 'jsonpath={.spec.nodeName}'])).toBe(
      stackFact('NODE_NAME')
    );

    try {
      const repository = `slipway/pod-built-${process.pid}`;
      const context = writeSampleAppContext(
        path.join(mkdtempSync(path.join(tmpdir(), 'pod-build-')), 'app'),
        `pod-${Date.now()}`
      );
      const buildStarted = Date.now();
      const build = await runMain(
        'buildpack-build',
        { context, image: `${registry}/${repository}`, tags: 'in-cluster' },
        // What the runner gives later steps: setup's exported env and PATH addition.
        {
          env: {
            ...env,
            ...setup.exportedEnv,
            PATH: [...setup.addedPath, env.PATH].join(':')
          }
        }
      );
      const buildMs = Date.now() - buildStarted;
      expect({
        code: build.exitCode,
        log: build.exitCode ? build.stdout.slice(-3000) : ''
      }).toEqual({ code: 0, log: '' });
      // The push went through the cluster: the runner finds it in the registry (127.0.0.1 side).
      const digest = await manifestDigest(stackFact('REGISTRY_PLAIN'), repository, 'in-cluster');
      expect(build.outputs.digest).toBe(digest);

      const deploy = await runMain(
        'helm-deploy-namespace',
        {
          release: 'web',
          namespace: target,
          chart: path.join(projectRoot, 'examples/charts/sample-app'),
          image: build.outputs.imageref ?? '',
          set: 'message=built in the cluster',
          timeout: '90s'
        },
        { env }
      );
      expect({
        code: deploy.exitCode,
        log: deploy.exitCode ? deploy.stdout.slice(-3000) : ''
      }).toEqual({ code: 0, log: '' });
      expect(await readyPodImageDigests(target)).toEqual([digest]);
      expect(await answerOf(kubectl, target, 'web-sample-app')).toBe(
        'built in the cluster (version dev)\n'
      );
      console.log(`builder pod: Ready in ${readyMs} ms; build through kube-pod:// ${buildMs} ms`);

      // A git context, fetched by the buildkitd inside the pod from the git server's in-cluster
      // name (the runner never clones it), with a registry cache exported by the pod as well.
      const gitContext = `${stackFact('SAMPLE_APP_GIT_IN_CLUSTER')}#v1.0.0:app`;
      const fromGit = await runMain(
        'buildpack-build',
        {
          context: gitContext,
          image: `${registry}/${repository}`,
          tags: 'from-git',
          'cache-to': `type=registry,ref=${registry}/${repository}:cache,mode=max`
        },
        {
          env: {
            ...env,
            ...setup.exportedEnv,
            PATH: [...setup.addedPath, env.PATH].join(':')
          }
        }
      );
      expect({
        code: fromGit.exitCode,
        log: fromGit.exitCode ? fromGit.stdout.slice(-3000) : '',
        warnings: fromGit.stdout.split('\n').filter(line => line.startsWith('::warning'))
      }).toEqual({ code: 0, log: '', warnings: [] });
      expect(fromGit.stdout).toContain('load git source');
      expect(fromGit.outputs.digest).toBe(
        await manifestDigest(stackFact('REGISTRY_PLAIN'), repository, 'from-git')
      );
      // The cache the pod exported is in the registry, beside the image.
      expect(await manifestDigest(stackFact('REGISTRY_PLAIN'), repository, 'cache')).toMatch(
        /^sha256:[0-9a-f]{64}$/
      );
    } finally {
      const post = await runPost('setup-buildctl', setup, {}, { env });
      expect(post.exitCode).toBe(0);
      expect(post.stdout).toContain(`Deleted builder pod ${namespace}/${pod}`);
    }
    expect(
      kubectl([
        '-n',
        namespace,
        'get',
        'pod,configmap',
        pod,
        '--ignore-not-found',
        '-o',
        'name'
      ]).trim()
    ).toBe('');
  }, 300_000);
});
