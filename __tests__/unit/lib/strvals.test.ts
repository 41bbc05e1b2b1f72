import { describe, expect, it } from '@jest/globals';
import { InputError } from '../../../src/lib/errors.js';
import {
  MAX_INDEX,
  MAX_NESTED_NAME_LEVEL,
  applySetLines,
  escapeSetValue,
  mergeSetValues,
  parseSetLines,
  typedValue
} from '../../../src/lib/strvals.js';

type Case = [string, Record<string, unknown> | 'error'];

const typed = { typed: true, input: 'set' };
const strings = { typed: false, input: 'set-string' };

// helm pkg/strvals/parser_test.go (v3.17.3, v4.1.4 and main have the same cases), TestParseSet.
const PARSE_SET: Case[] = [
  ['name1=null,f=false,t=true', { name1: null, f: false, t: true }],
  ['name1=value1', { name1: 'value1' }],
  ['name1=value1,name2=value2', { name1: 'value1', name2: 'value2' }],
  ['name1=value1,name2=value2,', { name1: 'value1', name2: 'value2' }],
  ['name1=value1,,,,name2=value2,', 'error'],
  ['name1=,name2=value2', { name1: '', name2: 'value2' }],
  ['leading_zeros=00009', { leading_zeros: '00009' }],
  ['zero_int=0', { zero_int: 0 }],
  ['long_int=1234567890', { long_int: 1234567890 }],
  ['boolean=true', { boolean: true }],
  ['is_null=null', { is_null: null }],
  ['name1,name2=', 'error'],
  ['name1,name2=value2', 'error'],
  ['name1,name2=value2\\', 'error'],
  ['name1,name2', 'error'],
  ['name1=one\\,two,name2=three\\,four', { name1: 'one,two', name2: 'three,four' }],
  ['name1=one\\=two,name2=three\\=four', { name1: 'one=two', name2: 'three=four' }],
  ['name1=one two three,name2=three two one', { name1: 'one two three', name2: 'three two one' }],
  ['outer.inner=value', { outer: { inner: 'value' } }],
  ['outer.middle.inner=value', { outer: { middle: { inner: 'value' } } }],
  ['outer.inner1=value,outer.inner2=value2', { outer: { inner1: 'value', inner2: 'value2' } }],
  [
    'outer.inner1=value,outer.middle.inner=value',
    { outer: { inner1: 'value', middle: { inner: 'value' } } }
  ],
  ['name1.name2', 'error'],
  ['name1.name2,name1.name3', 'error'],
  ['name1.name2=', { name1: { name2: '' } }],
  ['name1.=name2', 'error'],
  ['name1.,name2', 'error'],
  ['name1={value1,value2}', { name1: ['value1', 'value2'] }],
  [
    'name1={value1,value2},name2={value1,value2}',
    { name1: ['value1', 'value2'], name2: ['value1', 'value2'] }
  ],
  ['name1={1021,902}', { name1: [1021, 902] }],
  ['name1.name2={value1,value2}', { name1: { name2: ['value1', 'value2'] } }],
  ['name1={1021,902', 'error'],
  // List support
  ['list[0]=foo', { list: ['foo'] }],
  ['list[0].foo=bar', { list: [{ foo: 'bar' }] }],
  ['list[0].foo=bar,list[0].hello=world', { list: [{ foo: 'bar', hello: 'world' }] }],
  ['list[0].foo=bar,list[-30].hello=world', 'error'],
  ['list[0]=foo,list[1]=bar', { list: ['foo', 'bar'] }],
  ['list[0]=foo,list[1]=bar,', { list: ['foo', 'bar'] }],
  ['list[0]=foo,list[3]=bar', { list: ['foo', null, null, 'bar'] }],
  ['list[0]=foo,list[-20]=bar', 'error'],
  ['illegal[0]name.foo=bar', 'error'],
  ['noval[0]', { noval: [] }],
  ['noval[0]=', { noval: [''] }],
  ['nested[0][0]=1', { nested: [[1]] }],
  ['nested[1][1]=1', { nested: [null, [null, 1]] }],
  [
    'name1.name2[0].foo=bar,name1.name2[1].foo=bar',
    { name1: { name2: [{ foo: 'bar' }, { foo: 'bar' }] } }
  ],
  [
    'name1.name2[1].foo=bar,name1.name2[0].foo=bar',
    { name1: { name2: [{ foo: 'bar' }, { foo: 'bar' }] } }
  ],
  ['name1.name2[1].foo=bar', { name1: { name2: [null, { foo: 'bar' }] } }],
  [']={}].', 'error']
];

