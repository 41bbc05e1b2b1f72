import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { projectRoot } from '../helpers/action-runner.js';

/**
 * The workflow hygiene CI's zizmor run checks, held here too for the files zizmor and Dependabot
 * treat differently: every third-party action pinned by full commit SHA with its version as a
 * comment, one pin per action across .github/workflows (which Dependabot updates) and
 * examples/workflows (which it does not), least-privilege permissions, checkouts without
 * persisted credentials, and no expression expanded inside a `run:` script.
 */
const files = ['.github/workflows', 'examples/workflows'].flatMap(dir =>
  readdirSync(path.join(projectRoot, dir))
    .filter(name => name.endsWith('.yml'))
    .map(name => path.join(dir, name))
);

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  permissions?: unknown;
  jobs: Record<string, { steps?: Step[]; uses?: string; permissions?: unknown }>;
}

const read = (file: string) => readFileSync(path.join(projectRoot, file), 'utf8');
const steps = (file: string): Step[] =>
  Object.values((YAML.parse(read(file)) as Workflow).jobs).flatMap(job => job.steps ?? []);
/** Slipway's own actions and reusable workflow, pinned by major tag (moved by release.yml). */
const isOwn = (uses: string) => uses.startsWith('./') || uses.startsWith('slipway/slipway');

describe('workflow hygiene', () => {
  it('finds the workflows', () => {
    expect(files).toEqual(expect.arrayContaining(['.github/workflows/release.yml']));
  });

  it('pins every third-party action by full SHA with a version comment, the same everywhere', () => {
    const pins = new Map<string, Set<string>>();
    for (const file of files) {
      for (const line of read(file).split('\n')) {
        const uses = /^\s*(?:- )?uses:\s*(\S+)(.*)$/.exec(line);
        if (!uses || isOwn(uses[1] ?? '')) continue;
        const [, ref = '', comment = ''] = uses;
        expect(`${file}: ${ref}${comment}`).toMatch(
          /: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/
        );
        const action = ref.slice(0, ref.indexOf('@'));
        pins.set(action, (pins.get(action) ?? new Set()).add(`${ref}${comment}`));
      }
    }
    expect(pins.size).toBeGreaterThanOrEqual(5);
    for (const [action, refs] of pins)
      expect([action, [...refs]]).toEqual([action, [...refs].slice(0, 1)]);
  });

  it('declares permissions, never persists checkout credentials, expands nothing in run:', () => {
    for (const file of files) {
      const workflow = YAML.parse(read(file)) as Workflow;
      expect([file, workflow.permissions !== undefined]).toEqual([file, true]);
      for (const step of steps(file)) {
        if (step.uses?.startsWith('actions/checkout@')) {
          expect([file, step.with?.['persist-credentials']]).toEqual([file, false]);
        }
        if (step.run) expect([file, step.run]).not.toEqual([file, expect.stringContaining('${{')]);
      }
    }
  });
});
