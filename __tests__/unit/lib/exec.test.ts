import { afterEach, describe, expect, it } from '@jest/globals';
import {
  CommandError,
  formatCommandLine,
  lastLines,
  resolveTool,
  run
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
