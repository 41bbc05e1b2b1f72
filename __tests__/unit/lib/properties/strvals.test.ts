import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  escapeSetValue,
  mergeSetValues,
  parseSetLines,
  typedValue
} from '../../../../src/lib/strvals.js';
import { DIGITS, LOWER, REJECTED, anyString, check, parseOrReject, stringOf } from './support.js';

/**
 * Property tests of helm's --set grammar: generated values trees, written as set lines (escaped
 * keys and values, `a.b` maps, `a[0]` lists, `{x,y}` list values), parse back to the same tree.
 */

type Tree = { [key: string]: Value };
type Value = string | Value[] | Tree;

/** A key: plain, with grammar characters that must be escaped, or an Object.prototype name. */
const key = fc.oneof(
  stringOf(LOWER + DIGITS + '_', 1, 8),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'a.b', 'a=b', 'a,b'),
  fc.constantFrom('a[0]', '{x}', 'back\\slash', ' spaced ', 'é', '😀', '-dash', '#hash', '0'),
  fc.string({ minLength: 1, maxLength: 6 }).filter(k => !/[\n\r]/.test(k))
);

/** A leaf: any single-line string, including the words --set types. */
const leaf = fc
  .oneof(
    fc.string({ maxLength: 12 }),
    fc.string({ unit: 'grapheme', maxLength: 6 }),
    fc.constantFrom('true', 'FALSE', 'Null', 'nil', '0', '007', '-12', '+3', '1e3', '1.5', ''),
    fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String),
    fc.constantFrom('{a,b}', 'a,b', 'x=y', '\\', ' lead', 'trail ', 'tab\t')
  )
  .filter(value => !/[\n\r]/.test(value));

function tree(depth: number): fc.Arbitrary<Tree> {
  return fc
    .uniqueArray(fc.tuple(key, value(depth)), { selector: ([k]) => k, minLength: 1, maxLength: 4 })
    .map(entries => {
      const result: Tree = {};
      for (const [k, v] of entries) {
        Object.defineProperty(result, k, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true
        });
      }
      return result;
    });
}

function value(depth: number): fc.Arbitrary<Value> {
  if (depth <= 0) return leaf;
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(value(depth - 1), { minLength: 1, maxLength: 3 }) },
    { weight: 1, arbitrary: tree(depth - 1) }
  );
}

/** Assignments that build `value` at `path`, as a helm user would write them. */
function assignments(path: string, item: Value, listSyntax: boolean): string[] {
  if (typeof item === 'string') return [`${path}=${escapeSetValue(item)}`];
  if (Array.isArray(item)) {
    if (listSyntax && item.every(v => typeof v === 'string')) {
      return [`${path}={${(item as string[]).map(escapeSetValue).join(',')}}`];
    }
    return item.flatMap((v, i) => assignments(`${path}[${i}]`, v, listSyntax));
  }
  return Object.entries(item).flatMap(([k, v]) =>
    assignments(`${path}.${escapeSetValue(k)}`, v, listSyntax)
  );
}

function typedTree(item: Value): unknown {
  if (typeof item === 'string') return typedValue(item);
  if (Array.isArray(item)) return item.map(typedTree);
  const result: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) {
    Object.defineProperty(result, k, {
      value: typedTree(v),
      enumerable: true,
      writable: true,
      configurable: true
    });
  }
  return result;
}

/** The tree written as set lines: assignments shuffled among lines, some joined by commas. */
const written = fc
  .record({
    values: tree(3).filter(t => Object.keys(t).every(k => !k.startsWith('-'))),
    listSyntax: fc.boolean(),
    perLine: fc.integer({ min: 1, max: 4 }),
    comment: fc.boolean(),
    crlf: fc.boolean()
  })
  .map(({ values, listSyntax, perLine, comment, crlf }) => {
    const all = Object.entries(values).flatMap(([k, v]) =>
      assignments(escapeSetValue(k), v, listSyntax)
    );
    const lines: string[] = comment ? ['# generated', ''] : [];
    for (let i = 0; i < all.length; i += perLine) {
      const text = all.slice(i, i + perLine).join(',');
      // helm (3.17 and 4.1 alike) drops an empty value ending the line inside a list item's map
      // (`a[0].b=` gives a: []); a trailing comma keeps it, as it does in helm.
      const ending = /\]\..*=$/.test(text) ? ',' : '';
      lines.push(`  ${text}${ending}${crlf ? '\r' : ''}`);
    }
    return { values, lines };
  });

