import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { runAction } from '../../../src/lib/action.js';
import { InputError, SlipwayError, describeError } from '../../../src/lib/errors.js';
import { clearSecretsForTesting, registerSecret } from '../../../src/lib/secrets.js';
import { captureStdout } from '../../helpers/capture.js';

beforeEach(() => {
  delete process.env.STATE_isPost;
  process.exitCode = undefined;
});
afterEach(() => {
  clearSecretsForTesting();
  delete process.env.STATE_isPost;
  process.exitCode = undefined;
});

describe('describeError', () => {
  it('adds the hint on its own line', () => {
    expect(describeError(new SlipwayError('Push was refused.', { hint: 'Log in first.' }))).toBe(
      'Push was refused.\nHint: Log in first.'
    );
    expect(describeError(new InputError('image', 'must be set.'))).toBe(
      'Input "image" must be set.'
    );
    expect(describeError(new Error('plain'))).toBe('plain');
    expect(describeError('text')).toBe('text');
  });

  it('keeps the cause and input name', () => {
    const cause = new Error('inner');
    const error = new InputError('tags', 'is bad.', { cause });
    expect(error.cause).toBe(cause);
    expect(error.input).toBe('tags');
  });
});

describe('runAction', () => {
  it('runs main the first time and post the second', async () => {
    const calls: string[] = [];
    const first = await captureStdout(() =>
      runAction(
        async () => void calls.push('main'),
        async () => void calls.push('post')
      )
    );
    expect(first.output).toMatch(/::save-state name=isPost::true|isPost/);
    process.env.STATE_isPost = 'true';
    await captureStdout(() =>
      runAction(
        async () => void calls.push('main'),
        async () => void calls.push('post')
      )
    );
    expect(calls).toEqual(['main', 'post']);
  });

  it('fails the step with a redacted message and hint', async () => {
    await captureStdout(() => registerSecret('tops3cret'));
    const { output } = await captureStdout(() =>
      runAction(async () => {
        throw new SlipwayError('login with tops3cret failed', { hint: 'check the Secret' });
      })
    );
    expect(output).toContain('::error::login with *** failed%0AHint: check the Secret');
    expect(output).not.toContain('tops3cret');
    expect(process.exitCode).toBe(1);
  });

  it('turns post failures into warnings', async () => {
    process.env.STATE_isPost = 'true';
    const { output } = await captureStdout(() =>
      runAction(
        async () => {},
        async () => {
          throw new Error('rm failed');
        }
      )
    );
    expect(output).toContain('::warning::Cleanup did not complete: rm failed');
    expect(process.exitCode).toBeUndefined();
  });

  it('on SIGINT/SIGTERM tells the running tools once, then ends the step after the grace period', async () => {
    const before = new Set(process.listeners('SIGINT'));
    let finish = (): void => {};
    const main = new Promise<void>(resolve => (finish = resolve));
    let running: Promise<void> = Promise.resolve();
    await captureStdout(async () => void (running = runAction(() => main)));
    const added = process.listeners('SIGINT').filter(listener => !before.has(listener));
    const onTerm = process.listeners('SIGTERM').filter(listener => added.includes(listener));
    expect(added).toHaveLength(1);
    expect(onTerm).toEqual(added);
    const exit = jest.spyOn(process, 'exit').mockImplementation(() => undefined as never);
    jest.useFakeTimers();
    try {
      const handler = added[0] as (signal: NodeJS.Signals) => void;
      const { output } = await captureStdout(async () => {
        handler('SIGINT');
        handler('SIGTERM');
        jest.advanceTimersByTime(8_999);
        expect(exit).not.toHaveBeenCalled();
        jest.advanceTimersByTime(1);
      });
      expect(output).toContain('Received SIGINT: cancelling (0 running tool(s) told to stop).');
      expect(output).toContain('Received SIGTERM; still stopping after SIGINT.');
      expect(output).toContain('::error::The step was cancelled (SIGINT).');
      expect(exit).toHaveBeenCalledTimes(1);
      expect(exit).toHaveBeenCalledWith(1);
    } finally {
      jest.useRealTimers();
      exit.mockRestore();
      for (const listener of added) {
        process.removeListener('SIGINT', listener);
        process.removeListener('SIGTERM', listener);
      }
      finish();
      await captureStdout(() => running);
    }
  });
});
