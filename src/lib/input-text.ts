import { InputError } from './errors.js';

/**
 * The text every input parser starts from: a bounded, single- or multi-line string without
 * control characters, and the error that names the input and quotes the bad value back safely.
 */

const MAX_INPUT_LENGTH = 64 * 1024;
const SHOWN_VALUE_LENGTH = 60;

/**
 * The part of a bad value to quote back: bounded, one line, and never for secret inputs. JSON
 * escapes C0 controls; DEL, C1 controls (U+0085 is a newline to some viewers, U+009B a terminal
 * CSI) and the Unicode line separators are escaped here too, so no value can shape the log.
 */
export function quoteValue(raw: string): string {
  const oneLine = raw.replace(/[\r\n\t]/g, ' ');
  const shown =
    oneLine.length > SHOWN_VALUE_LENGTH ? `${oneLine.slice(0, SHOWN_VALUE_LENGTH)}…` : oneLine;
  return JSON.stringify(shown).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  );
}

export function fail(name: string, expected: string, raw: string, secret = false): never {
  throw new InputError(
    name,
    secret ? `must be ${expected}.` : `must be ${expected}; got ${quoteValue(raw)}.`
  );
}

/**
 * Control characters other than tab could inject lines into logs, outputs or env files: every
 * Unicode control (C0, DEL and C1, where U+0085 is a newline), and on a single line also the
 * Unicode line and paragraph separators.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_MULTILINE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex -- as above, newlines included
const CONTROL_SINGLE_LINE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/;

function rejectControlCharacters(name: string, raw: string, multiline: boolean): void {
  const pattern = multiline ? CONTROL_MULTILINE : CONTROL_SINGLE_LINE;
  if (pattern.test(raw)) {
    throw new InputError(
      name,
      multiline
        ? 'must not contain control characters.'
        : 'must be a single line (no newlines or control characters).'
    );
  }
}

export interface StringOptions {
  required?: boolean;
  /** Allow newlines (lists, YAML, key=value blocks). */
  multiline?: boolean;
  /** Never quote the value back in errors. */
  secret?: boolean;
  maxLength?: number;
}

export function parseString(name: string, raw: string, options: StringOptions = {}): string {
  const value = options.multiline ? raw : raw.trim();
  if (options.required && value.trim() === '') {
    throw new InputError(name, 'is required and was not supplied.');
  }
  const maxLength = options.maxLength ?? MAX_INPUT_LENGTH;
  if (value.length > maxLength) {
    throw new InputError(name, `is too long (${value.length} characters; at most ${maxLength}).`);
  }
  rejectControlCharacters(name, value, options.multiline ?? false);
  return value;
}
