import { describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { projectRoot, runMain, type ActionRun } from '../helpers/action-runner.js';
import { kubectl, namespacesDeletedAfterAll, readyPodImageDigests } from '../helpers/kube.js';
import { answerOf } from '../helpers/sample-app.js';
import { pathWithHelm, stackFact } from '../helpers/stack.js';

/**
 * Rollouts that fail for real on the stack's node (a kubelet and containerd that pull and run
 * images), deployed through the action's bundle with `atomic`: what the user reads (the
 * Diagnostics log group, the ::error:: annotation, the job summary) names the cause, and after the
 * rollback the previous revision still serves and answers over HTTP. Each case installs revision 1
 * (the sample app 1.0.0 from the plain registry), fails revision 2, and expects revision 3.
 */
const chart = path.join(projectRoot, 'examples/charts/sample-app');
const newNamespace = namespacesDeletedAfterAll();

const env = () => ({ PATH: pathWithHelm(stackFact('HELM4')), KUBECONFIG: stackFact('KUBECONFIG') });
const plain = () => stackFact('SAMPLE_APP_IMAGE_PLAIN');
const v1 = () => stackFact('SAMPLE_APP_V1_DIGEST');

/** The lines of a log group, as the runner folds them. */
function logGroup(stdout: string, title: string): string {
  const start = stdout.indexOf(`::group::${title}\n`);
  if (start < 0) throw new Error(`no log group ${title} in:\n${stdout}`);
  const end = stdout.indexOf('::endgroup::', start);
  return stdout.slice(start, end < 0 ? undefined : end);
}

/** The ::error:: annotation's text, unescaped as the runner shows it. */
function errorAnnotation(stdout: string): string {
  const line = stdout.split('\n').find(l => l.startsWith('::error::'));
  if (!line) throw new Error(`no ::error:: annotation in:\n${stdout}`);
  return line
    .slice('::error::'.length)
    .replace(/%0D/g, '\r')
    .replace(/%0A/g, '\n')
    .replace(/%25/g, '%');
}

interface Failure {
  run: ActionRun;
  diagnostics: string;
  error: string;
}

/**
 * Installs the good release, then the failing one (short timeout), and checks the rollback: the
 * outputs, the outcome line, and that the previous release answers over HTTP on image 1.0.0.
 */
async function failAfterGood(prefix: string, bad: Record<string, string>): Promise<Failure> {
  const namespace = newNamespace(prefix);
  const good = { release: 'web', namespace, chart, image: plain(), digest: v1(), timeout: '60s' };
  const first = await runMain('helm-deploy-namespace', good, { env: env() });
  expect(first.exitCode).toBe(0);

  const run = await runMain(
    'helm-deploy-namespace',
    { ...good, timeout: '20s', ...bad },
    { env: env() }
  );
  expect(run.exitCode).toBe(1);
  const diagnostics = logGroup(run.stdout, 'Diagnostics');
  const error = errorAnnotation(run.stdout);
  // Diagnostics come before the rollback: they saw the failing pod, not the restored release.
  expect(diagnostics).toMatch(
    /^Pods not Ready:\nPod web-sample-app-[a-z0-9]+-[a-z0-9]+: phase [A-Z][a-z]+/m
  );
  expect(run.stdout.indexOf('::group::Diagnostics')).toBeLessThan(
    run.stdout.indexOf('::group::helm rollback web 1')
  );
  expect(error).toContain('rolled back: revision 3 serves the previous release.');
  expect(run.summary).toContain('helm-deploy-namespace: failed');
  expect(run.summary).toContain('rolled back: revision 3 serves the previous release');
  expect(run.outputs).toMatchObject({ revision: '3', status: 'deployed' });
  // The previous release serves: its pod runs 1.0.0 and answers through its Service.
  // (The image ID names whichever repository the node first pulled these bytes from.)
  expect(await readyPodImageDigests(namespace)).toEqual([v1()]);
  expect(await answerOf(kubectl, namespace, 'web-sample-app')).toBe(
    'Hello from Slipway (version 1.0.0)\n'
  );
  return { run, diagnostics, error };
}

/** The cause must read the same in the log group, the error annotation and the job summary. */
function expectEverywhere(failure: Failure, ...texts: Array<string | RegExp>): void {
  for (const text of texts) {
    for (const [where, seen] of [
      ['Diagnostics group', failure.diagnostics],
      ['::error:: annotation', failure.error],
      ['job summary', failure.run.summary]
    ] as const) {
      try {
        if (typeof text === 'string') expect(seen).toContain(text);
        else expect(seen).toMatch(text);
      } catch (error) {
        throw new Error(`${where}: ${(error as Error).message}`, { cause: error });
      }
    }
  }
}

describe('helm-deploy-namespace diagnoses real rollout failures and rolls back (Helm 4)', () => {
  it('ImagePullBackOff: an image of the registry with auth, and no pull secret (401)', async () => {
    const image = `${stackFact('SAMPLE_APP_IMAGE_TLS')}@${v1()}`;
    const failure = await failAfterGood('diag-auth', {
      image: stackFact('SAMPLE_APP_IMAGE_TLS'),
      // Always: an image the node pulled earlier with credentials must not hide the refusal.
      set: 'image.pullPolicy=Always'
    });
    expectEverywhere(
      failure,
      new RegExp(
        `Pod web-sample-app-[a-z0-9-]+: image ${image.replace(/[.]/g, '\\.')} cannot be pulled \\((ErrImagePull|ImagePullBackOff)\\)`
      ),
      `the registry ${stackFact('REGISTRY_TLS')} refused the pull (unauthorized) and the pod has no image pull secret: set image-pull-secret`,
      'authorization failed: no basic auth credentials'
    );
  }, 180_000);

  it('ErrImagePull: a tag the registry does not have (not found)', async () => {
    const image = `${plain()}:no-such-tag`;
    const failure = await failAfterGood('diag-tag', { image, digest: '' });
    expectEverywhere(
      failure,
      new RegExp(
        `image ${image.replace(/[.]/g, '\\.')} cannot be pulled \\((ErrImagePull|ImagePullBackOff)\\)`
      ),
      `${stackFact('REGISTRY_PLAIN')} has no such image (not found): check the repository, tag or digest`,
      `${image}: not found`
    );
  }, 180_000);

  it('CrashLoopBackOff: the exit code and the last log line of the crashed run', async () => {
    const failure = await failAfterGood('diag-crash', {
      set: 'env[0].name=LISTEN_ADDR\nenv[0].value=bad'
    });
    expectEverywhere(
      failure,
      /container app exits with code 1 \(Error\)( and waits in CrashLoopBackOff)?, \d+ restarts?; its last log line: \S+ \S+ listen tcp: address bad: missing port in address/
    );
    expect(failure.diagnostics).toMatch(
      /Last 20 log lines of web-sample-app-[a-z0-9-]+\/app( \(previous run\))?:\n.*sample-app 1\.0\.0 listening on bad\n.*listen tcp: address bad/
    );
  }, 180_000);

  it('a readiness probe that never passes: the probe failure message', async () => {
    // The app listens on another port than the one the chart's probes ask.
    const failure = await failAfterGood('diag-ready', {
      set: 'env[0].name=LISTEN_ADDR\nenv[0].value=:9090'
    });
    expectEverywhere(
      failure,
      /container app runs but never becomes Ready(, \d+ restarts?)?: Readiness probe failed: Get "http:\/\/[0-9.]+:8080\/healthz": dial tcp [0-9.]+:8080: connect: connection refused/
    );
  }, 180_000);

  it('OOMKilled: the exit code and the memory limit', async () => {
    const failure = await failAfterGood('diag-oom', {
      // The app allocates and touches 64 MiB at start (examples/sample-app ALLOCATE_MB).
      'set-string': 'env[0].name=ALLOCATE_MB\nenv[0].value=64',
      set: 'resources.limits.memory=32Mi'
    });
    expectEverywhere(
      failure,
      /container app was OOMKilled \(exit 137, memory limit 32Mi\), \d+ restarts?: it needs more memory than its limit/
    );
  }, 180_000);

  it('Pending: FailedScheduling with the scheduler’s reason', async () => {
    const failure = await failAfterGood('diag-pending', {
      set: 'nodeSelector.slipway\\.dev/pool=does-not-exist'
    });
    expectEverywhere(
      failure,
      /cannot be scheduled \(Unschedulable\): 0\/\d+ nodes are available: 1 node\(s\) didn't match Pod's node affinity\/selector/
    );
    expect(failure.diagnostics).toMatch(/Warning FailedScheduling Pod\/web-sample-app-/);
  }, 180_000);
});
