import { describe, expect, it } from '@jest/globals';
import { gzipSync } from 'node:zlib';
import {
  decodeReleaseRecord,
  historyArgs,
  isLockedReleaseError,
  isPending,
  lastGoodRevision,
  latestRecordState,
  recordStates,
  listArgs,
  manifestDigest,
  manifestObjects,
  manifestResources,
  parseYamlDocument,
  parseHelmVersion,
  parseHistory,
  parseReleaseStatus,
  releaseRecordName,
  rollbackArgs,
  showValuesArgs,
  statusArgs,
  uninstallArgs,
  upgradeArgs,
  usesSecretStorage,
  isUnreachableClusterError,
  type UpgradePlan
} from '../../../src/lib/helm/index.js';

const plan: UpgradePlan = {
  release: 'app',
  chart: '/ws/chart',
  namespace: 'pr-1',
  valuesFiles: ['/tmp/v.yaml'],
  atomic: true,
  wait: true,
  timeoutMs: 300_000,
  force: false
};

describe('parseHelmVersion', () => {
  it.each([
    ['v3.17.3+ge4da497', 'v3.17.3', 3],
    ['v4.1.4', 'v4.1.4', 4],
    ['4.0.0', 'v4.0.0', 4]
  ])('%s', (text, version, major) => {
    expect(parseHelmVersion(text)).toEqual({ version, major });
  });
  it('rejects noise', () => expect(parseHelmVersion('Client: unknown')).toBeUndefined());
});

describe('upgradeArgs', () => {
  it('maps atomic and wait to Helm 4 flags', () => {
    expect(upgradeArgs(plan, 4)).toEqual([
      'upgrade',
      '--install',
      'app',
      '/ws/chart',
      '--namespace',
      'pr-1',
      '--values',
      '/tmp/v.yaml',
      '--rollback-on-failure',
      '--wait=watcher',
      '--timeout',
      '5m0s'
    ]);
  });
  it('maps atomic and wait to Helm 3 flags', () => {
    const args = upgradeArgs({ ...plan, force: true, historyMax: 3 }, 3);
    expect(args).toContain('--atomic');
    expect(args).toContain('--wait');
    expect(args).toContain('--force');
    expect(args).not.toContain('--rollback-on-failure');
    expect(args.join(' ')).toContain('--history-max 3');
  });
  it('uses --force-replace on Helm 4, never --force', () => {
    const args = upgradeArgs({ ...plan, force: true }, 4);
    expect(args).toContain('--force-replace');
    // Helm 4 refuses --force-replace with server-side apply (its default).
    expect(args).toContain('--server-side=false');
    expect(args).not.toContain('--force');
  });
  it('passes no wait flag when neither atomic nor wait', () => {
    const args = upgradeArgs({ ...plan, atomic: false, wait: false }, 4);
    expect(args.some(a => a.startsWith('--wait') || a === '--atomic')).toBe(false);
  });
  it('a dry run neither waits nor rolls back', () => {
    const args = upgradeArgs({ ...plan, dryRun: 'server' }, 4);
    expect(args).toContain('--dry-run=server');
    expect(args).not.toContain('--rollback-on-failure');
  });
  it('passes the CA bundle and, for oci charts, the registry config', () => {
    const args = upgradeArgs(
      { ...plan, chart: 'oci://r/c', caFile: '/ca.pem', registryConfig: '/d/config.json' },
      3
    );
    expect(args.join(' ')).toContain('--ca-file /ca.pem --registry-config /d/config.json');
  });
  it('adds kubeconfig, context, version and repo', () => {
    const args = upgradeArgs(
      {
        ...plan,
        kubeconfig: '/k',
        context: 'kind',
        chartVersion: '1.2.3',
        repoUrl: 'https://charts'
      },
      3
    );
    expect(args.join(' ')).toContain(
      '--kubeconfig /k --kube-context kind --version 1.2.3 --repo https://charts'
    );
  });
});

describe('rollback and uninstall', () => {
  const target = { release: 'app', namespace: 'ns', timeoutMs: 60_000, wait: true };
  it('rolls back to a revision and waits', () => {
    expect(rollbackArgs(target, 3, 3)).toEqual([
      'rollback',
      'app',
      '3',
      '--namespace',
      'ns',
      '--wait',
      '--timeout',
      '1m0s'
    ]);
    expect(rollbackArgs(target, 3, 4)).toContain('--wait=watcher');
  });
  it('uninstalls idempotently', () => {
    expect(uninstallArgs(target, 4)).toEqual([
      'uninstall',
      'app',
      '--namespace',
      'ns',
      '--ignore-not-found',
      '--wait=watcher',
      '--timeout',
      '1m0s'
    ]);
  });
});

