import { describe, expect, it } from '@jest/globals';
import { InputError } from '../../../src/lib/errors.js';
import {
  Inputs,
  formatGoDuration,
  isValidLabelKey,
  isValidLabelValue,
  parseBoolean,
  parseDuration,
  parseEnum,
  parseInteger,
  parseKeyValues,
  parseLabelSelector,
  parseList,
  parseNamespace,
  parseReleaseName,
  parseResourceName,
  parseSha256,
  parseString,
  quoteValue
} from '../../../src/lib/inputs.js';

describe('parseBoolean', () => {
  it.each([
    ['true', true],
    ['True', true],
    ['TRUE', true],
    ['false', false],
    ['False', false],
    ['FALSE', false],
    [' true ', true]
  ])('reads %j as %s', (raw, expected) => {
    expect(parseBoolean('push', raw, !expected)).toBe(expected);
  });

  it('uses the default when empty', () => {
    expect(parseBoolean('push', '', true)).toBe(true);
    expect(parseBoolean('push', '  ', false)).toBe(false);
  });

  it.each(['yes', '1', 'on', 'tru'])('rejects %j naming the input and the accepted form', raw => {
    expect(() => parseBoolean('push', raw, true)).toThrow('Input "push" must be true or false');
  });
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1.5m', 90_000],
    ['300', 300_000]
  ])('parses %j', (raw, ms) => {
    expect(parseDuration('timeout', raw)).toBe(ms);
  });

  it('falls back to the default', () => {
    expect(parseDuration('timeout', '', '5m')).toBe(300_000);
  });

  it.each(['5 minutes', 'm5', '-5m', '5d', '0s', 'abc', '5m;rm'])('rejects %j', raw => {
    expect(() => parseDuration('timeout', raw)).toThrow(
      /Input "timeout" must be a duration such as 90s, 5m or 1h30m/
    );
  });

  // Found by the property tests (__tests__/unit/lib/properties): `0` was read as 0 (no timeout
  // at all for a build) while `0s` was refused, `0.4ms` rounded to 0, and a long duration
  // overflowed Node's timers (`600h`) or became Infinity (a 400-digit number of seconds).
  it.each(['0', '00', '0.4ms', '0.0001s', '597h', '596h1s', '1'.padEnd(400, '0').slice(0, 30)])(
    'rejects %j: from 1ms to 596h',
    raw => {
      expect(() => parseDuration('timeout', raw)).toThrow(
        /Input "timeout" must be a duration such as 90s, 5m or 1h30m \(units ms, s, m, h\), from 1ms to 596h; got/
      );
    }
  );

  it('takes the longest duration, 596h, and 0.5ms as 1ms', () => {
    expect(parseDuration('timeout', '596h')).toBe(596 * 3_600_000);
    expect(parseDuration('timeout', '0.5ms')).toBe(1);
  });

  it('reads zero in every spelling where zero means something (lock-timeout)', () => {
    for (const raw of ['0', '0s', '0m0s', '0ms']) {
      expect(parseDuration('lock-timeout', raw, '10m', { allowZero: true })).toBe(0);
    }
    expect(() => parseDuration('lock-timeout', '0.4ms', '10m', { allowZero: true })).toThrow(
      /from 0 to 596h/
    );
  });

  it('formats Go durations for helm', () => {
    expect(formatGoDuration(300_000)).toBe('5m0s');
    expect(formatGoDuration(5_400_000)).toBe('1h30m0s');
    expect(formatGoDuration(45_500)).toBe('46s');
    expect(formatGoDuration(3_600_000)).toBe('1h0m0s');
  });
});

describe('parseList', () => {
  it('splits lines, skips blanks and comments', () => {
    expect(parseList('tags', 'a\n\n# note\n b \n')).toEqual(['a', 'b']);
  });

  it('splits commas only when asked', () => {
    expect(
      parseList('platforms', 'linux/amd64,linux/arm64\nlinux/s390x', { commas: true })
    ).toEqual(['linux/amd64', 'linux/arm64', 'linux/s390x']);
    expect(parseList('build-args', 'A=1,2')).toEqual(['A=1,2']);
  });

  it('rejects control characters', () => {
    expect(() => parseList('tags', 'a\u0007b')).toThrow(
      'Input "tags" must not contain control characters.'
    );
  });
});

