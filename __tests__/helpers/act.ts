import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from './action-runner.js';

/**
 * Workflows under act (scripts/act: on this host, against the local stack), from a separate
 * repository as another team's would be: a fresh git repository holding one workflow.
 */

export function spawnText(
  tool: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', chunk => (output += chunk));
    child.stderr.on('data', chunk => (output += chunk));
    child.on('error', reject);
    child.on('close', code => {
      if (tool === 'git' && code !== 0) reject(new Error(`git ${args.join(' ')}: ${output}`));
      else resolve({ code: code ?? 1, output });
    });
  });
}

/**
 * A fresh git repository (a temp dir, on branch main) with `workflow` as
 * .github/workflows/flow.yml; `prepare` adds files before the commit. The caller removes it.
 */
export async function callerRepository(
  workflow: string,
  prepare: (repo: string) => void = () => {}
): Promise<string> {
  const repo = mkdtempSync(path.join(tmpdir(), 'slipway-caller-'));
  prepare(repo);
  mkdirSync(path.join(repo, '.github/workflows'), { recursive: true });
  writeFileSync(path.join(repo, '.github/workflows/flow.yml'), workflow);
  const git = (args: string[]) =>
    spawnText('git', ['-c', 'user.name=t', '-c', 'user.email=t@t.invalid', ...args], repo);
  await git(['init', '-q', '-b', 'main']);
  await git(['add', '-A']);
  await git(['commit', '-q', '-m', 'caller']);
  return repo;
}

/**
 * `scripts/act workflow_dispatch -W .github/workflows/flow.yml` in `repo`, plus `args`; `env` is
 * laid over the test's environment (a variable set to undefined is removed).
 */
export function runAct(
  repo: string,
  args: string[],
  env: NodeJS.ProcessEnv = {}
): Promise<{ code: number; output: string }> {
  return spawnText(
    'bash',
    [
      path.join(projectRoot, 'scripts/act'),
      'workflow_dispatch',
      '-W',
      '.github/workflows/flow.yml',
      ...args
    ],
    repo,
    { ...process.env, ...env }
  );
}

/** A `key=value` file a workflow step wrote (its outputs, for the test to read). */
export function readResult(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map(line => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
  );
}