describe('status and history', () => {
  it('parses helm status JSON', () => {
    const status = parseReleaseStatus(
      JSON.stringify({
        name: 'app',
        namespace: 'ns',
        version: 4,
        info: { status: 'pending-upgrade', description: 'Preparing upgrade' },
        manifest: '---\nkind: Service',
        chart: { metadata: { name: 'sample-app', version: '0.1.0' } }
      })
    );
    expect(status).toEqual({
      name: 'app',
      namespace: 'ns',
      revision: 4,
      status: 'pending-upgrade',
      chart: 'sample-app-0.1.0',
      description: 'Preparing upgrade',
      manifest: '---\nkind: Service'
    });
    expect(isPending(status.status)).toBe(true);
    expect(isPending('deployed')).toBe(false);
  });
  it('finds the last good revision', () => {
    const history = parseHistory(
      JSON.stringify([
        { revision: 1, status: 'superseded' },
        { revision: 2, status: 'deployed' },
        { revision: 3, status: 'failed' },
        { revision: 4, status: 'pending-upgrade' }
      ])
    );
    expect(lastGoodRevision(history)).toBe(2);
    expect(lastGoodRevision([{ revision: 1, status: 'pending-install' }])).toBeUndefined();
  });
  it('reads the current revision from helm storage labels', () => {
    expect(
      latestRecordState([
        { labels: { owner: 'helm', name: 'app', version: '1', status: 'superseded' } },
        { labels: { owner: 'helm', name: 'app', version: '10', status: 'pending-upgrade' } },
        { labels: { owner: 'helm', name: 'app', version: '9', status: 'deployed' } },
        { labels: { unrelated: 'x' } }
      ])
    ).toEqual({ revision: 10, status: 'pending-upgrade' });
    expect(latestRecordState([])).toBeUndefined();
    expect(
      recordStates([
        { labels: { version: '2', status: 'deployed' } },
        { labels: { version: 'x', status: 'failed' } },
        { labels: { version: '1' } },
        {}
      ])
    ).toEqual([{ revision: 2, status: 'deployed' }]);
  });
  it('decodes a storage record (gzipped or not) into the release helm status prints', () => {
    const release = {
      name: 'app',
      namespace: 'pr-1',
      version: 3,
      info: { status: 'deployed', description: 'Upgrade complete' },
      chart: { metadata: { name: 'web', version: '1.2.3' } },
      manifest: '---\nkind: Deployment\n'
    };
    const json = JSON.stringify(release);
    // The API's base64 of helm's base64 of the (gzipped) JSON.
    const asApi = (payload: Buffer) =>
      Buffer.from(payload.toString('base64'), 'latin1').toString('base64');
    const expected = {
      name: 'app',
      namespace: 'pr-1',
      revision: 3,
      status: 'deployed',
      chart: 'web-1.2.3',
      description: 'Upgrade complete',
      manifest: '---\nkind: Deployment\n'
    };
    expect(decodeReleaseRecord(asApi(gzipSync(json)))).toEqual(expected);
    expect(decodeReleaseRecord(asApi(Buffer.from(json)))).toEqual(expected);
    expect(parseReleaseStatus(json)).toEqual(expected);
    expect(releaseRecordName('app', 3)).toBe('sh.helm.release.v1.app.v3');
  });
  it('reads helm storage labels only with the Secret driver', () => {
    expect(usesSecretStorage({})).toBe(true);
    expect(usesSecretStorage({ HELM_DRIVER: 'secret' })).toBe(true);
    expect(usesSecretStorage({ HELM_DRIVER: 'configmap' })).toBe(false);
    expect(usesSecretStorage({ HELM_DRIVER: 'sql' })).toBe(false);
  });
  it('tells a lost connection to the API server from errors a retry cannot fix', () => {
    for (const lost of [
      'Error: Kubernetes cluster unreachable: Get "https://127.0.0.1:25729/version": dial tcp 127.0.0.1:25729: connect: connection refused',
      'Error: read tcp 127.0.0.1:40000->127.0.0.1:25443: read: connection reset by peer',
      'Error: Get "https://127.0.0.1:25443/api/v1/namespaces/x/secrets": unexpected EOF',
      'Error: Get "https://127.0.0.1:25443/version": EOF',
      'Error: Get "https://10.0.0.1/version": dial tcp 10.0.0.1:443: i/o timeout',
      'Error: Get "https://127.0.0.1:25443/version": net/http: TLS handshake timeout',
      'Error: http2: client connection lost'
    ]) {
      expect({ lost, transient: isUnreachableClusterError(lost) }).toEqual({
        lost,
        transient: true
      });
    }
    for (const lasting of [
      'Error: Kubernetes cluster unreachable: Get "https://127.0.0.1:1/version": tls: failed to verify certificate: x509: certificate signed by unknown authority',
      'Error: Kubernetes cluster unreachable: Get "https://nowhere.invalid/version": dial tcp: lookup nowhere.invalid: no such host',
      'Error: release: not found',
      'Error: Unauthorized',
      'Error: secrets is forbidden: User "x" cannot list resource "secrets"'
    ]) {
      expect({ lasting, transient: isUnreachableClusterError(lasting) }).toEqual({
        lasting,
        transient: false
      });
    }
  });
  it('recognises the lock error', () => {
    expect(
      isLockedReleaseError(
        'Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress'
      )
    ).toBe(true);
    expect(isLockedReleaseError('Error: timed out')).toBe(false);
  });
});

