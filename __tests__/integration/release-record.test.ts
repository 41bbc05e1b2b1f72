import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Context } from '../../src/helm-deploy-namespace/context.js';
import { readRelease, releaseRevisions } from '../../src/helm-deploy-namespace/release-record.js';
import { Helm, parseHistory, parseReleaseStatus } from '../../src/lib/helm/index.js';
import { KubeClient } from '../../src/lib/kube/index.js';
import { namespacesDeletedAfterAll } from '../helpers/kube.js';
import { stackFact } from '../helpers/stack.js';

/**
 * After a rollout the action reads the release from helm's storage Secret instead of running
 * `helm status` (one helm process less per deploy). The record must say exactly what helm says:
 * same revision, status, manifest, chart, for releases written by Helm 3 and by Helm 4. The Helm
 * handed to readRelease points at a binary that does not exist, so a silent fallback to
 * `helm status` fails the test instead of hiding a broken decoder.
 */
const newNamespace = namespacesDeletedAfterAll();
const chart = path.resolve('examples/charts/sample-app');
const work = mkdtempSync(path.join(tmpdir(), 'release-record-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function helm(binary: string, args: string[]): string {
  return execFileSync(binary, args, {
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: stackFact('KUBECONFIG') }
  });
}

describe.each([
  ['Helm 3', 'HELM3'],
  ['Helm 4', 'HELM4']
])('release record written by %s', (_label, fact) => {
  it('decodes to what helm status -o json prints (no helm process)', async () => {
    const binary = stackFact(fact);
    const namespace = newNamespace('release-record');
    for (const message of ['first', 'second\\, with "quotes" and ünïcode']) {
      helm(binary, [
        'upgrade',
        '--install',
        'web',
        chart,
        '--namespace',
        namespace,
        '--create-namespace',
        '--set-string',
        `message=${message}`,
        '--set',
        'replicaCount=0'
      ]);
    }
    const expected = parseReleaseStatus(
      helm(binary, ['status', 'web', '--namespace', namespace, '-o', 'json'])
    );
    const kube = await KubeClient.connect({ kubeconfig: stackFact('KUBECONFIG') });
    const noHelm = new Helm(
      { path: path.join(work, 'no-helm'), version: 'v0.0.0', major: 4 },
      work
    );
    const ctx = {
      config: { release: 'web', namespace },
      kube,
      helm: noHelm,
      target: { release: 'web', namespace, kubeconfig: stackFact('KUBECONFIG') }
    } as unknown as Context;
    const record = await readRelease(ctx);
    expect(record).toEqual({ ...expected, chart: record?.chart });
    expect(record?.revision).toBe(2);
    expect(record?.status).toBe('deployed');
    expect(record?.manifest).toContain('second, with \\"quotes\\" and ünïcode');
    // The record carries the chart's metadata, which helm's status JSON may leave out.
    expect(record?.chart).toMatch(/^sample-app-\d+\.\d+\.\d+/);
    // What the in-flight record needs of `helm history`, read from the records' labels.
    const history = parseHistory(
      helm(binary, ['history', 'web', '--namespace', namespace, '-o', 'json'])
    ).map(({ revision, status }) => ({ revision, status }));
    expect(history).toEqual([
      { revision: 1, status: 'superseded' },
      { revision: 2, status: 'deployed' }
    ]);
    const revisions = await releaseRevisions(ctx);
    expect([...revisions].sort((a, b) => a.revision - b.revision)).toEqual(history);
  });
});
