import { afterAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
// The test starts an action-like node process of its own to signal it, as the runner does.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { captureStdout } from '../../helpers/capture.js';

/**
 * Cancellation (lib/exec.ts cancelTools, lib/action.ts onCancel) with real processes: the tool is
 * a node script that records the signals it gets. `cancelled` state is per module instance, so
 * every in-process test imports a fresh exec module.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'slipway-cancel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
/** A tool that writes its pid, logs SIGINT/SIGTERM to a file, and exits on SIGINT unless told
 * to ignore it. */
function tool(ignoreSigint: boolean): { script: string; log: string; pidFile: string } {
  const id = ++counter;
  const log = path.join(dir, `signals-${id}`);
  const pidFile = path.join(dir, `pid-${id}`);
  const script = path.join(dir, `tool-${id}.cjs`);
  writeFileSync(
    script,
    `const fs = require('node:fs');
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    fs.appendFileSync(${JSON.stringify(log)}, signal + '\\n');
    if (signal === 'SIGINT' && !${ignoreSigint}) process.exit(130);
  });
fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
console.log('ready');
setInterval(() => {}, 1000);
`
  );
  return { script, log, pidFile };
}

const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const waitFor = async (what: string, probe: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 25));
  }
};

type ExecModule = typeof import('../../../src/lib/exec.js');
let exec: ExecModule;
beforeEach(async () => {
  jest.resetModules();
  exec = await import('../../../src/lib/exec.js');
});

/** Starts `exec.run` of the tool, waits until it is up, and returns the pending result. */
async function started(ignoreSigint: boolean, timeoutMs?: number) {
  const t = tool(ignoreSigint);
  let ready = false;
  const result = exec
    .run(process.execPath, [t.script], {
      stream: false,
      echo: false,
      ...(timeoutMs ? { timeoutMs } : {}),
      onLine: line => void (ready ||= line === 'ready')
    })
    .then(
      () => undefined,
      (error: unknown) => error
    );
  await waitFor('the tool to start', () => ready);
  return { ...t, result, pid: Number(read(t.pidFile)) };
}

describe('cancelTools', () => {
  it('forwards the signal once to the running tool; run ends with a CancelledError', async () => {
    const running = await started(false);
    const began = Date.now();
    expect(exec.cancelTools('SIGINT', 60_000)).toBe(1);
    const error = await running.result;
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(read(running.log)).toBe('SIGINT\n');
    expect(error).toBeInstanceOf(exec.CancelledError);
    expect((error as Error).message).toBe(
      `The step was cancelled (SIGINT) while node was running.`
    );
    expect(exec.cancelSignal()).toBe('SIGINT');
    // Only the first signal is forwarded; later runs do not start at all.
    expect(exec.cancelTools('SIGTERM', 10)).toBe(0);
    const marker = path.join(dir, 'never');
    await expect(exec.run('touch', [marker], { echo: false })).rejects.toBeInstanceOf(
      exec.CancelledError
    );
    expect(existsSync(marker)).toBe(false);
  });

  it('SIGKILLs a tool that ignores the signal after the grace period', async () => {
    const running = await started(true);
    const began = Date.now();
    expect(exec.cancelTools('SIGINT', 400)).toBe(1);
    const error = await running.result;
    const elapsed = Date.now() - began;
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(5_000);
    expect(read(running.log)).toBe('SIGINT\n');
    expect(error).toBeInstanceOf(exec.CancelledError);
    expect(alive(running.pid)).toBe(false);
  });

  it('kills the whole process group of a tool run under `timeout`', async () => {
    // `timeout` leads its own process group: it forwards SIGINT to the tool, and the SIGKILL
    // must reach the tool too, not only `timeout`.
    const running = await started(true, 60_000);
    try {
      expect(exec.cancelTools('SIGINT', 400)).toBe(1);
      await waitFor('the tool to be gone', () => !alive(running.pid), 3_000);
      expect(await running.result).toBeInstanceOf(exec.CancelledError);
      expect(read(running.log)).toBe('SIGINT\n');
    } finally {
      if (alive(running.pid)) process.kill(running.pid, 'SIGKILL');
    }
  });

  it('signals nothing when no tool runs', async () => {
    const { result } = await captureStdout(async () => exec.cancelTools('SIGTERM', 10));
    expect(result).toBe(0);
    expect(exec.cancelSignal()).toBe('SIGTERM');
  });
});

/** Node runs the TypeScript sources directly: types stripped, `.js` imports mapped to `.ts`. */
function writeActionScript(toolScript: string): string {
  const src = path.resolve('src/lib');
  writeFileSync(
    path.join(dir, 'hooks.mjs'),
    `export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (specifier.endsWith('.js') && context.parentURL?.endsWith('.ts'))
      return next(specifier.slice(0, -3) + '.ts', context);
    throw error;
  }
}
`
  );
  writeFileSync(
    path.join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`
  );
  const main = path.join(dir, `action-${++counter}.ts`);
  writeFileSync(
    main,
    `import { runAction } from ${JSON.stringify(pathToFileURL(path.join(src, 'action.ts')).href)};
import { run } from ${JSON.stringify(pathToFileURL(path.join(src, 'exec.ts')).href)};
await runAction(async () => {
  await run(process.execPath, [${JSON.stringify(toolScript)}]);
});
`
  );
  return main;
}

describe('an action cancelled by the runner', () => {
  it('forwards SIGINT to the tool and fails the step as cancelled', async () => {
    const t = tool(false);
    const main = writeActionScript(t.script);
    const child = spawn(
      process.execPath,
      ['--no-warnings', '--experimental-transform-types', '--import', './register.mjs', main],
      { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } }
    );
    let stdout = '';
    child.stdout.on('data', chunk => (stdout += chunk));
    child.stderr.on('data', chunk => (stdout += chunk));
    const exited = new Promise<number | null>(resolve => child.on('exit', resolve));
    try {
      await waitFor('the tool to start', () => stdout.includes('ready'), 20_000);
      const began = Date.now();
      child.kill('SIGINT');
      const code = await exited;
      expect(Date.now() - began).toBeLessThan(5_000);
      expect(read(t.log)).toBe('SIGINT\n');
      expect(code).toBe(1);
      expect(stdout).toContain('Received SIGINT: cancelling (1 running tool(s) told to stop).');
      expect(stdout).toContain(
        '::error::The step was cancelled (SIGINT) while node was running.%0AHint: The post step puts back a release this run left pending.'
      );
    } finally {
      if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
    }
  }, 30_000);
});