// TestParseSet's testsString (ParseString).
const PARSE_SET_STRING: Case[] = [
  ['long_int_string=1234567890', { long_int_string: '1234567890' }],
  ['boolean=true', { boolean: 'true' }],
  ['is_null=null', { is_null: 'null' }],
  ['zero=0', { zero: '0' }]
];

// TestParseInto: [base, lines applied in order with ParseInto, expected].
const PARSE_INTO: Array<[Record<string, unknown>, string[], Record<string, unknown>]> = [
  [
    { outer: { inner1: 'overwrite', inner2: 'value2' } },
    ['outer.inner1=value1,outer.inner3=value3,outer.inner4=4'],
    { outer: { inner1: 'value1', inner2: 'value2', inner3: 'value3', inner4: 4 } }
  ],
  [
    {},
    ['listOuter[0][0].type=listValue', 'listOuter[0][0].status=alive'],
    { listOuter: [[{ type: 'listValue', status: 'alive' }]] }
  ],
  [
    {},
    ['listOuter[0][0].type=listValue', 'listOuter[1][0].status=alive'],
    { listOuter: [[{ type: 'listValue' }], [{ status: 'alive' }]] }
  ],
  [
    { listOuter: [[[{ exited: 'old' }]]] },
    ['listOuter[0][1][0].type=listValue', 'listOuter[0][0][1].status=alive'],
    { listOuter: [[[{ exited: 'old' }, { status: 'alive' }], [{ type: 'listValue' }]]] }
  ]
];

// TestSetIndex, through a list already in the values: [initial, line, expected].
const SET_INDEX: Array<[unknown[], string, unknown[] | 'error']> = [
  [[0, 1], 'l[2]=2', [0, 1, 2]], // short
  [[0, 1], 'l[1]=2', [0, 2]], // equal
  [[0, 1, 2, 3, 4, 5], 'l[3]=4', [0, 1, 2, 4, 4, 5]], // long
  [[0, 1, 2, 3, 4, 5], 'l[-1]=4', 'error'], // negative
  [[0, 1, 2, 3, 4, 5], `l[${MAX_INDEX + 1}]=4`, 'error'] // large
];

function nestedKey(levels: number): string {
  return Array.from({ length: levels }, (_, i) => `name${i + 1}`).join('.');
}

function check(line: string, expected: Record<string, unknown> | 'error', string = false): void {
  const options = string ? strings : typed;
  if (expected === 'error') {
    expect(() => parseSetLines([line], options)).toThrow(InputError);
  } else {
    expect(parseSetLines([line], options)).toEqual(expected);
  }
}

describe("helm's strvals test cases", () => {
  it.each(PARSE_SET)('--set %s', (line, expected) => check(line, expected));

  it.each(PARSE_SET_STRING)('--set-string %s', (line, expected) => check(line, expected, true));

  it.each(PARSE_INTO)('ParseInto %j %j', (base, lines, expected) => {
    expect(applySetLines(structuredClone(base), lines, typed)).toEqual(expected);
  });

  it('ParseIntoString', () => {
    const got = { outer: { inner1: 'overwrite', inner2: 'value2' } };
    applySetLines(got, ['outer.inner1=1,outer.inner3=3'], strings);
    expect(got).toEqual({ outer: { inner1: '1', inner2: 'value2', inner3: '3' } });
  });

  it.each(SET_INDEX)('setIndex %j %s', (initial, line, expected) => {
    const run = (): unknown => applySetLines({ l: [...initial] }, [line], typed).l;
    if (expected === 'error') expect(run).toThrow(InputError);
    else expect(run()).toEqual(expected);
  });

  it('nested levels', () => {
    check('outer.middle.inner=value', { outer: { middle: { inner: 'value' } } });
    // MaxNestedNameLevel+2 names: one dot too many.
    check(`${nestedKey(MAX_NESTED_NAME_LEVEL + 2)}=value`, 'error');
    expect(
      Object.keys(parseSetLines([`${nestedKey(MAX_NESTED_NAME_LEVEL + 1)}=v`], typed))
    ).toEqual(['name1']);
  });
});

