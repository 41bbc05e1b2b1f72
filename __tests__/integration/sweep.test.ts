import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { newRunnerDirs, projectRoot, runMain, type ActionRun } from '../helpers/action-runner.js';
import {
  kubectl,
  namespacesDeletedAfterAll,
  readyPodImageDigests,
  uniqueName,
  waitUntil
} from '../helpers/kube.js';
import { answerOf } from '../helpers/sample-app.js';
import { pathWithHelm, stackFact } from '../helpers/stack.js';

/**
 * Preview environments that expire, on the stack's real node with Helm 4: deploys with `ttl` stamp
 * `slipway.dev/expires-at` on the namespace Slipway created (and only warn on one it did not), a
 * test ages a preview by rewriting the stamp, and `action: sweep` lists it (dry run), then
 * uninstalls its release and deletes it, leaving a fresh preview and an aged foreign namespace
 * (same label, no managed-by=slipway) alone. A redeploy refreshes the stamp.
 *
 * Every namespace here carries a label value of this run only, and every sweep selects on it, so
 * the sweeps never see another test's namespaces.
 */
const chart = path.join(projectRoot, 'examples/charts/sample-app');
const newNamespace = namespacesDeletedAfterAll();
const env = () => ({ PATH: pathWithHelm(stackFact('HELM4')), KUBECONFIG: stackFact('KUBECONFIG') });
const digest = () => stackFact('SAMPLE_APP_V1_DIGEST');

const EXPIRES_AT = 'slipway.dev/expires-at';
const PAST = '2000-01-01T00:00:00Z';
const HOUR = 3_600_000;
const label = `slipway.dev/sweep-test=${uniqueName('run')}`;

const old = newNamespace('swp-old');
const fresh = newNamespace('swp-fresh');
const foreign = newNamespace('swp-foreign');

function deployPreview(namespace: string, ttl: string): Promise<ActionRun> {
  return runMain(
    'helm-deploy-namespace',
    {
      release: 'web',
      namespace,
      chart,
      image: stackFact('SAMPLE_APP_IMAGE_PLAIN'),
      digest: digest(),
      ttl,
      'namespace-labels': label,
      set: `message=${namespace}`,
      timeout: '90s'
    },
    { env: env() }
  );
}

function sweep(extra: Record<string, string> = {}): Promise<ActionRun> {
  return runMain(
    'helm-deploy-namespace',
    { action: 'sweep', 'sweep-selector': label, ...extra },
    { env: env() }
  );
}

function namespaceObject(
  namespace: string
): { metadata: { annotations?: Record<string, string> } } | undefined {
  const json = kubectl(['get', 'namespace', namespace, '--ignore-not-found', '-o', 'json']);
  return json.trim() ? JSON.parse(json) : undefined;
}

const expiresAt = (namespace: string) =>
  namespaceObject(namespace)?.metadata.annotations?.[EXPIRES_AT];

/** Ages a preview: its expiry rewritten to a time long past. */
function age(namespace: string): void {
  kubectl(['annotate', 'namespace', namespace, '--overwrite', `${EXPIRES_AT}=${PAST}`]);
}

const releases = (namespace: string) =>
  kubectl(['get', 'secrets', '-n', namespace, '-l', 'owner=helm', '-o', 'name']).trim();

