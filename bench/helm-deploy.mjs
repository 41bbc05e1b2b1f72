// helm-deploy-namespace against the local stack's API server with Helm 4, three figures:
//  - deploy: the action vs raw `helm upgrade --install --rollback-on-failure --wait=watcher` of
//    the same chart, each applying a changed value into its own namespace, with the Deployment
//    at 0 replicas: the fixed cost (issue 20: <= 150 ms). With a pod, when its first readiness
//    probe lands relative to the app's start moves a rollout by up to a second at random, which
//    drowned a difference of tens of ms in five runs.
//  - deploy_rollout: the same with the pod rolled out and Ready (the real node pulls and runs it):
//    the whole deploy, rollout noise included (context, no goal: the pod's start moves it by up
//    to a second either way).
//  - setup_cache_helm: from process start to the end of the action's Helm setup, with helm in the
//    tool cache vs a cold install (mirror download, sha256 verify, extract). Goal <= 0.1x.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { median, runProcess, sideBySide, stackFacts, timeBundleToLine } from './lib.mjs';
import { COMMAND_PHASE, medianPhases, profileRun } from './profile.mjs';

export const name = 'helm-deploy';

const HELM_READY = /::endgroup::/;

export default async function helmDeploy({ root, runs }) {
  const facts = stackFacts();
  const chart = path.join(root, 'examples', 'charts', 'sample-app');
  const suffix = randomBytes(3).toString('hex');
  const actionNamespace = `bench-action-${suffix}`;
  const rawNamespace = `bench-raw-${suffix}`;
  const base = mkdtempSync(path.join(tmpdir(), 'bench-helm-'));
  const env = {
    KUBECONFIG: facts.KUBECONFIG,
    PATH: `${path.dirname(facts.HELM4)}:${process.env.PATH}`
  };
  const message = () => `bench ${randomBytes(4).toString('hex')}`;
  const profiles = [];
  const action = async (replicas = 1) => {
    const result = await profileRun(
      root,
      'helm-deploy-namespace',
      {
        release: 'web',
        namespace: actionNamespace,
        chart,
        // The sample app the stack pushed (plain registry): the real node pulls and runs it.
        image: `${facts.SAMPLE_APP_IMAGE_PLAIN}@${facts.SAMPLE_APP_V1_DIGEST}`,
        set: `message=${message()}\nreplicaCount=${replicas}`,
        timeout: '2m'
      },
      path.join(base, 'runner'),
      env
    );
    if (result.code !== 0) throw new Error(`the action failed (exit ${result.code})`);
    if (replicas === 0) profiles.push(result.phases);
  };
  const raw = (replicas = 1) =>
    runProcess(
      facts.HELM4,
      [
        'upgrade',
        '--install',
        'web',
        chart,
        '--namespace',
        rawNamespace,
        '--create-namespace',
        '--set-string',
        `image.repository=${facts.SAMPLE_APP_IMAGE_PLAIN}`,
        '--set-string',
        `image.digest=${facts.SAMPLE_APP_V1_DIGEST}`,
        '--set-string',
        `message=${message()}`,
        '--set',
        `replicaCount=${replicas}`,
        '--rollback-on-failure',
        '--wait=watcher',
        '--timeout',
        '2m'
      ],
      { env: { ...process.env, ...env } }
    );
  const kubectl = args =>
    runProcess('kubectl', ['--kubeconfig', facts.KUBECONFIG, ...args], { allowFailure: true });
  try {
    // Setup alone: timed to the end of the action's "Helm" log group, on a PATH without helm.
    const setupInputs = {
      release: 'web',
      namespace: actionNamespace,
      chart,
      'dry-run': 'true',
      'helm-version': 'v4.1.4',
      'helm-download-url': facts.HELM_DOWNLOAD_URL
    };
    const noHelm = { KUBECONFIG: facts.KUBECONFIG, PATH: '/usr/bin:/bin' };
    let cold = '';
    const setup = await sideBySide({
      runs,
      a: {
        label: 'helm from the tool cache',
        fn: () =>
          timeBundleToLine(
            root,
            'helm-deploy-namespace',
            setupInputs,
            path.join(base, 'warm'),
            noHelm,
            HELM_READY
          )
      },
      b: {
        label: 'helm cold install',
        before: () => {
          if (cold) rmSync(cold, { recursive: true, force: true });
          cold = mkdtempSync(path.join(base, 'cold-'));
        },
        fn: () =>
          timeBundleToLine(root, 'helm-deploy-namespace', setupInputs, cold, noHelm, HELM_READY)
      }
    });
    // More runs than the others: helm's own wait lands in one of two modes ~150 ms apart at
    // random (raw helm alone shows it), which moves a median of five.
    const deploy = await sideBySide({
      runs: Math.max(runs, 11),
      a: { label: 'action (Helm 4), 0 replicas', fn: () => action(0) },
      b: { label: 'raw helm upgrade --install, 0 replicas', fn: () => raw(0) }
    });
    const rollout = await sideBySide({
      runs,
      a: { label: 'action (Helm 4), pod rolled out', fn: () => action(1) },
      b: { label: 'raw helm upgrade --install, pod rolled out', fn: () => raw(1) }
    });
    return [
      {
        key: 'deploy',
        overheadMs: Math.round(deploy.a.medianMs - deploy.b.medianMs),
        ...deploy,
        // Where the action's time goes (the warm-up run left out), beside raw helm's median.
        profile: medianPhases(profiles.slice(1)),
        // The action's own time, read from the same runs: everything but the helm command's run
        // (from its `[command]` line to the end of its group; median), free of the noise of
        // helm's wait.
        outsideHelmMs: Math.round(
          median(
            profiles
              .slice(1)
              .map(phases =>
                phases
                  .filter(
                    phase =>
                      !(phase.name.startsWith('helm upgrade') && phase.name.endsWith(COMMAND_PHASE))
                  )
                  .reduce((sum, phase) => sum + phase.ms, 0)
              )
          )
        )
      },
      {
        key: 'deploy_rollout',
        overheadMs: Math.round(rollout.a.medianMs - rollout.b.medianMs),
        ...rollout
      },
      { key: 'setup_cache_helm', goal: 0.1, ...setup }
    ];
  } finally {
    await kubectl(['delete', 'namespace', actionNamespace, rawNamespace, '--wait=false']);
    rmSync(base, { recursive: true, force: true });
  }
}
