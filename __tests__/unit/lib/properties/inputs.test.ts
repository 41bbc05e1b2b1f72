import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  formatGoDuration,
  parseBoolean,
  parseDuration,
  parseEnum,
  parseInteger,
  parseKeyValues,
  parseList,
  parseNamespace,
  parseReleaseName,
  parseResourceName,
  parseSha256,
  parseString,
  quoteValue,
  resolveLocalPath
} from '../../../../src/lib/inputs.js';
import {
  DIGITS,
  HEX,
  LOWER,
  REJECTED,
  UPPER,
  anyString,
  check,
  inputsAround,
  padded,
  parseOrReject,
  stringOf
} from './support.js';

/** Property tests of src/lib/inputs.ts: generated valid inputs round-trip, all else is refused. */

// Every Unicode control character (category Cc): C0, DEL and C1.
// eslint-disable-next-line no-control-regex -- the oracle for the control-character guard
const CC = /[\u0000-\u001f\u007f-\u009f]/;

describe('quoteValue', () => {
  it('is one bounded JSON string line for any value', () => {
    check('quoteValue', anyString, raw => {
      const quoted = quoteValue(raw);
      assert.equal(CC.test(quoted), false);
      assert.equal(/[\u2028\u2029]/.test(quoted), false);
      assert.equal(typeof JSON.parse(quoted), 'string');
      assert.ok(quoted.length <= 2 + 6 * 61);
    });
  });
});

describe('parseString', () => {
  it('refuses every control character on a single line, and all but tab, LF and CR in multiline', () => {
    check('parseString', inputsAround(fc.string({ maxLength: 40 })), raw => {
      const single = parseOrReject('label', () => parseString('label', raw));
      const trimmed = raw.trim();
      assert.equal(
        single === REJECTED,
        /[\u2028\u2029]/.test(trimmed) || CC.test(trimmed.replace(/\t/g, ''))
      );
      if (single !== REJECTED) assert.equal(single, trimmed);
      const multi = parseOrReject('block', () => parseString('block', raw, { multiline: true }));
      assert.equal(multi === REJECTED, CC.test(raw.replace(/[\t\n\r]/g, '')));
      if (multi !== REJECTED) assert.equal(multi, raw);
    });
  });

  it('enforces required and maxLength, and never quotes a secret', () => {
    const arbitrary = fc.record({
      raw: inputsAround(fc.string({ maxLength: 20 })),
      maxLength: fc.integer({ min: 0, max: 20 }),
      required: fc.boolean()
    });
    check('parseString', arbitrary, ({ raw, maxLength, required }) => {
      const options = { maxLength, required, secret: true };
      let message = '';
      try {
        parseString('token', raw, options);
      } catch (error) {
        message = (error as Error).message;
      }
      parseOrReject('token', () => parseString('token', raw, options));
      const value = raw.trim();
      const expectRejected =
        (required && value === '') ||
        value.length > maxLength ||
        /[\u2028\u2029]/.test(value) ||
        CC.test(value.replace(/\t/g, ''));
      assert.equal(message !== '', expectRejected);
      if (value.length >= 4) assert.equal(message.includes(value), false);
    });
  });
});

describe('parseBoolean', () => {
  const valid = fc.constantFrom('true', 'True', 'TRUE', 'false', 'False', 'FALSE');
  it('reads YAML 1.2 core booleans, the default when empty, and refuses the rest', () => {
    check('parseBoolean', inputsAround(padded(valid)), raw => {
      const result = parseOrReject('push', () => parseBoolean('push', raw, true));
      const value = raw.trim();
      if (value === '') assert.equal(result, true);
      else if (['true', 'True', 'TRUE'].includes(value)) assert.equal(result, true);
      else if (['false', 'False', 'FALSE'].includes(value)) assert.equal(result, false);
      else assert.equal(result, REJECTED);
    });
  });
});

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
/** 596h: the longest duration, just under the 2^31-1 ms a Node timer takes. */
const MAX_TIMER_MS = 596 * 3_600_000;

/** A Go duration made of whole amounts: the text and its milliseconds. */
const goDuration = fc
  .array(
    fc.record({
      unit: fc.constantFrom<Unit>('h', 'm', 's', 'ms'),
      amount: fc.oneof(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 100_000 }))
    }),
    { minLength: 1, maxLength: 4 }
  )
  .map(parts => ({
    text: parts.map(({ amount, unit }) => `${amount}${unit}`).join(''),
    ms: parts.reduce((total, { amount, unit }) => total + amount * UNIT_MS[unit], 0)
  }));

