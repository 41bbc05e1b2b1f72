import { describe, expect, it } from '@jest/globals';
import {
  backoffDelay,
  isTransientError,
  isTransientStatus,
  poll,
  withRetry
} from '../../../src/lib/retry.js';
import { captureStdout } from '../../helpers/capture.js';

const noSleep = async () => {};

describe('isTransientError', () => {
  it.each([
    [{ code: 'ECONNRESET' }, true],
    [{ code: 'EAI_AGAIN' }, true],
    [{ statusCode: 503 }, true],
    [{ status: 429 }, true],
    [{ statusCode: 404 }, false],
    [{ statusCode: 401 }, false],
    [new Error('build failed'), false],
    [{ cause: { code: 'ETIMEDOUT' } }, true],
    [null, false],
    ['ECONNRESET', false]
  ])('%j → %s', (error, expected) => {
    expect(isTransientError(error)).toBe(expected);
  });

  it('classifies statuses', () => {
    expect(isTransientStatus(500)).toBe(true);
    expect(isTransientStatus(408)).toBe(true);
    expect(isTransientStatus(400)).toBe(false);
    expect(isTransientStatus(undefined)).toBe(false);
  });
});

describe('withRetry', () => {
  it('retries transient failures then succeeds', async () => {
    let calls = 0;
    const delays: number[] = [];
    const { result, output } = await captureStdout(() =>
      withRetry(
        async () => {
          calls++;
          if (calls < 3) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
          return 'ok';
        },
        {
          attempts: 3,
          baseDelayMs: 10,
          sleep: async ms => void delays.push(ms),
          description: 'fetching'
        }
      )
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(delays).toEqual([10, 20]);
    expect(output).toContain('Transient failure fetching (attempt 1/3): reset; retrying in 10 ms');
  });

  it('does not retry permanent failures', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw Object.assign(new Error('not found'), { statusCode: 404 });
        },
        { sleep: noSleep }
      )
    ).rejects.toThrow('not found');
    expect(calls).toBe(1);
  });

  it('gives up after the last attempt', async () => {
    let calls = 0;
    await captureStdout(async () => {
      await expect(
        withRetry(
          async () => {
            calls++;
            throw { code: 'ECONNREFUSED' };
          },
          { attempts: 2, sleep: noSleep }
        )
      ).rejects.toEqual({ code: 'ECONNREFUSED' });
    });
    expect(calls).toBe(2);
  });

  it('caps the back-off', () => {
    expect(backoffDelay(1, 1000, 5000)).toBe(1000);
    expect(backoffDelay(3, 1000, 5000)).toBe(4000);
    expect(backoffDelay(10, 1000, 5000)).toBe(5000);
  });
});

describe('poll', () => {
  it('returns the first value that is not undefined, pausing between checks', async () => {
    const answers = [undefined, undefined, 0];
    const pauses: number[] = [];
    const value = await poll(() => Promise.resolve(answers.shift()), {
      timeoutMs: 60_000,
      intervalMs: 250,
      sleep: async ms => {
        pauses.push(ms);
      }
    });
    // 0 is a value: only undefined means "not yet".
    expect(value).toBe(0);
    expect(pauses).toEqual([250, 250]);
  });

  it('answers undefined when the next pause would pass the deadline', async () => {
    let checks = 0;
    const started = Date.now();
    const value = await poll(
      () => {
        checks += 1;
        return Promise.resolve(undefined);
      },
      { timeoutMs: 150, intervalMs: 100 }
    );
    expect(value).toBeUndefined();
    // Checked at 0 and ~100 ms; a third check would fall after the deadline, so none is made.
    expect(checks).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(Date.now() - started).toBeLessThan(150);
  });
});
