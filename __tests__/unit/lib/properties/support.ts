import { afterAll } from '@jest/globals';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { appendFileSync } from 'node:fs';
import { InputError } from '../../../../src/lib/errors.js';

/**
 * Shared pieces of the property tests: a run counter per parser, the "every rejection is an
 * InputError naming the input" check, and generators of hostile strings. A failing property
 * prints fast-check's seed and the shrunk counterexample; `FC_SEED=<seed>` replays it, and
 * `FC_RUNS_FACTOR=<n>` multiplies every property's runs (to shake out a generator's rare values).
 */

const counts = new Map<string, number>();

if (process.env.FC_SEED) fc.configureGlobal({ seed: Number(process.env.FC_SEED) });

/**
 * Runs `predicate` on `runs` generated inputs and adds them to the parser's count. With
 * SLIPWAY_PROPERTY_COUNTS=<file>, each test file appends its counts there (one JSON line).
 */
export function check<T>(
  parser: string,
  arbitrary: fc.Arbitrary<T>,
  predicate: (value: T) => void,
  runs = 2000
): void {
  let tried = 0;
  fc.assert(
    fc.property(arbitrary, value => {
      tried++;
      predicate(value);
    }),
    { numRuns: runs * Number(process.env.FC_RUNS_FACTOR ?? 1) }
  );
  counts.set(parser, (counts.get(parser) ?? 0) + tried);
}

afterAll(() => {
  const file = process.env.SLIPWAY_PROPERTY_COUNTS;
  if (file) appendFileSync(file, `${JSON.stringify(Object.fromEntries(counts))}\n`);
});

export const REJECTED = Symbol('rejected');

// A message must not carry a control character other than tab, nor a Unicode line separator.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * Runs a parser; a throw must be an InputError for `input` whose message starts with the input's
 * name and holds no line break or control character but tab (nothing a value could inject into
 * the log).
 */
export function parseOrReject<T>(
  input: string | readonly string[],
  run: () => T
): T | typeof REJECTED {
  try {
    return run();
  } catch (error) {
    if (!(error instanceof InputError)) {
      throw new Error(`${String(input)}: threw ${String(error)} instead of an InputError`, {
        cause: error
      });
    }
    const inputs: readonly string[] = typeof input === 'string' ? [input] : input;
    assert.ok(inputs.includes(error.input), `${error.input} is not one of ${inputs.join(', ')}`);
    assert.ok(error.message.startsWith(`Input "${error.input}" `), error.message);
    assert.ok(
      !CONTROL.test(error.message),
      `control character in ${JSON.stringify(error.message)}`
    );
    return REJECTED;
  }
}

/** Characters that break parsers: controls, separators, quotes, escapes, non-ASCII, surrogates. */
const NASTY = fc.constantFrom(
  '\u0000',
  '\u0007',
  '\t',
  '\n',
  '\r',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u009b',
  '\u00a0',
  '\u2028',
  '\ufeff',
  '\ud800',
  '\udfff',
  '😀',
  'é',
  'İ',
  'K',
  'ſ',
  ' ',
  '"',
  "'",
  '\\',
  '/',
  '.',
  ',',
  ':',
  ';',
  '=',
  '@',
  '#',
  '[',
  ']',
  '{',
  '}',
  '-',
  '_',
  '+',
  '%',
  '?',
  '&',
  '0',
  'A',
  'z'
);

/** Any string: ASCII, full Unicode with lone surrogates, and runs of troublesome characters. */
export const anyString: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: NASTY }),
  fc.string({ unit: NASTY, minLength: 100, maxLength: 300 })
);

/** A valid input with one character inserted, replaced or removed: the near misses. */
export function mutated(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(valid, fc.nat(), fc.oneof(NASTY, fc.string({ minLength: 1, maxLength: 1 })), fc.nat(2))
    .map(([text, at, char, op]) => {
      const i = text.length === 0 ? 0 : at % (text.length + 1);
      if (op === 0) return text.slice(0, i) + char + text.slice(i);
      if (op === 1) return text.slice(0, i) + char + text.slice(i + 1);
      return text.slice(0, i) + text.slice(i + 1);
    });
}

/** Valid values, their near misses and arbitrary strings, roughly a third each. */
export function inputsAround(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(valid, mutated(valid), anyString);
}

/** Surrounding whitespace an action's YAML may leave on a value. */
export function padded(value: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom('', ' ', '  ', '\t', '\n'), value, fc.constantFrom('', ' ', '\n', '\t'))
    .map(([before, text, after]) => before + text + after);
}

/** Strings of the given characters, between `min` and `max` long. */
export function stringOf(chars: string, min: number, max: number): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...chars), minLength: min, maxLength: max });
}

export const LOWER = 'abcdefghijklmnopqrstuvwxyz';
export const UPPER = LOWER.toUpperCase();
export const DIGITS = '0123456789';
export const HEX = '0123456789abcdef';
