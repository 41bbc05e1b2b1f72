// Shared benchmark helpers. Absolute times on shared 2-core machines are noise, so every figure
// is a ratio of two things measured side by side in one run, alternating A and B so that drift in
// machine load hits both equally, and summarised by the median.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export async function timeIt(fn) {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/**
 * Runs `a` and `b` alternately `runs` times (after `warmup` untimed rounds) and returns the medians
 * and the ratio a/b. `before` runs untimed before each timed call (e.g. to reset a cache).
 */
export async function sideBySide({ runs, warmup = 1, a, b }) {
  for (let i = 0; i < warmup; i++) {
    for (const side of [a, b]) {
      if (side.before) await side.before();
      await side.fn();
    }
  }
  const timesA = [];
  const timesB = [];
  for (let i = 0; i < runs; i++) {
    for (const [side, times] of i % 2
      ? [
          [b, timesB],
          [a, timesA]
        ]
      : [
          [a, timesA],
          [b, timesB]
        ]) {
      if (side.before) await side.before();
      times.push(await timeIt(side.fn));
    }
  }
  const medianA = median(timesA);
  const medianB = median(timesB);
  return {
    ratio: medianA / medianB,
    a: { label: a.label, medianMs: round(medianA), timesMs: timesA.map(round) },
    b: { label: b.label, medianMs: round(medianB), timesMs: timesB.map(round) }
  };
}

export const round = ms => Math.round(ms * 10) / 10;

/** Spawns a command (argument array, no shell) and resolves with its exit code and output. */
export function runProcess(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', chunk => (stdout += chunk));
    child.stderr.on('data', chunk => (stderr += chunk));
    child.on('error', reject);
    child.on('close', code => {
      if (code !== 0 && !options.allowFailure) {
        reject(new Error(`${command} ${args.join(' ')} exited ${code}\n${stderr.slice(-2000)}`));
      } else resolve({ code, stdout, stderr });
    });
  });
}

/** Resolves when `child` first writes to stdout (the action's first log line). */
export function timeToFirstOutput(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'], ...options });
    let first;
    child.stdout.once('data', () => {
      first = Number(process.hrtime.bigint() - started) / 1e6;
    });
    child.on('error', reject);
    child.on('close', () => resolve(first ?? Number(process.hrtime.bigint() - started) / 1e6));
  });
}

/** Reads the local stack's facts (scripts/stack writes them on `up`). */
export function stackFacts() {
  const file = path.join(
    process.env.SLIPWAY_STACK_DIR ?? path.join(homedir(), '.cache', 'slipway', 'stack'),
    'stack.env'
  );
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(line => line.includes('='))
      .map(line => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
  );
}

/** The runner's environment for a bundle: INPUT_* variables, file commands in `runnerDir`. */
export function bundleEnv(runnerDir, inputs, extraEnv) {
  for (const dir of ['temp', 'tool-cache', 'commands'])
    mkdirSync(path.join(runnerDir, dir), { recursive: true });
  const env = {
    ...process.env,
    RUNNER_TEMP: path.join(runnerDir, 'temp'),
    RUNNER_TOOL_CACHE: path.join(runnerDir, 'tool-cache'),
    ...extraEnv
  };
  for (const name of [
    'GITHUB_OUTPUT',
    'GITHUB_ENV',
    'GITHUB_PATH',
    'GITHUB_STATE',
    'GITHUB_STEP_SUMMARY'
  ]) {
    env[name] = path.join(runnerDir, 'commands', name);
    writeFileSync(env[name], '');
  }
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  return env;
}

/** Runs an action bundle as the runner does (INPUT_* variables, file commands in `runnerDir`). */
export function runActionBundle(root, action, inputs, runnerDir, extraEnv = {}) {
  const env = bundleEnv(runnerDir, inputs, extraEnv);
  return runProcess(process.execPath, [path.join(root, 'dist', action, 'index.js')], { env });
}

/**
 * Runs an action bundle like runActionBundle but resolves as soon as a stdout line matches
 * `pattern` (a stage of interest has finished), then stops the process.
 */
export function timeBundleToLine(root, action, inputs, runnerDir, extraEnv, pattern) {
  const env = bundleEnv(runnerDir, inputs, extraEnv);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'dist', action, 'index.js')], {
      env,
      stdio: ['ignore', 'pipe', 'ignore']
    });
    let buffer = '';
    let done = false;
    child.stdout.on('data', chunk => {
      buffer += chunk;
      if (!done && pattern.test(buffer)) {
        done = true;
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('error', reject);
    child.on('close', () => {
      if (!done) reject(new Error(`${action} ended before ${pattern}:\n${buffer.slice(-2000)}`));
    });
  });
}