// Behaviour read from parser.go (and checked against helm by the integration test).
const PORT_CASES: Case[] = [
  // typing: Go's EqualFold, strconv.ParseInt without a leading zero
  ['a=TRUE,b=False,c=NULL,d=fal\u017fe', { a: true, b: false, c: null, d: false }],
  [
    'a=+7,b=-05,c=-0,d=07,e=1e3,f=0x10,g=1_000',
    { a: 7, b: -5, c: 0, d: '07', e: '1e3', f: '0x10', g: '1_000' }
  ],
  [
    'big=9223372036854775807,over=9223372036854775808',
    { big: 9223372036854775807n, over: '9223372036854775808' }
  ],
  ['a=b=c', { a: 'b=c' }],
  ['a=b\\', { a: 'b' }],
  ['a\\.b=1,c\\[0\\]=2,d\\\\=3', { 'a.b': 1, 'c[0]': 2, 'd\\': 3 }],
  ['a=\\{x,y\\}', 'error'],
  ['a=\\{x\\,y},b=c', { a: '{x,y}', b: 'c' }],
  ['a={},b={x\\,y,\\}}', { a: [''], b: ['x,y', '}'] }],
  ['a={1,true,null,x}', { a: [1, true, null, 'x'] }],
  ['a={x}y', 'error'],
  ['a={x}y=1', { a: ['x'], y: 1 }],
  ['a[+1]=x,b[01]=y', { a: [null, 'x'], b: [null, 'y'] }],
  ['a[ 1]=x', 'error'],
  ['a[1', 'error'],
  ['a[0]x=1', 'error'],
  [`a[${MAX_INDEX}]`, { a: [] }],
  ['a[0].b=', { a: [] }], // the item is only stored once a value follows
  ['a[0].b=,c=1', { a: [{ b: '' }], c: 1 }],
  ['a[0][1]', { a: [] }],
  ['a=1,a.b=2', 'error'],
  ['a=x,a[0]=y', 'error'],
  ['a=null,a.b=1', 'error'],
  ['a[0]=x,a[0].b=y', { a: [{ b: 'y' }] }],
  ['a[0]=x,a[0][0]=y', 'error'],
  ['a.b=1,a=2', { a: 2 }],
  ['a b=c d', { 'a b': 'c d' }],
  ['__proto__.x=1,constructor=2', { ['__proto__']: { x: 1 }, constructor: 2 }]
];

// Deliberate differences: refusals where helm would silently drop or misread an assignment.
const REFUSED: string[] = [
  '--set a=b',
  '-a=b',
  'x=1,--set-string=y',
  '=v',
  '.a=v',
  '[0]=v',
  'a[0].=v',
  'a..b=v',
  'a=1,,b=2',
  // helm 4 ignores an unterminated "[" at the end of a line; helm 3 refuses it, and so do we.
  'x=1,a[1',
  'a[0][1'
];

