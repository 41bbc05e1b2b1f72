import { afterEach, describe, expect, it } from '@jest/globals';
import { STATE, stateKeyNames } from '../../../src/lib/state.js';

const saved = { ...process.env };
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
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
});
