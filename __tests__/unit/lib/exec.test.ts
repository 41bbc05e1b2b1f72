import { afterEach, describe, expect, it } from '@jest/globals';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CommandError,
  formatCommandLine,
  findOnPath,
  findProcess,
  isProcessAlive,
  lastLines,
  queryNow,
  resolveTool,
  run,
  spawnDetached,
  stopProcess
} from '../../../src/lib/exec.js';
import { SlipwayError } from '../../../src/lib/errors.js';
import { clearSecretsForTesting, registerSecret } from '../../../src/lib/secrets.js';
import { captureStdout } from '../../helpers/capture.js';

afterEach(() => clearSecretsForTesting());

describe('run', () => {
  it('passes arguments verbatim, without a shell', async () => {
    const tricky = ['a b', '$(id)', '"quoted"', "it's", ';', '*'];
    const { result } = await captureStdout(() =>
      run('printf', ['%s\\n', ...tricky], { stream: false })
    );
    expect(result.stdout.trimEnd().split('\n')).toEqual(tricky);
    expect(result.exitCode).toBe(0);
  });

  it('echoes the command line and streams output, redacted', async () => {
    await captureStdout(() => registerSecret('pa55w0rd!'));
    const { output } = await captureStdout(() => run('echo', ['token', 'pa55w0rd!']));
    expect(output).toContain("[command] echo token '***'");
    expect(output).toContain('token ***');
    expect(output).not.toContain('pa55w0rd!');
  });

  it('feeds stdin and sets env', async () => {
    const { result } = await captureStdout(() =>
      run('cat', [], { input: 'from stdin', stream: false })
    );
    expect(result.stdout).toBe('from stdin');
    const env = await captureStdout(() =>
      run('printenv', ['SLIPWAY_TEST_VAR'], {
        env: { SLIPWAY_TEST_VAR: 'v1' },
        stream: false,
        echo: false
      })
    );
    expect(env.result.stdout.trim()).toBe('v1');
    expect(env.output).toBe('');
  });

  it('reports lines to a listener', async () => {
    const lines: string[] = [];
    await captureStdout(() =>
      run('printf', ['one\\ntwo\\n'], { stream: false, onLine: line => lines.push(line) })
    );
    expect(lines).toEqual(['one', 'two']);
  });

  it('throws a CommandError with the redacted stderr tail', async () => {
    await captureStdout(() => registerSecret('hunter22'));
    const { result } = await captureStdout(async () => {
      try {
        await run('ls', ['/nonexistent-hunter22'], { stream: false });
        return undefined;
      } catch (error) {
        return error;
      }
    });
    expect(result).toBeInstanceOf(CommandError);
    const error = result as CommandError;
    expect(error.result.exitCode).not.toBe(0);
    expect(error.message).toMatch(/^ls failed with exit code \d+\.\n.*nonexistent-\*\*\*/s);
    expect(error.message).not.toContain('hunter22');
  });

  it('returns non-zero exits when asked to', async () => {
    const { result } = await captureStdout(() =>
      run('false', [], { ignoreReturnCode: true, stream: false })
    );
    expect(result.exitCode).toBe(1);
    expect(result.timedOut).toBe(false);
  });

  it('stops a tool at its timeout', async () => {
    const started = Date.now();
    const { result } = await captureStdout(() =>
      run('sleep', ['30'], { timeoutMs: 1000, stream: false }).catch(error => error)
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result).toBeInstanceOf(CommandError);
    expect((result as CommandError).result.timedOut).toBe(true);
    expect((result as CommandError).message).toBe(
      'sleep did not finish within the timeout and was stopped.'
    );
  });

  it('names a missing tool', async () => {
    await expect(resolveTool('no-such-tool-slipway')).rejects.toThrow(
      new SlipwayError('no-such-tool-slipway was not found on PATH.')
    );
  });
});