/** The stamp is now + ttl, give or take the time the deploy took. */
function expectStampNear(stamp: string | undefined, ttlMs: number, before: number): void {
  expect(stamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  const at = Date.parse(stamp ?? '');
  expect(at).toBeGreaterThanOrEqual(Math.floor((before + ttlMs) / 1000) * 1000);
  expect(at).toBeLessThanOrEqual(Date.now() + ttlMs);
}

const expectOk = (run: ActionRun) =>
  expect({ exitCode: run.exitCode, stdout: run.exitCode === 0 ? '' : run.stdout }).toEqual({
    exitCode: 0,
    stdout: ''
  });

describe('preview environments that expire', () => {
  it('deploys stamp expires-at on the namespaces Slipway creates; a foreign one only gets a warning', async () => {
    for (const [namespace, ttl, ttlMs] of [
      [old, '1h', HOUR],
      [fresh, '72h', 72 * HOUR]
    ] as const) {
      const before = Date.now();
      const run = await deployPreview(namespace, ttl);
      expectOk(run);
      expectStampNear(expiresAt(namespace), ttlMs, before);
      expect(run.outputs['expires-at']).toBe(expiresAt(namespace));
      expect(run.summary).toContain(`**Expires at** | \`${expiresAt(namespace)}\``);
      // Pulled and running on the real node, answering.
      expect(await readyPodImageDigests(namespace)).toEqual([digest()]);
      expect(await answerOf(kubectl, namespace, 'web-sample-app')).toBe(
        `${namespace} (version 1.0.0)\n`
      );
    }

    // A namespace made by hand: the same label, an expiry long past, but no managed-by=slipway.
    kubectl(['create', 'namespace', foreign]);
    kubectl(['label', 'namespace', foreign, label]);
    age(foreign);
    const run = await deployPreview(foreign, '1h');
    expectOk(run);
    expect(run.stdout).toContain(
      `::warning title=ttl::Namespace ${foreign} was not created by Slipway (it has no app.kubernetes.io/managed-by=slipway label): ttl stamps no expiry on it, and action: sweep never deletes it.`
    );
    expect(run.outputs['expires-at']).toBeUndefined();
    expect(expiresAt(foreign)).toBe(PAST);
  }, 300_000);

  it('a dry-run sweep lists the aged preview and its release, and deletes nothing', async () => {
    age(old);
    const run = await sweep({ 'dry-run': 'true' });
    expectOk(run);
    expect(JSON.parse(run.outputs['swept-namespaces'] ?? '')).toEqual([old]);
    expect(run.summary).toContain('helm-deploy-namespace: sweep (dry run)');
    // The selector itself keeps the foreign namespace out (its label matches, managed-by does not).
    expect(run.summary).toContain(
      `| **Selector** | \`app.kubernetes.io/managed-by=slipway,${label}\` |`
    );
    expect(run.summary).toContain('| **Matched** | `2` |');
    expect(run.summary).toContain(`| ${old} | ${PAST} | web | would be deleted (dry run) |`);
    expect(run.summary).not.toContain(`| ${fresh} |`);
    expect(run.summary).not.toContain(`| ${foreign} |`);
    expect(run.stdout).toContain(`${fresh}: expires at ${expiresAt(fresh)}`);
    expect(run.stdout).not.toContain('helm uninstall');
    expect(expiresAt(old)).toBe(PAST);
    expect(releases(old)).not.toBe('');
    expect(await answerOf(kubectl, old, 'web-sample-app')).toBe(`${old} (version 1.0.0)\n`);
  }, 120_000);

  it('a sweep uninstalls the aged preview and deletes its namespace; the fresh and foreign ones stay', async () => {
    const run = await sweep();
    expectOk(run);
    expect(JSON.parse(run.outputs['swept-namespaces'] ?? '')).toEqual([old]);
    expect(run.stdout).toContain(`helm uninstall web (${old})`);
    expect(run.summary).toContain(`| ${old} | ${PAST} | web | deleted |`);
    // The release went first (helm's record with it), then the namespace.
    expect(run.stdout).toMatch(/release "web" uninstalled/);
    await waitUntil(
      `namespace ${old} to be gone`,
      () => (namespaceObject(old) ? undefined : true),
      120_000
    );

    // The fresh preview: untouched, still answering.
    expect(expiresAt(fresh)).toBeDefined();
    expect(releases(fresh)).not.toBe('');
    expect(await answerOf(kubectl, fresh, 'web-sample-app')).toBe(`${fresh} (version 1.0.0)\n`);
    // The foreign namespace: expired by its stamp and labelled alike, but never Slipway's.
    expect(expiresAt(foreign)).toBe(PAST);
    expect(releases(foreign)).not.toBe('');
    expect(await answerOf(kubectl, foreign, 'web-sample-app')).toBe(`${foreign} (version 1.0.0)\n`);
  }, 300_000);

  it('a redeploy refreshes expires-at, so an aged preview is not swept', async () => {
    age(fresh);
    const before = Date.now();
    expectOk(await deployPreview(fresh, '72h'));
    expectStampNear(expiresAt(fresh), 72 * HOUR, before);

    const run = await sweep();
    expectOk(run);
    expect(JSON.parse(run.outputs['swept-namespaces'] ?? '')).toEqual([]);
    expect(run.summary).toContain('No namespace matching the selector has expired.');
    expect(await answerOf(kubectl, fresh, 'web-sample-app')).toBe(`${fresh} (version 1.0.0)\n`);
  }, 300_000);
});

/** The ClusterRole the README gives a sweeping identity, as kubectl applies it. */
const SWEEP_RULES = [
  { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'get', 'delete'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['list', 'get', 'update', 'delete'] },
  {
    apiGroups: ['', 'apps'],
    resources: ['services', 'deployments'],
    verbs: ['get', 'list', 'watch', 'delete']
  }
];

/** A kubeconfig for a new ServiceAccount bound to `rules` cluster-wide. */
function serviceAccountKubeconfig(home: string, rules: unknown[]): string {
  kubectl(['create', 'namespace', home]);
  kubectl(['create', 'serviceaccount', 'sweeper', '-n', home]);
  kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: `${home}-sweep` },
          rules
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: `${home}-sweep` },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: `${home}-sweep`
          },
          subjects: [{ kind: 'ServiceAccount', name: 'sweeper', namespace: home }]
        }
      ]
    })
  );
  const token = kubectl(['create', 'token', 'sweeper', '-n', home]).trim();
  const file = path.join(newRunnerDirs().temp, 'sweeper.kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: sweeper',
      'clusters:',
      `- name: stack\n  cluster:\n    server: ${stackFact('KUBE_APISERVER')}\n    certificate-authority: ${stackFact('KUBE_CA')}`,
      'users:',
      `- name: sweeper\n  user:\n    token: ${token}`,
      'contexts:',
      '- name: sweeper\n  context:\n    cluster: stack\n    user: sweeper',
      ''
    ].join('\n'),
    { mode: 0o600 }
  );
  return file;
}

