import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import { callerRepository, readResult, runAct } from '../helpers/act.js';
import { projectRoot } from '../helpers/action-runner.js';
import { pushSourceChange } from '../helpers/git.js';
import {
  applyRegistrySecret,
  deleteNamespace,
  getFromPod,
  kubectl,
  readyPodImageDigests,
  uniqueName
} from '../helpers/kube.js';
import { manifestDigest } from '../helpers/registry.js';
import { answerOf } from '../helpers/sample-app.js';
import { registryPassword, stackFact } from '../helpers/stack.js';

/**
 * The whole flow under act, as a laptop user runs it: a separate repository (a temp dir, not this
 * one) whose workflow uses `slipway/slipway@v0` or calls
 * `slipway/slipway/.github/workflows/deliver.yml@v0`, both resolved by scripts/act to a published
 * copy of this checkout. Everything runs on the host against the local stack.
 */
const secretNamespace = uniqueName('slipway-act');
const created: string[] = [secretNamespace];
const tempDirs: string[] = [];

beforeAll(() => {
  kubectl(['create', 'namespace', secretNamespace]);
  applyRegistrySecret(secretNamespace);
});
afterAll(() => {
  created.forEach(deleteNamespace);
  tempDirs.forEach(dir => rmSync(dir, { recursive: true, force: true }));
});

/** A fresh git repository holding the chart and one workflow, as another team's repo would. */
async function chartRepository(workflow: string): Promise<string> {
  const repo = await callerRepository(workflow, dir =>
    cpSync(path.join(projectRoot, 'examples/charts/sample-app'), path.join(dir, 'deploy/chart'), {
      recursive: true
    })
  );
  tempDirs.push(repo);
  return repo;
}

async function expectDeployedByDigest(
  result: Record<string, string>,
  repository: string,
  tag: string,
  namespace: string,
  deployment: string
): Promise<void> {
  const registryDigest = await manifestDigest(stackFact('REGISTRY_TLS'), repository, tag);
  expect(result.digest).toBe(registryDigest);
  expect(result.namespace).toBe(namespace);
  const object = JSON.parse(
    kubectl(['get', 'deployment', deployment, '-n', namespace, '-o', 'json'])
  );
  expect(object.spec.template.spec.containers[0].image).toBe(
    `${stackFact('REGISTRY_TLS')}/${repository}@${registryDigest}`
  );
  expect(object.status.readyReplicas).toBe(1);
  // Pulled by the real node with the pull secret the action made (none was made by hand here).
  expect(await readyPodImageDigests(namespace)).toEqual([registryDigest]);
  expect(await answerOf(kubectl, namespace, deployment)).toMatch(/ \(version 1\.0\.0\)\n$/);
}

