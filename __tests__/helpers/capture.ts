import { jest } from '@jest/globals';

/**
 * Captures what the action writes to stdout (where @actions/core logs, masks and commands go)
 * while `fn` runs, so tests can assert on the real log text.
 */
export async function captureStdout<T>(
  fn: () => Promise<T> | T
): Promise<{ result: T; output: string }> {
  const chunks: string[] = [];
  const spy = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
  try {
    const result = await fn();
    return { result, output: chunks.join('') };
  } finally {
    spy.mockRestore();
  }
}