/** Deploys a preview, ages it, and sweeps as a new ServiceAccount bound to `rules` only. */
async function sweepAsServiceAccount(
  rules: unknown[],
  prefix: string
): Promise<{ preview: string; run: ActionRun }> {
  const home = newNamespace('swp-home');
  const preview = newNamespace(prefix);
  const kubeconfig = serviceAccountKubeconfig(home, rules);
  try {
    expectOk(await deployPreview(preview, '1h'));
    age(preview);
    return { preview, run: await sweep({ kubeconfig }) };
  } finally {
    kubectl(['delete', 'clusterrolebinding,clusterrole', `${home}-sweep`, '--ignore-not-found']);
  }
}

describe('the sweep with least privilege', () => {
  it('runs with only the ClusterRole the README gives it', async () => {
    const { preview, run } = await sweepAsServiceAccount(SWEEP_RULES, 'swp-rbac');
    expectOk(run);
    expect(JSON.parse(run.outputs['swept-namespaces'] ?? '')).toEqual([preview]);
    await waitUntil(
      `namespace ${preview} to be gone`,
      () => (namespaceObject(preview) ? undefined : true),
      120_000
    );
  }, 300_000);

  it('keeps a namespace whose release cannot be uninstalled (here refused by RBAC) and fails naming it', async () => {
    // Delete only: helm cannot list the chart's Services and Deployments to remove them.
    const rules = SWEEP_RULES.map((rule, index) =>
      index === 2 ? { ...rule, verbs: ['delete'] } : rule
    );
    const { preview, run } = await sweepAsServiceAccount(rules, 'swp-stuck');
    expect(run.exitCode).toBe(1);
    // Which kind helm lists first (Service or Deployment) varies.
    expect(run.stdout).toMatch(
      new RegExp(
        `::error::The sweep could not delete ${preview} \\(failed: helm uninstall web in ${preview} failed: Error: uninstallation completed with 1 error\\(s\\): failed to list \\S+, Kind=\\w+: (services|deployments\\.apps) is forbidden`
      )
    );
    expect(JSON.parse(run.outputs['swept-namespaces'] ?? '')).toEqual([]);
    expect(run.summary).toContain(`| ${preview} | ${PAST} | web | failed: helm uninstall web`);
    // Kept, for the next sweep (or a person) to finish.
    expect(namespaceObject(preview)).toBeDefined();
    expect(expiresAt(preview)).toBe(PAST);
  }, 300_000);
});

describe('preview.yml under act', () => {
  it("the scheduled sweep job deletes an expired preview and keeps a live one; the PR jobs don't run", () => {
    const expired = newNamespace('pr-swp-act');
    const live = newNamespace('pr-swp-live');
    for (const [namespace, stamp] of [
      [expired, PAST],
      [live, '2999-01-01T00:00:00Z']
    ] as const) {
      kubectl(['create', 'namespace', namespace]);
      // What the deploy job leaves: its labels, managed-by (it created the namespace), the stamp.
      kubectl([
        'label',
        'namespace',
        namespace,
        'slipway.dev/preview=true',
        'app.kubernetes.io/managed-by=slipway'
      ]);
      kubectl(['annotate', 'namespace', namespace, `${EXPIRES_AT}=${stamp}`]);
    }
    // The repository secret KUBECONFIG, read by act from this variable (`-s KUBECONFIG`).
    const act = spawnSync(
      'bash',
      [
        path.join(projectRoot, 'scripts/act'),
        'schedule',
        '-W',
        '.github/workflows/preview.yml',
        '--var',
        'SLIPWAY_PREVIEW=enabled',
        '-s',
        'KUBECONFIG'
      ],
      {
        cwd: projectRoot,
        encoding: 'utf8',
        env: { ...process.env, KUBECONFIG: readFileSync(stackFact('KUBECONFIG'), 'utf8') },
        timeout: 300_000
      }
    );
    const output = `${act.stdout}${act.stderr}`;
    expect({ status: act.status, tail: act.status === 0 ? '' : output.slice(-4000) }).toEqual({
      status: 0,
      tail: ''
    });
    expect(output).toContain('[preview/sweep');
    expect(output).not.toContain('[preview/deploy');
    expect(output).not.toContain('[preview/cleanup');
    expect(output).toContain(`${expired}: expired at ${PAST}`);
    expect(output).toContain(`${live}: expires at 2999-01-01T00:00:00Z`);
    expect(output).toContain(`Namespace ${expired} deleted`);
    expect(output).not.toContain(`Namespace ${live} deleted`);
    expect(namespaceObject(live)).toBeDefined();
  }, 300_000);
});