describe('under act, from another repository', () => {
  it('runs the root action (slipway/slipway@v0) end to end', async () => {
    const target = uniqueName('act-root');
    created.push(target);
    const repository = `slipway/${target}`;
    const source = pushSourceChange(`act-${target}`, target);
    const repo = await chartRepository(`name: flow
on: workflow_dispatch
jobs:
  flow:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - id: slipway
        uses: slipway/slipway@v0
        with:
          builder: \${{ env.BUILDKIT_TCP_ADDR }}
          buildkit-version: \${{ env.BUILDKIT_VERSION }}
          buildkit-download-url: \${{ env.BUILDKIT_DOWNLOAD_URL }}
          secret-name: registry-credentials
          secret-namespace: ${secretNamespace}
          registry-ca-file: \${{ env.REGISTRY_CA }}
          source: ${source}
          image: \${{ env.REGISTRY_TLS }}/${repository}
          tags: same
          chart: ./deploy/chart
          release: web
          namespace: ${target}
          helm-version: v4.1.4
          helm-download-url: \${{ env.HELM_DOWNLOAD_URL }}
          deploy-timeout: 2m
      - env:
          DIGEST: \${{ steps.slipway.outputs.digest }}
          REVISION: \${{ steps.slipway.outputs.revision }}
          NAMESPACE: \${{ steps.slipway.outputs.namespace }}
        run: printf 'digest=%s\\nrevision=%s\\nnamespace=%s\\n' "$DIGEST" "$REVISION" "$NAMESPACE" > "$RESULT_FILE"
`);
    const resultFile = path.join(repo, '..', `${path.basename(repo)}.result`);
    tempDirs.push(resultFile);
    const act = await runAct(repo, ['--env', `RESULT_FILE=${resultFile}`]);
    expect({ code: act.code, tail: act.code === 0 ? '' : act.output.slice(-4000) }).toEqual({
      code: 0,
      tail: ''
    });
    expect(act.output).not.toContain(registryPassword());
    const result = readResult(resultFile);
    expect(result.revision).toBe('1');
    await expectDeployedByDigest(result, repository, 'same', target, 'web-sample-app');
  }, 600_000);

  it.each([
    ['kubeconfig-path', false],
    ['the kubeconfig secret', true]
  ])(
    'calls the reusable workflow deliver.yml end to end, cluster from %s, in an environment whose url answers',
    async (_, bySecret) => {
      const target = uniqueName('act-deliver');
      created.push(target);
      const repository = `slipway/${target}`;
      const source = pushSourceChange(`act-${target}`, target);
      const repo = await chartRepository(`name: flow
on: workflow_dispatch
jobs:
  deliver:
    uses: slipway/slipway/.github/workflows/deliver.yml@v0
    with:
      builder: tcp://127.0.0.1:25234
      buildkit-version: v0.34.2
      buildkit-download-url: ${stackFact('BUILDKIT_DOWNLOAD_URL')}
      secret-name: registry-credentials
      secret-namespace: ${secretNamespace}
      registry-ca-file: ${stackFact('REGISTRY_CA')}
      source: ${source}
      image: ${stackFact('REGISTRY_TLS')}/${repository}
      tags: same
      chart: ./deploy/chart
      release: web
      namespace: ${target}
      helm-version: v4.1.4
      helm-download-url: ${stackFact('HELM_DOWNLOAD_URL')}
      deploy-timeout: 2m
      check-path: /healthz
      environment: act-preview
${bySecret ? '    secrets:\n      kubeconfig: ${{ secrets.SLIPWAY_IT_KUBECONFIG }}' : `      kubeconfig-path: ${stackFact('KUBECONFIG')}`}
  report:
    needs: deliver
    runs-on: ubuntu-latest
    steps:
      - env:
          DIGEST: \${{ needs.deliver.outputs.digest }}
          REVISION: \${{ needs.deliver.outputs.revision }}
          NAMESPACE: \${{ needs.deliver.outputs.namespace }}
          IMAGE: \${{ needs.deliver.outputs.image }}
          URL: \${{ needs.deliver.outputs.url }}
        run: printf 'digest=%s\\nrevision=%s\\nnamespace=%s\\nimage=%s\\nurl=%s\\n' "$DIGEST" "$REVISION" "$NAMESPACE" "$IMAGE" "$URL" > "$RESULT_FILE"
`);
      const resultFile = path.join(repo, '..', `${path.basename(repo)}.result`);
      tempDirs.push(resultFile);
      // By secret: the whole kubeconfig (certificates and key inline) is the secret's value, and the
      // job's KUBECONFIG (the stack's, from the env file) points nowhere, so only the secret works.
      const kubeconfig = kubectl(['config', 'view', '--raw', '--flatten', '--minify']);
      const act = await runAct(
        repo,
        [
          '--env',
          `RESULT_FILE=${resultFile}`,
          ...(bySecret
            ? ['--env', 'KUBECONFIG=/nonexistent/kubeconfig', '-s', 'SLIPWAY_IT_KUBECONFIG']
            : [])
        ],
        bySecret ? { SLIPWAY_IT_KUBECONFIG: kubeconfig, KUBECONFIG: undefined } : {}
      );
      expect({ code: act.code, tail: act.code === 0 ? '' : act.output.slice(-4000) }).toEqual({
        code: 0,
        tail: ''
      });
      expect(act.output).not.toContain(registryPassword());
      // No line of the kubeconfig's content (its key, its certificates) is in the log.
      const keyData = /client-key-data: (\S+)/.exec(kubeconfig)?.[1] ?? '';
      expect(keyData.length).toBeGreaterThan(100);
      for (const line of kubeconfig.split('\n').filter(l => /-data: /.test(l))) {
        const value = line.split(': ')[1] ?? '';
        expect(act.output).not.toContain(value.slice(0, 40));
      }
      const result = readResult(resultFile);
      expect(result.revision).toBe('1');
      expect(result.image).toBe(`${stackFact('REGISTRY_TLS')}/${repository}:same`);
      expect(result.url).toBe(`http://web-sample-app.${target}.svc.cluster.local:80/healthz`);
      await expectDeployedByDigest(result, repository, 'same', target, 'web-sample-app');
      // The environment's url (the deploy's url output) answers from inside the cluster.
      expect((await getFromPod(target, [result.url ?? ''])).trim()).toBe(`${result.url} 200 ok`);
    },
    600_000
  );
});