describe('parseKeyValues', () => {
  it('keeps everything after the first "=" and the order', () => {
    expect(parseKeyValues('set', 'a.b=1,2\nquote="x=y"\n\n# c\nempty=')).toEqual([
      ['a.b', '1,2'],
      ['quote', '"x=y"'],
      ['empty', '']
    ]);
  });

  it('rejects a line without a key', () => {
    expect(() => parseKeyValues('set', 'novalue')).toThrow(
      'Input "set" line 1 must have the form key=value; got "novalue".'
    );
    expect(() => parseKeyValues('set', '=1')).toThrow(InputError);
  });

  it('does not quote secret lines back', () => {
    expect(() => parseKeyValues('secrets', 'hunter2hunter2', { secret: true })).toThrow(
      /^(?!.*hunter2).*$/s
    );
  });

  it('rejects duplicate keys', () => {
    expect(() => parseKeyValues('set', 'a=1\na=2')).toThrow(
      'Input "set" sets key "a" more than once.'
    );
  });

  it('validates keys against a pattern', () => {
    const key = { pattern: /^[A-Z_]+$/, description: 'UPPER_CASE' };
    expect(parseKeyValues('env', 'A_B=1', { key })).toEqual([['A_B', '1']]);
    expect(() => parseKeyValues('env', 'a-b=1', { key })).toThrow(
      'Input "env" line 1: key "a-b" must be UPPER_CASE.'
    );
  });
});

describe('names', () => {
  it.each(['default', 'pr-42', 'a', 'x'.repeat(63)])('accepts namespace %j', raw => {
    expect(parseNamespace('namespace', raw)).toBe(raw);
  });

  it.each(['Prod', '-x', 'x-', 'a_b', 'a.b', 'x'.repeat(64), '../etc', 'a b'])(
    'rejects namespace %j',
    raw => {
      expect(() => parseNamespace('namespace', raw)).toThrow(
        /Input "namespace" must be a DNS-1123 label/
      );
    }
  );

  it('requires a namespace', () => {
    expect(() => parseNamespace('namespace', ' ')).toThrow(
      'Input "namespace" is required and was not supplied.'
    );
  });

  it('accepts dotted resource names and rejects bad ones', () => {
    expect(parseResourceName('secret-name', 'registry.creds')).toBe('registry.creds');
    expect(() => parseResourceName('secret-name', 'Registry')).toThrow(/DNS-1123 subdomain/);
    expect(() => parseResourceName('secret-name', 'a'.repeat(254))).toThrow(/at most 253/);
  });

  it('limits release names to 53 characters', () => {
    expect(parseReleaseName('release', 'bulletin-board')).toBe('bulletin-board');
    expect(() => parseReleaseName('release', 'x'.repeat(54))).toThrow(/at most 53 characters/);
    expect(() => parseReleaseName('release', 'a/b')).toThrow(/Helm release name/);
  });
});

describe('parseString', () => {
  it('trims single-line values and rejects newlines', () => {
    expect(parseString('image', '  a  ')).toBe('a');
    expect(() => parseString('image', 'a\nb')).toThrow('Input "image" must be a single line');
  });

  it('keeps multi-line values and bounds the length', () => {
    expect(parseString('values', 'a: 1\nb: 2\n', { multiline: true })).toBe('a: 1\nb: 2\n');
    expect(() => parseString('values', 'x'.repeat(11), { maxLength: 10 })).toThrow(
      'Input "values" is too long (11 characters; at most 10).'
    );
  });

  it('quotes back at most 60 characters on one line', () => {
    expect(quoteValue(`${'a'.repeat(70)}`)).toBe(`"${'a'.repeat(60)}…"`);
    expect(quoteValue('a\nb')).toBe('"a b"');
  });

  // Found by the property tests: C1 controls (U+0085 is a newline to some log viewers, U+009B a
  // terminal CSI) passed the control-character guard and were quoted back raw.
  it('refuses C1 controls, and Unicode line separators on a single line', () => {
    for (const raw of ['a\u0085b', 'a\u009b31mb', 'a\u0080']) {
      expect(() => parseString('image', raw)).toThrow('Input "image" must be a single line');
      expect(() => parseString('values', raw, { multiline: true })).toThrow(
        'Input "values" must not contain control characters.'
      );
    }
    expect(() => parseString('image', 'a\u2028b')).toThrow('must be a single line');
    expect(parseString('values', 'a\u2028b', { multiline: true })).toBe('a\u2028b');
    expect(parseString('image', 'é\u00a0ü')).toBe('é\u00a0ü');
  });

  it('escapes DEL, C1 controls and line separators in quoted values', () => {
    expect(quoteValue('a\u0085b\u007f\u009b\u2028')).toBe('"a\\u0085b\\u007f\\u009b\\u2028"');
    expect(JSON.parse(quoteValue('a\u0085b'))).toBe('a\u0085b');
  });
});