describe('parseDuration', () => {
  it('reads a generated Go duration as its milliseconds, and refuses zero and beyond a timer', () => {
    check(
      'parseDuration',
      goDuration,
      ({ text, ms }) => {
        const result = parseOrReject('timeout', () => parseDuration('timeout', text));
        assert.equal(result, ms > 0 && ms <= MAX_TIMER_MS ? ms : REJECTED);
        const lock = parseOrReject('lock-timeout', () =>
          parseDuration('lock-timeout', text, '10m', { allowZero: true })
        );
        assert.equal(lock, ms <= MAX_TIMER_MS ? ms : REJECTED);
      },
      3000
    );
  });

  it('reads fractional amounts to the nearest millisecond, refusing what rounds to zero', () => {
    const arbitrary = fc.record({
      whole: fc.integer({ min: 0, max: 50 }),
      fraction: stringOf(DIGITS, 1, 4),
      unit: fc.constantFrom<Unit>('h', 'm', 's', 'ms')
    });
    check('parseDuration', arbitrary, ({ whole, fraction, unit }) => {
      const text = `${whole}.${fraction}${unit}`;
      const ms = Math.round(Number(`${whole}.${fraction}`) * UNIT_MS[unit]);
      const result = parseOrReject('timeout', () => parseDuration('timeout', text));
      assert.equal(result, ms > 0 && ms <= MAX_TIMER_MS ? ms : REJECTED);
    });
  });

  it('reads plain whole seconds, of which zero and beyond a timer are refused', () => {
    const seconds = fc.oneof(
      fc.integer({ min: 0, max: 10_000 }).map(String),
      fc.bigInt({ min: 0n, max: 10n ** 400n }).map(String),
      stringOf(DIGITS, 1, 30)
    );
    check('parseDuration', padded(seconds), raw => {
      const result = parseOrReject('timeout', () => parseDuration('timeout', raw));
      const ms = Number(raw.trim()) * 1000;
      assert.equal(result, ms > 0 && ms <= MAX_TIMER_MS ? ms : REJECTED);
    });
  });

  it('only ever returns a whole number of milliseconds a timer takes, or refuses', () => {
    const near = fc.oneof(
      goDuration.map(d => d.text),
      fc.constantFrom('0', '0s', '0.0001ms', '1e3s', '1.s', '.5s', '5', '5S', '1h-1m', '∞')
    );
    check(
      'parseDuration',
      inputsAround(near),
      raw => {
        const result = parseOrReject('timeout', () => parseDuration('timeout', raw, '5m'));
        if (result === REJECTED) return;
        assert.equal(Number.isSafeInteger(result), true);
        assert.ok(result > 0);
        assert.ok(result <= MAX_TIMER_MS);
      },
      4000
    );
  });
});

describe('formatGoDuration', () => {
  it('writes a duration that reads back as the same whole seconds (rounded up)', () => {
    check('formatGoDuration', fc.integer({ min: 1, max: MAX_TIMER_MS }), ms => {
      const text = formatGoDuration(ms);
      assert.match(text, /^(?:\d+h)?(?:\d+m)?\d+s$/);
      assert.equal(parseDuration('timeout', text), Math.ceil(ms / 1000) * 1000);
    });
  });
});