describe('statusArgs, historyArgs and listArgs', () => {
  const target = { release: 'app', namespace: 'pr-1', kubeconfig: '/k', context: 'ctx' };
  const connection = ['--namespace', 'pr-1', '--kubeconfig', '/k', '--kube-context', 'ctx'];

  it('asks status and the last 20 revisions as JSON', () => {
    expect(statusArgs(target)).toEqual(['status', 'app', ...connection, '--output', 'json']);
    expect(historyArgs(target)).toEqual([
      'history',
      'app',
      ...connection,
      '--output',
      'json',
      '--max',
      '20'
    ]);
  });

  it('lists releases in every state: --all on Helm 3, the default on Helm 4 (which refuses it)', () => {
    expect(listArgs(target, 3)).toEqual(['list', ...connection, '--all', '--short']);
    expect(listArgs({ namespace: 'pr-1' }, 4)).toEqual(['list', '--namespace', 'pr-1', '--short']);
  });
});

describe('showValuesArgs', () => {
  it('reaches the chart like the upgrade does', () => {
    expect(showValuesArgs({ chart: '/ws/chart' })).toEqual(['show', 'values', '/ws/chart']);
    expect(
      showValuesArgs({
        chart: 'oci://reg/charts/app',
        chartVersion: '^1',
        caFile: '/ca.pem',
        registryConfig: '/d/config.json'
      })
    ).toEqual([
      'show',
      'values',
      'oci://reg/charts/app',
      '--version',
      '^1',
      '--ca-file',
      '/ca.pem',
      '--registry-config',
      '/d/config.json'
    ]);
    expect(showValuesArgs({ chart: 'app', repoUrl: 'https://charts' })).toEqual([
      'show',
      'values',
      'app',
      '--repo',
      'https://charts'
    ]);
  });
});

describe('manifests', () => {
  const manifest = `---
# Source: chart/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
---
# Source: chart/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: pr-1
`;
  it('lists resources', async () => {
    expect(await manifestResources(manifest)).toEqual([
      {
        apiVersion: 'v1',
        kind: 'Service',
        name: 'web',
        namespace: undefined,
        serviceType: 'LoadBalancer'
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'web',
        namespace: 'pr-1',
        serviceType: undefined
      }
    ]);
  });
  it('reads a manifest as helm does: duplicate keys keep the last value, a broken document is skipped', async () => {
    const odd = `---
# Source: chart/templates/a.yaml
kind: ConfigMap
apiVersion: v1
metadata:
  name: first
  name: last
---
# Source: chart/templates/broken.yaml
kind: [unclosed
---
---
kind: Secret
apiVersion: v1
metadata: {name: s}
`;
    expect((await manifestResources(odd)).map(r => `${r.kind}/${r.name}`)).toEqual([
      'ConfigMap/last',
      'Secret/s'
    ]);
    expect(await manifestObjects('')).toEqual([]);
    expect(await parseYamlDocument('')).toBeUndefined();
    expect(await parseYamlDocument('# only a comment\n')).toBeUndefined();
    expect(await parseYamlDocument('a: 1\na: 2\n')).toEqual({ a: 2 });
  });
  it('digests the manifest, ignoring surrounding whitespace', () => {
    expect(manifestDigest(manifest)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(manifestDigest(`\n${manifest}\n\n`)).toBe(manifestDigest(manifest));
    expect(manifestDigest(manifest.replace('web', 'api'))).not.toBe(manifestDigest(manifest));
  });
});
