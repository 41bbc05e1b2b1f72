import { expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot, runMain, runPost, startMain } from '../helpers/action-runner.js';
import { kubectl, namespacesDeletedAfterAll, waitUntil } from '../helpers/kube.js';
import { answerOf } from '../helpers/sample-app.js';
import { pathWithHelm, stackFact } from '../helpers/stack.js';

/**
 * A cancelled job (issue 19, item 1): the runner signals the action's node process mid-rollout
 * and then runs the post step. The signal reaches helm, the step ends as cancelled, and the post
 * step puts the release back: the previous revision deployed and answering, or a first install
 * uninstalled; the next deploy succeeds without `recover`.
 */
const chart = path.join(projectRoot, 'examples/charts/sample-app');
const newNamespace = namespacesDeletedAfterAll();

const image = (version: 1 | 2) =>
  `${stackFact('SAMPLE_APP_IMAGE_PLAIN')}@${stackFact(`SAMPLE_APP_V${version}_DIGEST`)}`;
/** Pods of this deploy never schedule, so helm waits for the rollout until it is stopped. */
const NEVER_READY = 'nodeSelector.slipway\\.dev/pool=does-not-exist';

function helmEnv(helm: string): Record<string, string> {
  return { PATH: pathWithHelm(helm), KUBECONFIG: stackFact('KUBECONFIG') };
}

function releaseStatus(
  helm: string,
  namespace: string
): { version: number; info: { status: string } } | undefined {
  try {
    const args = ['status', 'web', '-n', namespace, '-o', 'json'];
    const out = execFileSync(helm, [...args, '--kubeconfig', stackFact('KUBECONFIG')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore']
    });
    return JSON.parse(out);
  } catch {
    return undefined;
  }
}

function deployedImage(namespace: string): string | undefined {
  const deployment = JSON.parse(
    kubectl(['get', 'deployment', 'web-sample-app', '-n', namespace, '-o', 'json'])
  );
  return deployment.spec.template.spec.containers[0]?.image;
}

/** The action's children (helm under coreutils `timeout`, which leads its own process group). */
function childGroups(pid: number): number[] {
  const groups: number[] = [];
  for (const entry of readdirSync('/proc').filter(name => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === pid) groups.push(Number(pgid));
    } catch {
      // gone
    }
  }
  return groups;
}

/**
 * SIGINT and SIGTERM: helm is told, stops cleanly and (atomic) rolls back itself, so post finds
 * nothing to do. SIGKILL: the runner's last resort kills the action and helm outright, leaving the
 * release pending; post must put it back.
 */
const cases: Array<[string, NodeJS.Signals, 'HELM3' | 'HELM4', 'upgrade' | 'install']> = [
  ['an upgrade, SIGINT, Helm 4', 'SIGINT', 'HELM4', 'upgrade'],
  ['an upgrade, SIGTERM, Helm 4', 'SIGTERM', 'HELM4', 'upgrade'],
  ['an upgrade, SIGINT, Helm 3', 'SIGINT', 'HELM3', 'upgrade'],
  ['a first install, SIGINT, Helm 4', 'SIGINT', 'HELM4', 'install'],
  ['an upgrade, SIGKILL to the action and helm, Helm 4', 'SIGKILL', 'HELM4', 'upgrade'],
  ['an upgrade, SIGKILL to the action and helm, Helm 3', 'SIGKILL', 'HELM3', 'upgrade'],
  ['a first install, SIGKILL to the action and helm, Helm 4', 'SIGKILL', 'HELM4', 'install']
];

describe.each(cases)('a cancelled deploy: %s', (_, signal, fact, kind) => {
  it('ends as cancelled, and post leaves the release as it was before', async () => {
    const helm = stackFact(fact);
    const env = helmEnv(helm);
    const namespace = newNamespace('hdc');
    const base = { release: 'web', namespace, chart, image: image(1), timeout: '2m' };
    if (kind === 'upgrade') {
      const first = await runMain('helm-deploy-namespace', base, { env });
      expect(first.exitCode).toBe(0);
      expect(first.state).toMatchObject({ deploy_in_flight: '' });
    }
    const inputs = { ...base, image: image(2), set: NEVER_READY };
    const started = startMain('helm-deploy-namespace', inputs, { env });
    const pending = kind === 'upgrade' ? 'pending-upgrade' : 'pending-install';
    await waitUntil(`release ${pending}`, () =>
      releaseStatus(helm, namespace)?.info.status === pending ? true : undefined
    );
    // Mid-wait: helm is waiting for pods that will never schedule.
    await new Promise(resolve => setTimeout(resolve, 2_000));
    const signalled = Date.now();
    if (signal === 'SIGKILL') {
      const groups = childGroups(started.child.pid ?? 0);
      expect(groups).toHaveLength(1);
      started.child.kill('SIGKILL');
      for (const group of groups) process.kill(-group, 'SIGKILL');
    } else {
      started.child.kill(signal);
    }
    const main = await started.done;
    const stepMs = Date.now() - signalled;
    if (signal === 'SIGKILL') {
      expect(main.exitCode).toBe(137);
      expect(releaseStatus(helm, namespace)?.info.status).toBe(pending);
    } else {
      expect(main.exitCode).toBe(1);
      expect(main.stdout).toContain(
        `Received ${signal}: cancelling (1 running tool(s) told to stop)`
      );
      expect(main.stdout).toMatch(
        new RegExp(`::error::The step was cancelled \\(${signal}\\) while`)
      );
      expect(stepMs).toBeLessThan(7_500);
    }

    const post = await runPost('helm-deploy-namespace', main, inputs, { env });
    expect(post.exitCode).toBe(0);
    expect(post.stdout).toContain('::group::Putting back release web');
    expect(post.stdout).not.toContain('::warning::Cleanup did not complete');
    // helm runs without its own --atomic (Slipway rolls back after diagnosing), so whatever the
    // signal, the revision this run left behind is put back by the post step.
    expect(post.stdout).toContain(
      kind === 'upgrade' ? 'Rolled back to revision 1' : 'Uninstalled the never-deployed release'
    );
    console.log(
      `${signal} ${fact} ${kind}: step ended ${stepMs} ms after the signal; post took ${post.durationMs} ms`
    );
    if (kind === 'upgrade') {
      expect(releaseStatus(helm, namespace)?.info.status).toBe('deployed');
      expect(deployedImage(namespace)).toBe(image(1));
      expect(await answerOf(kubectl, namespace, 'web-sample-app')).toMatch(
        /\(version 1\.0\.0\)\n$/
      );
    } else {
      expect(releaseStatus(helm, namespace)).toBeUndefined();
    }

    // The next deploy needs no `recover`.
    const next = await runMain('helm-deploy-namespace', { ...base, image: image(2) }, { env });
    expect(next.exitCode).toBe(0);
    expect(next.stdout).not.toContain('is stuck in');
    expect(deployedImage(namespace)).toBe(image(2));
  }, 300_000);
});
