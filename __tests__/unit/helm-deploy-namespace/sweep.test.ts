import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Context } from '../../../src/helm-deploy-namespace/context.js';
import { sweep } from '../../../src/helm-deploy-namespace/sweep.js';
import { captureStdout } from '../../helpers/capture.js';

/**
 * The sweep's decisions for each namespace, with a cluster and a helm that answer as scripted: the
 * races (refreshed or changed between the list and the delete, gone meanwhile) and a release that
 * will not uninstall cannot be staged on the real stack at the right instant. The whole flow runs
 * on the stack in the integration test (__tests__/integration/sweep.test.ts).
 */
const PAST = '2000-01-01T00:00:00Z';
const FUTURE = '2999-01-01T00:00:00Z';
const ours = { 'app.kubernetes.io/managed-by': 'slipway' };

type Namespace = {
  metadata: {
    name: string;
    resourceVersion: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
};
const ns = (name: string, stamp: string, labels: Record<string, string> = ours): Namespace => ({
  metadata: {
    name,
    resourceVersion: `${name}-1`,
    labels,
    annotations: { 'slipway.dev/expires-at': stamp }
  }
});

const dir = mkdtempSync(path.join(tmpdir(), 'slipway-sweep-unit-'));
const saved = { ...process.env };
beforeEach(() => {
  process.env.GITHUB_OUTPUT = path.join(dir, 'output');
  process.env.GITHUB_STEP_SUMMARY = path.join(dir, 'summary');
  writeFileSync(process.env.GITHUB_OUTPUT, '');
  writeFileSync(process.env.GITHUB_STEP_SUMMARY, '');
});
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

/** A context whose cluster lists `listed`, then reads each name as `reread` says. */
function fakeContext(
  listed: Namespace[],
  options: {
    reread?: Record<string, Namespace | undefined>;
    releases?: Record<string, string[]>;
    failUninstall?: string;
    conflictOn?: string;
    dryRun?: boolean;
  } = {}
) {
  const calls: string[] = [];
  const kube = {
    listNamespaces: async (selector: string) => {
      calls.push(`list ${selector}`);
      return listed;
    },
    readNamespace: async (name: string) =>
      options.reread && name in options.reread
        ? options.reread[name]
        : listed.find(n => n.metadata.name === name),
    deleteNamespace: async (name: string, resourceVersion?: string) => {
      calls.push(`delete ${name} as ${resourceVersion}`);
      if (name === options.conflictOn) throw Object.assign(new Error('Conflict'), { code: 409 });
      return true;
    }
  };
  const helm = {
    version: 'v4.1.4',
    list: async (target: { namespace: string }) => options.releases?.[target.namespace] ?? [],
    uninstall: async (target: { release: string; namespace: string }) => {
      calls.push(`uninstall ${target.release} in ${target.namespace}`);
      const failing = target.namespace === options.failUninstall;
      return {
        exitCode: failing ? 1 : 0,
        stdout: '',
        stderr: failing ? 'Error: pre-delete hook failed' : '',
        durationMs: 1,
        timedOut: false
      };
    }
  };
  const ctx = {
    config: {
      action: 'sweep',
      dryRun: options.dryRun ?? false,
      sweepSelector: 'app.kubernetes.io/managed-by=slipway,team=web',
      timeoutMs: 60_000,
      wait: true
    },
    helm,
    kube,
    target: { release: '', namespace: '', context: 'test' },
    started: Date.now()
  } as unknown as Context;
  return { ctx, calls };
}

const output = () => readFileSync(process.env.GITHUB_OUTPUT ?? '', 'utf8');
const summary = () => readFileSync(process.env.GITHUB_STEP_SUMMARY ?? '', 'utf8');

describe('sweep', () => {
  it('uninstalls every release of an expired namespace, then deletes it as it was read', async () => {
    const { ctx, calls } = fakeContext([ns('pr-1', PAST), ns('pr-2', FUTURE)], {
      releases: { 'pr-1': ['web', 'db'] }
    });
    const { result } = await captureStdout(() => sweep(ctx));
    expect(result.swept).toEqual(['pr-1']);
    expect(calls).toEqual([
      'list app.kubernetes.io/managed-by=slipway,team=web',
      'uninstall web in pr-1',
      'uninstall db in pr-1',
      'delete pr-1 as pr-1-1'
    ]);
    expect(output()).toContain('["pr-1"]');
    expect(summary()).toContain('| pr-1 | 2000-01-01T00:00:00Z | web, db | deleted |');
    expect(summary()).not.toContain('| pr-2 |');
  });

  it('never touches a listed namespace without managed-by=slipway (a selector gone wrong)', async () => {
    const foreign = ns('hand-made', PAST, { team: 'web' });
    const { ctx, calls } = fakeContext([foreign], { releases: { 'hand-made': ['web'] } });
    const { result, output: log } = await captureStdout(() => sweep(ctx));
    expect(result.swept).toEqual([]);
    expect(calls.filter(call => !call.startsWith('list'))).toEqual([]);
    expect(log).toContain('hand-made: not created by Slipway');
  });

  it('lists only in a dry run', async () => {
    const { ctx, calls } = fakeContext([ns('pr-1', PAST)], {
      releases: { 'pr-1': ['web'] },
      dryRun: true
    });
    const { result } = await captureStdout(() => sweep(ctx));
    expect(result.swept).toEqual(['pr-1']);
    expect(calls.filter(call => !call.startsWith('list'))).toEqual([]);
    expect(summary()).toContain('helm-deploy-namespace: sweep (dry run)');
    expect(summary()).toContain(
      '| pr-1 | 2000-01-01T00:00:00Z | web | would be deleted (dry run) |'
    );
  });

  it('keeps a namespace refreshed, changed or gone since the list', async () => {
    const { ctx, calls } = fakeContext(
      [ns('refreshed', PAST), ns('changed', PAST), ns('gone', PAST)],
      {
        reread: { refreshed: ns('refreshed', FUTURE), gone: undefined },
        releases: { changed: ['web'] },
        conflictOn: 'changed'
      }
    );
    const { result } = await captureStdout(() => sweep(ctx));
    expect(result.swept).toEqual([]);
    expect(calls.slice(1)).toEqual(['uninstall web in changed', 'delete changed as changed-1']);
    expect(result.expired.map(row => [row.namespace, row.action])).toEqual([
      ['refreshed', `kept: expires at ${FUTURE}`],
      ['changed', 'kept: changed during the sweep (redeployed?)'],
      ['gone', 'already gone']
    ]);
  });

  it('keeps a namespace whose release will not uninstall, sweeps the rest, then fails naming it', async () => {
    const { ctx, calls } = fakeContext([ns('stuck', PAST), ns('pr-9', PAST)], {
      releases: { stuck: ['web'], 'pr-9': ['web'] },
      failUninstall: 'stuck'
    });
    const { result: error, output: log } = await captureStdout(() =>
      sweep(ctx).catch((e: unknown) => e as Error)
    );
    expect(String(error)).toContain(
      'The sweep could not delete stuck (failed: helm uninstall web in stuck failed: Error: pre-delete hook failed).'
    );
    expect(calls).not.toContain('delete stuck as stuck-1');
    expect(calls).toContain('delete pr-9 as pr-9-1');
    expect(output()).toContain('["pr-9"]');
    expect(summary()).toContain('| stuck | 2000-01-01T00:00:00Z | web | failed: helm uninstall');
    expect(log).toContain('::error::Sweeping namespace stuck: helm uninstall web in stuck failed');
  });

  it('warns about an expiry it cannot read, and keeps that namespace', async () => {
    const { ctx, calls } = fakeContext([ns('odd', 'next tuesday')]);
    const { output: log } = await captureStdout(() => sweep(ctx));
    expect(log).toContain(
      '::warning title=sweep::Namespace odd has slipway.dev/expires-at: next tuesday, which is not an RFC 3339 date'
    );
    expect(calls).toHaveLength(1);
    expect(summary()).toContain('No namespace matching the selector has expired.');
  });
});
