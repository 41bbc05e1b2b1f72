import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Inputs } from '../../../src/lib/inputs.js';
import { main } from '../../../src/slipway/main.js';
import { captureStdout } from '../../helpers/capture.js';

/**
 * The root action checks every stage's inputs before the first stage runs, and reports them by
 * the root's names: the two bugs of issue 15 (a stage's own input name in the error; a missing
 * file found only after BuildKit was set up).
 */
const root = mkdtempSync(path.join(tmpdir(), 'slipway-root-main-'));
const source = path.join(root, 'app');
writeFileSync(path.join(root, 'Dockerfile'), 'FROM scratch\n');
afterAll(() => rmSync(root, { recursive: true, force: true }));

function rootInputs(values: Record<string, string>): Inputs {
  const all: Record<string, string> = {
    builder: 'tcp://127.0.0.1:25234',
    'buildkit-version': 'v0.34.2',
    'secret-name': 'registry-credentials',
    image: 'r.example/team/app',
    source: root,
    ...values
  };
  return new Inputs(name => all[name] ?? '');
}

async function failure(values: Record<string, string>): Promise<{ error: Error; log: string }> {
  let caught: unknown;
  const { output } = await captureStdout(async () => {
    try {
      await main(rootInputs(values));
    } catch (error) {
      caught = error;
    }
  });
  expect(caught).toBeInstanceOf(Error);
  return { error: caught as Error, log: output };
}

describe('main', () => {
  it('reports a bad buildkit-version by the root input name, before any stage runs', async () => {
    const { error, log } = await failure({ 'buildkit-version': 'newest' });
    expect(error.message).toMatch(/^Input "buildkit-version" must be latest, an exact version/);
    expect(log).not.toContain('Stage 1/');
  });

  it('reports a missing registry-ca-file before the builder is set up', async () => {
    const missing = path.join(source, 'missing-ca.pem');
    const { error, log } = await failure({ 'registry-ca-file': missing });
    expect(error.message).toBe(
      `Input "registry-ca-file" names a file that does not exist: ${missing}.`
    );
    expect(log).not.toContain('Stage 1/');
  });
});
