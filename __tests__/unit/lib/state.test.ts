import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import { STATE, stateKeyNames } from '../../../src/lib/state.js';
import { fileCommandEntries } from '../../helpers/action-runner.js';
import { captureStdout } from '../../helpers/capture.js';

const saved = { ...process.env };
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
});

beforeEach(() => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'slipway-state-')), 'state');
  writeFileSync(file, '');
  process.env.GITHUB_STATE = file;
});

describe('STATE', () => {
  it('declares every key once: no two stages share a name', () => {
    const names = stateKeyNames();
    expect(names.length).toBeGreaterThan(5);
    expect(new Set(names).size).toBe(names.length);
  });

  it('reads back typed values the runner hands the post step as STATE_<name>', () => {
    process.env[`STATE_${STATE.setup.buildkitdPid.name}`] = '4242';
    process.env[`STATE_${STATE.setup.kubeBuilder.name}`] = '{"namespace":"ci","pod":"p"}';
    expect(STATE.setup.buildkitdPid.get()).toBe(4242);
    expect(STATE.setup.kubeBuilder.get()).toEqual({ namespace: 'ci', pod: 'p' });
    expect(STATE.login.dockerConfigDir.get()).toBeUndefined();
  });

  it('saves each kind of value as the runner stores it, and clears it', async () => {
    const { output } = await captureStdout(async () => {
      STATE.setup.buildkitdDir.save('/tmp/bk');
      STATE.setup.buildkitdPid.save(4242);
      STATE.deploy.inFlight.save({
        release: 'web',
        namespace: 'pr-1',
        helm: { path: '/bin/helm', version: 'v4.1.4', major: 4 },
        latest: 3,
        deployed: 2,
        timeoutMs: 1000,
        atomic: true
      });
      STATE.deploy.inFlight.clear();
    });
    const saved = fileCommandEntries(readFileSync(process.env.GITHUB_STATE ?? '', 'utf8'));
    expect(output).toBe('');
    // One-line values in the runner's `name=value` form: no random delimiter, so no node:crypto
    // at start-up (scripts/patch-deps.mjs).
    expect(saved).toEqual([
      { name: 'setup_buildkitd_dir', value: '/tmp/bk', form: 'line' },
      { name: 'setup_buildkitd_pid', value: '4242', form: 'line' },
      {
        name: 'deploy_in_flight',
        value:
          '{"release":"web","namespace":"pr-1","helm":{"path":"/bin/helm","version":"v4.1.4","major":4},"latest":3,"deployed":2,"timeoutMs":1000,"atomic":true}',
        form: 'line'
      },
      { name: 'deploy_in_flight', value: '', form: 'line' }
    ]);
  });

  it('keeps the random delimiter for a value with a line break, which a one-line entry cannot hold', () => {
    const file = process.env.GITHUB_STATE ?? '';
    core.saveState('notes', 'first\nsecond=2\r');
    core.saveState('odd name', 'x');
    const text = readFileSync(file, 'utf8');
    expect(fileCommandEntries(text)).toEqual([
      { name: 'notes', value: 'first\nsecond=2\r', form: 'delimited' },
      { name: 'odd name', value: 'x', form: 'delimited' }
    ]);
    expect(text).toMatch(/^notes<<ghadelimiter_[0-9a-f-]{36}\n/);
  });
});