describe('the port', () => {
  it.each(PORT_CASES)('--set %s', (line, expected) => check(line, expected));

  it.each(REFUSED)('refuses %s', line => {
    expect(() => parseSetLines([line], typed)).toThrow(InputError);
  });

  it('explains a pasted helm flag', () => {
    expect(() => parseSetLines(['--set image.tag=v1'], typed)).toThrow(
      /Input "set" line 1, assignment 1: key "--set image" starts with "-": write the assignment without the helm flag/
    );
  });

  it('names the input, line and key, never a value', () => {
    const secret = 'hunter2';
    const attempts: Array<[string, RegExp]> = [
      [`password=${secret},x${secret}`, /line 2, assignment 2: has no "="/],
      [`list[0]=${secret},list[-1]=${secret}`, /key "list\[-1\]" has a negative list index/],
      [`token={${secret},${secret}`, /key "token" has a list value without a closing "}"/],
      [`a=${secret},a.b=${secret}`, /key "a" is already set to a non-map/]
    ];
    for (const [line, message] of attempts) {
      let error: unknown;
      try {
        parseSetLines(['ok=1', line], strings);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(InputError);
      const text = (error as Error).message;
      expect(text).toMatch(/^Input "set-string" line 2, /);
      expect(text).toMatch(message);
      expect(text).toContain('key=value, separated by commas');
      expect(text).not.toContain(secret);
    }
  });

  // Found by the property tests: a key's C1 control (U+0085, a newline to some log viewers)
  // reached the message raw; keys are quoted like any value now.
  it('quotes a key with control characters on one line', () => {
    expect(() => parseSetLines(['a\u0085b[x]=1'], typed)).toThrow(
      'key "a\\u0085b" has a list index that is not a number'
    );
  });

  it('keeps one assignment per line working, later lines override earlier ones', () => {
    const lines = [
      'image.tag=v1',
      'registryServer=r,registryUser=u,imageBuildNumber=7',
      'image.tag=v2'
    ];
    expect(parseSetLines(lines, typed)).toEqual({
      image: { tag: 'v2' },
      registryServer: 'r',
      registryUser: 'u',
      imageBuildNumber: 7
    });
  });

  it('skips blank and comment lines and trims unescaped outer whitespace', () => {
    const lines = ['', '  # a comment', '  a=1  ', 'b=x\\ ', '\tc=y\\\\ \r', 'd= z'];
    expect(parseSetLines(lines, strings)).toEqual({ a: '1', b: 'x ', c: 'y\\', d: ' z' });
  });

  it('counts lines of the input, blank ones included', () => {
    expect(() => parseSetLines(['', '# x', 'a=1,b'], typed)).toThrow(/line 3, assignment 2/);
  });

  it('does not touch the prototype of maps', () => {
    const values = parseSetLines(['__proto__.polluted=1'], typed);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(values)).toEqual(['__proto__']);
  });

  it('types like --set only when asked', () => {
    expect(typedValue('42')).toBe(42);
    expect(typedValue('-9223372036854775808')).toBe(-9223372036854775808n);
    expect(typedValue('')).toBe('');
    expect(parseSetLines(['a=42,b={1,true}'], strings)).toEqual({ a: '42', b: ['1', 'true'] });
  });
});

describe('mergeSetValues', () => {
  it('applies --set, then --set-string, onto the values (helm MergeValues order)', () => {
    const base = { image: { repository: 'r', tag: 'old' }, list: ['a', 'b', 'c'], keep: true };
    const merged = mergeSetValues(base, ['image.tag=7,list[1]=x', 'n=1'], ['n=2,image.pull=3']);
    expect(merged).toEqual({
      image: { repository: 'r', tag: 7, pull: '3' },
      list: ['a', 'x', 'c'],
      keep: true,
      n: '2'
    });
    expect(base).toEqual({
      image: { repository: 'r', tag: 'old' },
      list: ['a', 'b', 'c'],
      keep: true
    });
  });

  it('fails like helm when a --set-string path crosses a --set scalar', () => {
    expect(() => mergeSetValues(undefined, ['a=1'], ['a.b=2'])).toThrow(
      /Input "set-string" line 1, assignment 1: key "a" is already set to a non-map/
    );
    expect(() => mergeSetValues({ a: 'x' }, ['a.b=1'], [])).toThrow(/Input "set" line 1/);
  });

  it('without lines is a copy of the values', () => {
    expect(mergeSetValues(undefined, [], [])).toEqual({});
    expect(mergeSetValues({ a: [1, { b: null }] }, [''], ['# none'])).toEqual({
      a: [1, { b: null }]
    });
  });
});

describe('escapeSetValue', () => {
  it.each([
    'reg.example:5000/team/app',
    'sha256:abc',
    'a,b={c,d}',
    'back\\slash\\',
    '[0].x=y',
    ' spaced ',
    'true',
    '7'
  ])('%j reads back verbatim as a --set-string value', value => {
    expect(parseSetLines([`k=${escapeSetValue(value)}`], strings)).toEqual({ k: value });
  });
});