describe('queryNow', () => {
  /** Our children's command lines, read from /proc. */
  const children = (): string[] =>
    readdirSync('/proc')
      .filter(entry => /^\d+$/.test(entry))
      .flatMap(pid => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
          if (Number(ppid) !== process.pid) return [];
          return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()];
        } catch {
          return [];
        }
      });

  it('has the process running before it returns, and answers its exit code and output', async () => {
    const sleep = findOnPath('sleep') ?? 'sleep';
    const pending = queryNow(sleep, ['0.3'], 10_000);
    // No await yet: the process exists already (run would still be looking its tool up).
    expect(children()).toContain(`${sleep} 0.3`);
    await expect(pending).resolves.toMatchObject({ exitCode: 0, stdout: '', timedOut: false });
    const printf = findOnPath('printf') ?? 'printf';
    await expect(queryNow(printf, ['%s|', 'a b', "'c'"], 10_000)).resolves.toMatchObject({
      exitCode: 0,
      stdout: "a b|'c'|"
    });
    await expect(queryNow(findOnPath('false') ?? 'false', [], 10_000)).resolves.toMatchObject({
      exitCode: 1
    });
  });

  it('kills a query at its timeout, and answers a missing binary with a failure', async () => {
    const started = Date.now();
    const result = await queryNow(findOnPath('sleep') ?? 'sleep', ['30'], 300);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result).toMatchObject({ timedOut: true });
    expect(result.exitCode).not.toBe(0);
    const missing = await queryNow('/nonexistent/slipway-tool', ['version'], 1000);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toContain('ENOENT');
  });
});

describe('findOnPath', () => {
  it('finds the first executable file on PATH, past a directory and a file without x', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'slipway-path-'));
    const dirs = path.join(root, 'dirs');
    const files = path.join(root, 'files');
    const bins = path.join(root, 'bins');
    mkdirSync(path.join(dirs, 'tool'), { recursive: true });
    mkdirSync(files);
    writeFileSync(path.join(files, 'tool'), '#!/bin/sh\n', { mode: 0o644 });
    mkdirSync(bins);
    writeFileSync(path.join(bins, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
    chmodSync(path.join(bins, 'tool'), 0o755);
    const saved = process.env.PATH;
    try {
      process.env.PATH = ['', dirs, files, bins].join(path.delimiter);
      expect(findOnPath('tool')).toBe(path.join(bins, 'tool'));
      expect(findOnPath('no-such-tool-slipway')).toBeUndefined();
      // A path is taken as it is, if it is executable.
      expect(findOnPath(path.join(bins, 'tool'))).toBe(path.join(bins, 'tool'));
      expect(findOnPath(path.join(files, 'tool'))).toBeUndefined();
    } finally {
      process.env.PATH = saved;
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('formatting', () => {
  it('quotes only what needs it', () => {
    expect(
      formatCommandLine('buildctl', ['build', '--opt', 'build-arg:A=1,2', 'a b', "it's"])
    ).toBe(`buildctl build --opt build-arg:A=1,2 'a b' 'it'\\''s'`);
  });

  it('keeps the last lines', () => {
    expect(lastLines('1\n2\n3\n', 2)).toBe('2\n3');
  });
});

describe('daemons', () => {
  it('starts a detached process logging to a file, and stops it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'daemon-'));
    try {
      const log = path.join(dir, 'daemon.log');
      const { result: pid } = await captureStdout(() =>
        spawnDetached('sh', ['-c', 'echo started; exec sleep 30'], log)
      );
      expect(isProcessAlive(pid)).toBe(true);
      for (let i = 0; i < 50 && !readFileSync(log, 'utf8').includes('started'); i++)
        await new Promise(r => setTimeout(r, 50));
      expect(readFileSync(log, 'utf8')).toBe('started\n');
      expect(statSync(log).mode & 0o777).toBe(0o600);
      expect(await stopProcess(pid, 2000)).toBe(true);
      expect(isProcessAlive(pid)).toBe(false);
      expect(await stopProcess(pid)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kills a process that ignores SIGTERM after the grace period', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'daemon-'));
    try {
      const { result: pid } = await captureStdout(() =>
        spawnDetached(
          'sh',
          ['-c', "trap '' TERM; while :; do sleep 1; done"],
          path.join(dir, 'log')
        )
      );
      await new Promise(r => setTimeout(r, 200));
      const started = Date.now();
      expect(await stopProcess(pid, 500)).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds a running process by its exact command line, and signals it through `send`', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'daemon-'));
    try {
      const args = [`31.${process.pid}`];
      const { result: pid } = await captureStdout(() =>
        spawnDetached('sleep', args, path.join(dir, 'log'))
      );
      const sleep = await resolveTool('sleep');
      expect(findProcess([sleep, ...args])).toBe(pid);
      expect(findProcess([sleep, `32.${process.pid}`])).toBeUndefined();
      const sent: string[] = [];
      const stopped = await stopProcess(pid, 2000, (target, signal) => {
        sent.push(signal);
        process.kill(target, signal);
      });
      expect(stopped).toBe(true);
      expect(sent).toEqual(['SIGTERM']);
      expect(isProcessAlive(pid)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names a missing daemon binary', async () => {
    await expect(spawnDetached('no-such-daemon-slipway', [], '/dev/null')).rejects.toThrow(
      'no-such-daemon-slipway was not found on PATH.'
    );
  });
});
