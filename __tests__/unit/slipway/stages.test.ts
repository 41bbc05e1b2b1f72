import { describe, expect, it } from '@jest/globals';
import { InputError } from '../../../src/lib/errors.js';
import { Inputs } from '../../../src/lib/inputs.js';
import {
  BUILD_INPUTS,
  DEPLOY_INPUTS,
  LOGIN_INPUTS,
  SETUP_INPUTS,
  inRootTerms,
  stageInputs
} from '../../../src/slipway/stages.js';

const root = new Inputs(
  name =>
    ({
      builder: 'tcp://b:1234',
      'kube-context': 'ci',
      source: 'https://g/app.git#main:app',
      'secret-namespace': 'sys',
      image: 'r/app'
    })[name] ?? ''
);

describe('stageInputs', () => {
  it('maps each stage input to the root input of the same meaning', () => {
    expect(stageInputs(root, SETUP_INPUTS).raw('addr')).toBe('tcp://b:1234');
    expect(stageInputs(root, LOGIN_INPUTS).raw('context')).toBe('ci');
    expect(stageInputs(root, LOGIN_INPUTS).raw('namespace')).toBe('sys');
    expect(stageInputs(root, BUILD_INPUTS).raw('context')).toBe('https://g/app.git#main:app');
    expect(stageInputs(root, BUILD_INPUTS).raw('image')).toBe('r/app');
  });

  it("hands the deploy stage the smoke check's inputs", () => {
    const checks = new Inputs(name => (name.startsWith('check-') ? `root ${name}` : ''));
    for (const name of ['check-path', 'check-service', 'check-timeout', 'check-status']) {
      expect(stageInputs(checks, DEPLOY_INPUTS).raw(name)).toBe(`root ${name}`);
    }
  });

  it('leaves inputs the root does not offer empty, so stage defaults apply', () => {
    expect(stageInputs(root, BUILD_INPUTS).raw('push')).toBe('');
    expect(stageInputs(root, SETUP_INPUTS).raw('buildkitd-flags')).toBe('');
  });

  it('never hands one stage an input meant for another', () => {
    // The builder's kube context is the cluster's (kube-context), never the build's source.
    expect(stageInputs(root, SETUP_INPUTS).raw('context')).toBe('ci');
    expect(stageInputs(root, SETUP_INPUTS).raw('image')).toBe('');
    expect(stageInputs(root, LOGIN_INPUTS).raw('image')).toBe('');
  });
});

describe('inRootTerms', () => {
  it('renames stage inputs in errors to the root names', () => {
    expect(() =>
      inRootTerms(BUILD_INPUTS, () => {
        throw new InputError('context', 'must be a directory.');
      })
    ).toThrow('Input "source" must be a directory.');
    expect(() =>
      inRootTerms(LOGIN_INPUTS, () => {
        throw new InputError('namespace', 'must be a DNS-1123 label.');
      })
    ).toThrow('Input "secret-namespace" must be a DNS-1123 label.');
  });

  it('passes other errors and results through', () => {
    expect(inRootTerms(SETUP_INPUTS, () => 42)).toBe(42);
    expect(() =>
      inRootTerms(SETUP_INPUTS, () => {
        throw new Error('boom');
      })
    ).toThrow('boom');
    expect(() =>
      inRootTerms(SETUP_INPUTS, () => {
        throw new InputError('buildkitd-flags', 'x');
      })
    ).toThrow('Input "buildkitd-flags" x');
  });
});

describe('inRootTerms with a stage that runs', () => {
  it('renames input errors a stage throws while it works', async () => {
    await expect(
      inRootTerms(LOGIN_INPUTS, async () => {
        throw new InputError('ca-file', 'names a file that does not exist: /x.');
      })
    ).rejects.toThrow('Input "registry-ca-file" names a file that does not exist: /x.');
    await expect(inRootTerms(LOGIN_INPUTS, async () => 7)).resolves.toBe(7);
  });
});