describe('parseSetLines', () => {
  it('reads a generated values tree back from --set-string lines', () => {
    check(
      'parseSetLines',
      written,
      ({ values, lines }) => {
        assert.deepEqual(parseSetLines(lines, { typed: false, input: 'set-string' }), values);
      },
      2000
    );
  });

  it('reads a generated values tree back from --set lines, leaves typed like helm', () => {
    check(
      'parseSetLines',
      written,
      ({ values, lines }) => {
        assert.deepEqual(parseSetLines(lines, { typed: true, input: 'set' }), typedTree(values));
      },
      2000
    );
  });

  const tokens = fc.constantFrom(
    'a',
    'b',
    'key',
    '0',
    '1',
    '-1',
    '65537',
    '=',
    ',',
    '.',
    '[',
    ']',
    '{',
    '}',
    '\\',
    ' ',
    '-',
    '__proto__',
    'x'
  );
  const grammarish = fc.array(tokens, { maxLength: 14 }).map(parts => parts.join(''));
  const line = fc.oneof(
    grammarish,
    anyString,
    written.map(w => w.lines.join(','))
  );

  it('parses any lines or refuses them with an error naming the input, never a prototype', () => {
    check(
      'parseSetLines',
      fc.tuple(fc.array(line, { maxLength: 3 }), fc.boolean()),
      ([lines, typed]) => {
        const input = typed ? 'set' : 'set-string';
        const result = parseOrReject(input, () => parseSetLines(lines, { typed, input }));
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'a'), false);
        if (result !== REJECTED) assert.equal(Object.getPrototypeOf(result), Object.prototype);
      },
      3000
    );
  });

  it('never quotes a value in its errors', () => {
    const secret = stringOf('QWXYZ', 10, 12);
    const safeTokens = fc.array(
      tokens.filter(t => t !== '\\'),
      { maxLength: 8 }
    );
    const arbitrary = fc.tuple(safeTokens, secret, safeTokens).map(([before, s, after]) => ({
      secret: s,
      line: `${before.join('')}=${s}${after.join('')}`
    }));
    check('parseSetLines', arbitrary, ({ secret: s, line: l }) => {
      try {
        parseSetLines([l], { typed: true, input: 'set' });
      } catch (error) {
        assert.ok(!(error as Error).message.includes(s), (error as Error).message);
      }
    });
  });
});

describe('escapeSetValue', () => {
  it('writes any single-line string so that --set-string reads it back verbatim', () => {
    const text = fc
      .oneof(fc.string(), fc.string({ unit: 'binary' }), anyString)
      .filter(v => !/[\n\r]/.test(v));
    check('escapeSetValue', text, v => {
      const result = parseSetLines([`k=${escapeSetValue(v)}`], { typed: false, input: 's' });
      assert.deepEqual(result, { k: v });
    });
  });
});

describe('typedValue', () => {
  it('types int64 decimals, true/false/null in any case, and keeps every other string', () => {
    const arbitrary = fc.oneof(
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
      fc.constantFrom('true', 'TRUE', 'tRuE', 'False', 'NULL', 'nUlL', 'falſe', '-0', '+0', '00'),
      fc.string({ maxLength: 6 }),
      stringOf('+-0123456789', 1, 22)
    );
    check('typedValue', arbitrary, raw => {
      const result = typedValue(raw);
      const folded = raw.toLowerCase().replace(/ſ/g, 's');
      if (/^(true|false|null)$/.test(folded) && /^[a-zA-Zſ]+$/.test(raw)) {
        assert.equal(result, folded === 'null' ? null : folded === 'true');
      } else if (raw === '0' || (raw[0] !== '0' && /^[+-]?[0-9]+$/.test(raw))) {
        // Go's strconv.ParseInt on anything not starting with "0": a sign, then any digits.
        const n = BigInt(raw);
        const inRange = n >= -(2n ** 63n) && n < 2n ** 63n;
        if (!inRange) assert.equal(result, raw);
        else if (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)) {
          assert.equal(result, Number(n));
        } else assert.equal(result, n);
      } else assert.equal(result, raw);
    });
  });
});

describe('mergeSetValues', () => {
  it('applies set, then set-string, onto a copy of the values, leaving them unchanged', () => {
    const arbitrary = fc.record({
      base: fc.option(tree(2), { nil: undefined }),
      set: written,
      setString: written
    });
    check(
      'mergeSetValues',
      arbitrary,
      ({ base, set, setString }) => {
        const before: unknown = base === undefined ? undefined : JSON.parse(JSON.stringify(base));
        const result = parseOrReject(['set', 'set-string'], () =>
          mergeSetValues(base, set.lines, setString.lines)
        );
        assert.deepEqual(base, before);
        if (result === REJECTED) return;
        // A set-string value written last at the top level is there as written, a string.
        const strings = parseSetLines(setString.lines, { typed: false, input: 'set-string' });
        for (const [k, v] of Object.entries(strings)) {
          if (typeof v === 'string') assert.equal(result[k], v);
          else assert.ok(Object.hasOwn(result, k));
        }
        const typed = parseSetLines(set.lines, { typed: true, input: 'set' });
        for (const k of Object.keys(typed)) assert.ok(Object.hasOwn(result, k));
        for (const k of Object.keys(base ?? {})) assert.ok(Object.hasOwn(result, k));
      },
      1000
    );
  });
});
