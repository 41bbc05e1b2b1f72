import { spawn, type ChildProcess } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs an action's committed bundle (dist/<action>/index.js) the way the GitHub runner does: a
 * separate node process, inputs as INPUT_* variables, file commands (GITHUB_OUTPUT, GITHUB_ENV,
 * GITHUB_PATH, GITHUB_STATE, GITHUB_STEP_SUMMARY) in a private RUNNER_TEMP, and the post step as a
 * second run of the same file with the saved state. Tests therefore exercise the real entry point.
 */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ActionRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  exportedEnv: Record<string, string>;
  addedPath: string[];
  state: Record<string, string>;
  summary: string;
  /** The job-level scratch directories this run used (shared by the post step). */
  runner: RunnerDirs;
  durationMs: number;
}

export interface RunnerDirs {
  temp: string;
  toolCache: string;
  workspace: string;
  commands: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  runner?: RunnerDirs;
  timeoutMs?: number;
  cwd?: string;
  /** Run the bundle as this user (a non-root runner); the file commands are handed to it. */
  user?: { uid: number; gid: number };
}

export function newRunnerDirs(
  base = mkdtempSync(path.join(tmpdir(), 'slipway-runner-'))
): RunnerDirs {
  const dirs = {
    temp: path.join(base, 'temp'),
    toolCache: path.join(base, 'tool-cache'),
    workspace: path.join(base, 'workspace'),
    commands: path.join(base, 'commands')
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  return dirs;
}

/** Input names become INPUT_<NAME> with spaces as underscores, upper-cased; dashes are kept. */
export function inputEnv(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(inputs).map(([name, value]) => [
      `INPUT_${name.replace(/ /g, '_').toUpperCase()}`,
      value
    ])
  );
}

/** Parses the runner's file-command format: `name=value` lines or `name<<DELIM … DELIM` blocks. */
export function parseFileCommands(text: string): Record<string, string> {
  return Object.fromEntries(fileCommandEntries(text).map(entry => [entry.name, entry.value]));
}

/**
 * Every entry of a file-command file in order, with the form it was written in. The runner's rule:
 * a line whose first `=` comes before any `<<` is `name=value` (the rest of the line, unchanged);
 * else `name<<DELIM` starts a block ending at a line that is exactly DELIM.
 */
export function fileCommandEntries(
  text: string
): Array<{ name: string; value: string; form: 'line' | 'delimited' }> {
  const entries: Array<{ name: string; value: string; form: 'line' | 'delimited' }> = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') continue;
    const eq = line.indexOf('=');
    const heredoc = line.indexOf('<<');
    if (eq > 0 && (heredoc < 0 || eq < heredoc)) {
      entries.push({ name: line.slice(0, eq), value: line.slice(eq + 1), form: 'line' });
    } else if (heredoc > 0) {
      const delimiter = line.slice(heredoc + 2);
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? '');
      entries.push({ name: line.slice(0, heredoc), value: value.join('\n'), form: 'delimited' });
    }
  }
  return entries;
}

function readIfExists(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/** A bundle started but not yet finished: the test may signal `child` as the runner would. */
export interface StartedRun {
  child: ChildProcess;
  done: Promise<ActionRun>;
}

function runBundle(
  action: string,
  env: Record<string, string | undefined>,
  runner: RunnerDirs,
  options: RunOptions,
  phase: string
): Promise<ActionRun> {
  return startBundle(action, env, runner, options, phase).done;
}

function startBundle(
  action: string,
  env: Record<string, string | undefined>,
  runner: RunnerDirs,
  options: RunOptions,
  phase: string
): StartedRun {
  const files = {
    GITHUB_OUTPUT: path.join(runner.commands, `${phase}-output`),
    GITHUB_ENV: path.join(runner.commands, `${phase}-env`),
    GITHUB_PATH: path.join(runner.commands, `${phase}-path`),
    GITHUB_STATE: path.join(runner.commands, `${phase}-state`),
    GITHUB_STEP_SUMMARY: path.join(runner.commands, `${phase}-summary`)
  };
  for (const file of Object.values(files)) {
    writeFileSync(file, '');
    if (options.user) chownSync(file, options.user.uid, options.user.gid);
  }
  const bundle = path.join(projectRoot, 'dist', action, 'index.js');
  const started = Date.now();
  const child = spawn(process.execPath, [bundle], {
    cwd: options.cwd ?? runner.workspace,
    env: {
      ...withoutInputs(process.env),
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: runner.workspace,
      RUNNER_TEMP: runner.temp,
      RUNNER_TOOL_CACHE: runner.toolCache,
      ...files,
      ...env
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {})
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', chunk => (stdout += chunk));
  child.stderr.on('data', chunk => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
  const done = new Promise<number>(resolve =>
    child.on('close', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? 137 : 128)))
  ).then(exitCode => {
    clearTimeout(timer);
    return collect(exitCode);
  });
  return { child, done };

  function collect(exitCode: number): ActionRun {
    return {
      exitCode,
      stdout,
      stderr,
      outputs: parseFileCommands(readIfExists(files.GITHUB_OUTPUT)),
      exportedEnv: parseFileCommands(readIfExists(files.GITHUB_ENV)),
      addedPath: readIfExists(files.GITHUB_PATH).split('\n').filter(Boolean),
      state: parseFileCommands(readIfExists(files.GITHUB_STATE)),
      summary: readIfExists(files.GITHUB_STEP_SUMMARY),
      runner,
      durationMs: Date.now() - started
    };
  }
}

/** Inputs of the test process itself must not leak into the action. */
function withoutInputs(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(env).filter(([key]) => !key.startsWith('INPUT_') && !key.startsWith('STATE_'))
  );
}

/** Runs the main step of `dist/<action>`. */
export function runMain(
  action: string,
  inputs: Record<string, string>,
  options: RunOptions = {}
): Promise<ActionRun> {
  const runner = options.runner ?? newRunnerDirs();
  return runBundle(action, { ...inputEnv(inputs), ...options.env }, runner, options, 'main');
}

/** Starts the main step of `dist/<action>` and returns at once, with the child process. */
export function startMain(
  action: string,
  inputs: Record<string, string>,
  options: RunOptions = {}
): StartedRun {
  const runner = options.runner ?? newRunnerDirs();
  return startBundle(action, { ...inputEnv(inputs), ...options.env }, runner, options, 'main');
}

/** Runs the post step with the state the main step saved, as the runner does at job end. */
export function runPost(
  action: string,
  main: ActionRun,
  inputs: Record<string, string> = {},
  options: RunOptions = {}
): Promise<ActionRun> {
  const stateEnv = Object.fromEntries(
    Object.entries(main.state).map(([key, value]) => [`STATE_${key}`, value])
  );
  return runBundle(
    action,
    { ...inputEnv(inputs), ...stateEnv, ...options.env },
    main.runner,
    options,
    'post'
  );
}

/**
 * Every text an action run left for a user to see, for secret scans. `::add-mask::` commands are
 * left out: the runner consumes them and never prints them.
 */
export function visibleText(run: ActionRun): string {
  const shown = (text: string) =>
    text
      .split('\n')
      .filter(line => !line.startsWith('::add-mask::'))
      .join('\n');
  return [
    shown(run.stdout),
    shown(run.stderr),
    run.summary,
    JSON.stringify(run.outputs),
    JSON.stringify(run.exportedEnv),
    run.addedPath.join('\n')
  ].join('\n');
}
