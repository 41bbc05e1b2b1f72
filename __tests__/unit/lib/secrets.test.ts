import { afterEach, describe, expect, it } from '@jest/globals';
import {
  clearSecretsForTesting,
  redact,
  registerSecret,
  registerSecretWithEncodings
} from '../../../src/lib/secrets.js';
import { captureStdout } from '../../helpers/capture.js';

afterEach(() => clearSecretsForTesting());

describe('secrets', () => {
  it('masks with the runner and redacts text', async () => {
    const { output } = await captureStdout(() => registerSecret('s3cr3t-value'));
    expect(output).toContain('::add-mask::s3cr3t-value');
    expect(redact('user s3cr3t-value end s3cr3t-value')).toBe('user *** end ***');
  });

  it('registers base64 forms', async () => {
    await captureStdout(() => registerSecretWithEncodings('user:pa55word'));
    const b64 = Buffer.from('user:pa55word').toString('base64');
    expect(redact(`auth=${b64}`)).toBe('auth=***');
  });

  it('registers each line of a multi-line secret', async () => {
    const { output } = await captureStdout(() =>
      registerSecret('-----BEGIN KEY-----\nAAAABBBB\n-----END KEY-----')
    );
    expect(output).toContain('::add-mask::AAAABBBB');
    expect(redact('line AAAABBBB')).toBe('line ***');
  });

  it('redacts the longest secret first', async () => {
    await captureStdout(() => {
      registerSecret('abc');
      registerSecret('abcdef');
    });
    expect(redact('xabcdefx')).toBe('x***x');
  });

  it('redacts a secret registered after an earlier redact, in the right order', async () => {
    await captureStdout(() => registerSecret('abc'));
    expect(redact('xabcdefx')).toBe('x***defx');
    await captureStdout(() => registerSecret('abcdef'));
    expect(redact('xabcdefx')).toBe('x***x');
    expect(redact('no secret here')).toBe('no secret here');
  });

  it('ignores empty and too-short values', async () => {
    const { output } = await captureStdout(() => {
      registerSecret('');
      registerSecret(undefined);
      registerSecret('ab');
      registerSecretWithEncodings(null);
    });
    expect(output).toBe('');
    expect(redact('ab')).toBe('ab');
  });
});
