// Shared benchmark helpers. Absolute times on shared 2-core machines are noise, so every figure
// is a ratio of two things measured side by side in one run, alternating A and B so that drift in
// machine load hits both equally, and summarised by the median.
import { spawn } from 'node:child_process';

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
    await a.fn();
    await b.fn();
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