describe('other parsers', () => {
  it('parses enums', () => {
    expect(parseEnum('frontend', '', ['auto', 'dockerfile'] as const, 'auto')).toBe('auto');
    expect(parseEnum('frontend', 'dockerfile', ['auto', 'dockerfile'] as const, 'auto')).toBe(
      'dockerfile'
    );
    expect(() => parseEnum('frontend', 'docker', ['auto', 'dockerfile'] as const, 'auto')).toThrow(
      'Input "frontend" must be one of auto, dockerfile; got "docker".'
    );
  });

  it('parses bounded integers', () => {
    expect(parseInteger('history-max', '10', { min: 0, max: 1000 })).toBe(10);
    expect(parseInteger('history-max', '', { min: 0, max: 1000 }, 5)).toBe(5);
    expect(() => parseInteger('history-max', '1e3', { min: 0, max: 1000 })).toThrow(
      /whole number from 0 to 1000/
    );
    expect(() => parseInteger('history-max', '1001', { min: 0, max: 1000 })).toThrow(
      /whole number/
    );
  });

  it('parses sha256 checksums', () => {
    const hex = 'a'.repeat(64);
    expect(parseSha256('checksum', `sha256:${hex.toUpperCase()}`)).toBe(hex);
    expect(parseSha256('checksum', '')).toBeUndefined();
    expect(() => parseSha256('checksum', 'abc')).toThrow(/64 hex characters/);
    // Found by the property tests: a bare prefix was read as "no checksum given".
    expect(() => parseSha256('checksum', 'sha256:')).toThrow(
      'Input "checksum" must be a sha256 digest: 64 hex characters, optionally prefixed sha256:; got "sha256:".'
    );
  });
});

describe('labels', () => {
  it('validates label keys and values like Kubernetes', () => {
    expect(isValidLabelKey('app.kubernetes.io/name')).toBe(true);
    expect(isValidLabelKey('team')).toBe(true);
    expect(isValidLabelKey('Bad_Prefix/x')).toBe(false);
    expect(isValidLabelKey(`${'a'.repeat(64)}`)).toBe(false);
    expect(isValidLabelValue('')).toBe(true);
    expect(isValidLabelValue('pr-42.a_b')).toBe(true);
    expect(isValidLabelValue('-x')).toBe(false);
    expect(isValidLabelValue('x'.repeat(64))).toBe(false);
  });

  it('parses label selectors requirement by requirement, normalised', () => {
    expect(parseLabelSelector('sel', '')).toEqual([]);
    expect(
      parseLabelSelector(
        'sel',
        ' slipway.dev/preview = true,team==web, tier != db,env in (pr, staging),x notin(a),has,! gone'
      )
    ).toEqual([
      { key: 'slipway.dev/preview', text: 'slipway.dev/preview=true' },
      { key: 'team', text: 'team=web' },
      { key: 'tier', text: 'tier!=db' },
      { key: 'env', text: 'env in (pr,staging)' },
      { key: 'x', text: 'x notin (a)' },
      { key: 'has', text: 'has' },
      { key: 'gone', text: '!gone' }
    ]);
    expect(parseLabelSelector('sel', 'empty=')).toEqual([{ key: 'empty', text: 'empty=' }]);
  });

  it.each([
    'a=b,,c=d',
    'a=b,',
    'a in (x',
    'a in x',
    'Bad Key=1',
    'a=has space',
    'a=-x',
    'a===b',
    'a in (ok,-bad)',
    'a=b)',
    '!',
    'a=b\nc=d'
  ])('refuses the selector %j, naming the input', selector => {
    expect(() => parseLabelSelector('sweep-selector', selector)).toThrow(
      /^Input "sweep-selector" must (be a Kubernetes label selector|be a single line)/
    );
  });
});

describe('Inputs', () => {
  const source = (values: Record<string, string>) => (name: string) => values[name] ?? '';

  it('reads typed values from its source', () => {
    const inputs = new Inputs(
      source({ push: 'false', timeout: '2m', tags: 'a,b', set: 'x=1', mode: 'b', name: ' n ' })
    );
    expect(inputs.boolean('push', true)).toBe(false);
    expect(inputs.duration('timeout', '5m')).toBe(120_000);
    expect(inputs.list('tags', { commas: true })).toEqual(['a', 'b']);
    expect(inputs.keyValues('set')).toEqual([['x', '1']]);
    expect(inputs.enum('mode', ['a', 'b'] as const, 'a')).toBe('b');
    expect(inputs.string('name')).toBe('n');
    expect(inputs.string('missing', { default: 'd' })).toBe('d');
    expect(inputs.optionalString('missing')).toBeUndefined();
    expect(inputs.optionalString('name')).toBe('n');
  });

  it('reads the runner environment by default', () => {
    process.env['INPUT_SOME-FLAG'] = 'true';
    try {
      expect(new Inputs().boolean('some-flag', false)).toBe(true);
    } finally {
      delete process.env['INPUT_SOME-FLAG'];
    }
  });
});