/** A list item: no newline, comma, or surrounding whitespace, not a comment. */
const listItem = fc
  .string({ minLength: 1, maxLength: 12 })
  // eslint-disable-next-line no-control-regex -- generated text without control characters
  .map(s => s.replace(/[\s,#\u0000-\u001f\u007f-\u009f]/g, 'x'));

describe('parseList', () => {
  it('reads back generated items written one a line or separated by commas', () => {
    const arbitrary = fc.record({
      items: fc.array(listItem, { maxLength: 8 }),
      commas: fc.boolean(),
      newline: fc.constantFrom('\n', '\r\n'),
      comments: fc.boolean()
    });
    check('parseList', arbitrary, ({ items, commas, newline, comments }) => {
      const lines = commas
        ? [items.slice(0, 3).join(', '), items.slice(3).join(' ,')]
        : items.map(item => `  ${item}\t`);
      const text = (comments ? ['# a comment', '', ...lines] : lines).join(newline);
      assert.deepEqual(parseList('tags', text, { commas }), items);
    });
  });

  it('never throws anything but an InputError, and returns trimmed non-empty items', () => {
    check('parseList', anyString, raw => {
      for (const commas of [false, true]) {
        const items = parseOrReject('tags', () => parseList('tags', raw, { commas }));
        if (items === REJECTED) continue;
        for (const item of items) {
          assert.equal(item, item.trim());
          assert.notEqual(item, '');
          if (commas) assert.equal(item.includes(','), false);
        }
      }
    });
  });
});

describe('parseKeyValues', () => {
  const key = fc
    .string({ minLength: 1, maxLength: 10 })
    // eslint-disable-next-line no-control-regex -- generated text without control characters
    .map(s => s.replace(/[\s=#\u0000-\u001f\u007f-\u009f]/g, 'k'));
  const value = fc
    .string({ maxLength: 20 })
    // eslint-disable-next-line no-control-regex -- generated text without control characters
    .map(s => s.replace(/[\n\r\u0000-\u001f\u007f-\u009f]/g, ' '));

  it('reads back generated pairs, values keeping "=", commas, quotes and spaces', () => {
    const pairs = fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 8 });
    check('parseKeyValues', fc.tuple(pairs, fc.constantFrom('\n', '\r\n')), ([list, newline]) => {
      const text = list.map(([k, v]) => `${k}=${v}`).join(newline);
      assert.deepEqual(parseKeyValues('build-args', text), list);
    });
  });

  it('refuses a repeated key, naming the key', () => {
    check('parseKeyValues', fc.tuple(key, value, value), ([k, a, b]) => {
      assert.throws(() => parseKeyValues('labels', `${k}=${a}\n${k}=${b}`), {
        message: `Input "labels" sets key ${quoteValue(k)} more than once.`
      });
    });
  });

  it('never throws anything but an InputError; a secret value is never quoted', () => {
    const line = fc.oneof(
      fc.tuple(key, value).map(([k, v]) => `${k}=${v}`),
      anyString
    );
    const text = fc.array(line, { maxLength: 5 }).map(lines => lines.join('\n'));
    check(
      'parseKeyValues',
      fc.oneof(text, anyString),
      raw => {
        const pairs = parseOrReject('env', () => parseKeyValues('env', raw));
        if (pairs !== REJECTED) {
          assert.equal(new Set(pairs.map(([k]) => k)).size, pairs.length);
          for (const [k] of pairs) assert.equal(k, k.trim());
        }
        try {
          parseKeyValues('secret-env', raw, { secret: true });
        } catch (error) {
          for (const secretLine of raw.split(/\r?\n/)) {
            const v = secretLine.slice(secretLine.indexOf('=') + 1);
            if (secretLine.includes('=') && v.trim().length >= 6) {
              assert.equal((error as Error).message.includes(v), false);
            }
          }
        }
      },
      3000
    );
  });
});

describe('parseEnum', () => {
  const allowed = ['auto', 'dockerfile', 'buildpacks', 'gateway'] as const;
  it('returns an allowed value as written, the default when empty, and refuses the rest', () => {
    check('parseEnum', inputsAround(padded(fc.constantFrom(...allowed))), raw => {
      const result = parseOrReject('frontend', () => parseEnum('frontend', raw, allowed, 'auto'));
      const value = raw.trim();
      if (value === '') assert.equal(result, 'auto');
      else assert.equal(result, (allowed as readonly string[]).includes(value) ? value : REJECTED);
    });
  });
});

describe('parseInteger', () => {
  it('reads back every whole number in range and refuses those outside', () => {
    const arbitrary = fc
      .tuple(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 0, max: 2000 }))
      .chain(([min, span]) =>
        fc.record({
          min: fc.constant(min),
          max: fc.constant(min + span),
          n: fc.integer({ min: min - 50, max: min + span + 50 })
        })
      );
    check('parseInteger', arbitrary, ({ min, max, n }) => {
      const result = parseOrReject('history-max', () =>
        parseInteger('history-max', ` ${n} `, { min, max })
      );
      assert.equal(result, n >= min && n <= max ? n : REJECTED);
    });
  });

  it('returns a whole number in range, the default when empty, or refuses', () => {
    const near = fc.oneof(
      fc.integer().map(String),
      fc.constantFrom('-0', '+1', '1.0', '1e3', '0x10', '007', '9'.repeat(400), '١٢')
    );
    check(
      'parseInteger',
      inputsAround(near),
      raw => {
        const result = parseOrReject('check-status', () =>
          parseInteger('check-status', raw, { min: 100, max: 599 }, 200)
        );
        if (result === REJECTED) return;
        if (raw.trim() === '') assert.equal(result, 200);
        assert.ok(result !== undefined && Number.isInteger(result));
        assert.ok(result >= 100);
        assert.ok(result <= 599);
      },
      3000
    );
  });
});

describe('parseSha256', () => {
  const hex64 = stringOf(HEX, 64, 64);
  it('reads 64 hex characters, with or without sha256:, in any case', () => {
    const arbitrary = fc.tuple(hex64, fc.constantFrom('', 'sha256:', 'SHA256:'), fc.boolean());
    check('parseSha256', arbitrary, ([hex, prefix, upper]) => {
      const raw = prefix + (upper ? hex.toUpperCase() : hex);
      assert.equal(parseSha256('digest', ` ${raw}\n`), hex);
    });
  });

  it('returns 64 lowercase hex characters or undefined for empty, else refuses', () => {
    const near = fc.oneof(
      hex64,
      hex64.map(h => `sha256:${h}`),
      stringOf(HEX, 0, 70),
      fc.constantFrom('sha256:', 'sha256', 'sha512:' + 'a'.repeat(64))
    );
    check(
      'parseSha256',
      inputsAround(near),
      raw => {
        const result = parseOrReject('digest', () => parseSha256('digest', raw));
        if (result === REJECTED) return;
        if (result === undefined) assert.equal(raw.trim(), '');
        else assert.match(result, /^[0-9a-f]{64}$/);
      },
      3000
    );
  });
});

/** DNS-1123 label: lowercase alphanumerics and '-', starting and ending alphanumeric. */
function dnsLabel(maxLength: number): fc.Arbitrary<string> {
  const alnum = LOWER + DIGITS;
  return fc.oneof(
    fc.constantFrom(...alnum),
    fc
      .tuple(
        fc.constantFrom(...alnum),
        stringOf(`${alnum}-`, 0, maxLength - 2),
        fc.constantFrom(...alnum)
      )
      .map(([a, middle, b]) => a + middle + b)
  );
}

function dnsSubdomain(maxLength: number): fc.Arbitrary<string> {
  return fc
    .array(fc.oneof(dnsLabel(10), dnsLabel(63)), { minLength: 1, maxLength: 6 })
    .map(labels => labels.join('.'))
    .filter(name => name.length <= maxLength + 5);
}

// Independent oracles, written from the Kubernetes validation rules rather than the regexes.
function isLabel(value: string, maxLength = 63): boolean {
  if (value.length < 1 || value.length > maxLength) return false;
  if (value.startsWith('-') || value.endsWith('-')) return false;
  return [...value].every(c => (LOWER + DIGITS + '-').includes(c));
}

function isSubdomain(value: string, maxLength: number): boolean {
  return value.length <= maxLength && value.split('.').every(label => isLabel(label, Infinity));
}

describe('DNS-1123 names', () => {
  const cases = [
    ['parseNamespace', 'namespace', parseNamespace, (v: string) => isLabel(v)],
    ['parseResourceName', 'secret-name', parseResourceName, (v: string) => isSubdomain(v, 253)],
    ['parseReleaseName', 'release', parseReleaseName, (v: string) => isSubdomain(v, 53)]
  ] as const;

  it.each(cases)('%s accepts exactly the valid names, trimmed', (parser, input, parse, valid) => {
    // Lengths around each limit (53, 63, 253): fast-check's strings are short by default.
    const nearLimit = fc
      .tuple(fc.constantFrom(52, 53, 54, 62, 63, 64, 252, 253, 254), fc.nat(3), fc.boolean())
      .map(([length, dots, dashes]) => {
        const body = Array.from({ length }, (_, i): string => (dashes && i % 7 === 3 ? '-' : 'a'));
        for (let d = 1; d <= dots; d++) body[Math.floor((length * d) / (dots + 1))] = '.';
        return body.join('');
      });
    const names = fc.oneof(dnsLabel(70), dnsSubdomain(260), nearLimit);
    const upper = names.map(n => n.replace(/[a-z]/, c => c.toUpperCase()));
    check(
      parser,
      fc.oneof(padded(names), inputsAround(names), upper, stringOf(`${UPPER}_.-a1`, 0, 10)),
      raw => {
        const result = parseOrReject(input, () => parse(input, raw));
        const value = raw.trim();
        assert.equal(result, valid(value) ? value : REJECTED);
      },
      3000
    );
  });
});

describe('resolveLocalPath', () => {
  const segment = fc.oneof(
    fc.constantFrom('.', '..', '', 'a', 'chart', '...', '..a'),
    stringOf(`${LOWER}.-`, 1, 5)
  );
  const relative = fc.array(segment, { minLength: 1, maxLength: 6 }).map(s => s.join('/'));

  it('keeps a relative path inside the workspace and takes an absolute one as written', () => {
    check(
      'resolveLocalPath',
      fc.oneof(
        relative,
        relative.map(p => `/${p}`),
        anyString
      ),
      raw => {
        const result = parseOrReject('chart', () => resolveLocalPath('chart', raw, '/ws'));
        if (raw.startsWith('/')) {
          assert.notEqual(result, REJECTED);
          return;
        }
        // Resolved by hand: from /ws, '..' climbs (never above /), '' and '.' stay.
        const stack = ['ws'];
        for (const part of raw.split('/')) {
          if (part === '..') stack.pop();
          else if (part !== '' && part !== '.') stack.push(part);
        }
        const inside = stack[0] === 'ws';
        if (!inside) assert.equal(result, REJECTED);
        else assert.equal(result, `/${stack.join('/')}`);
      },
      3000
    );
  });
});
