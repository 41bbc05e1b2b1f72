import { expect, it } from '@jest/globals';
import path from 'node:path';
import { projectRoot, runMain, runPost } from '../helpers/action-runner.js';
import { kubectl, namespacesDeletedAfterAll } from '../helpers/kube.js';
import { pathWithHelm, stackFact } from '../helpers/stack.js';

/** Concurrent deploys of one release take turns through the Lease (issue 19, item 2). */
const chart = path.join(projectRoot, 'examples/charts/sample-app');
const newNamespace = namespacesDeletedAfterAll();

const image = (version: 1 | 2) =>
  `${stackFact('SAMPLE_APP_IMAGE_PLAIN')}@${stackFact(`SAMPLE_APP_V${version}_DIGEST`)}`;
const env = () => ({ PATH: pathWithHelm(stackFact('HELM4')), KUBECONFIG: stackFact('KUBECONFIG') });

it('runs four deploys of one release started at once in turn, ending at revision 4', async () => {
  const namespace = newNamespace('hdl');
  kubectl(['create', 'namespace', namespace]);
  const runs = await Promise.all(
    [1, 2, 3, 4].map(n =>
      runMain(
        'helm-deploy-namespace',
        {
          release: 'web',
          namespace,
          chart,
          image: image(n % 2 === 0 ? 2 : 1),
          set: `message=run ${n}`,
          timeout: '2m'
        },
        { env: { ...env(), GITHUB_RUN_ID: String(n), GITHUB_JOB: 'deploy' } }
      )
    )
  );
  for (const run of runs) if (run.exitCode) console.log(run.stdout.slice(-2500), run.stderr);
  for (const run of runs) expect(run.exitCode).toBe(0);
  expect(runs.map(run => Number(run.outputs.revision)).sort()).toEqual([1, 2, 3, 4]);
  expect(runs.filter(run => run.stdout.includes('Waiting for ')).length).toBeGreaterThanOrEqual(1);
  const leases = JSON.parse(kubectl(['get', 'leases', '-n', namespace, '-o', 'json']));
  expect(leases.items).toHaveLength(0);
  // Each main step released its lock: the post step has no lease to look for.
  const post = await runPost(
    'helm-deploy-namespace',
    runs[0] as (typeof runs)[0],
    {},
    { env: env() }
  );
  expect(post.exitCode).toBe(0);
  expect(post.stdout).not.toMatch(/lease/i);
}, 600_000);
