/**
 * helm's `--set` grammar: a port of helm's pkg/strvals parser (parser.go, identical in behaviour in
 * helm v3.17, v4.1 and main), so that `set`/`set-string` lines mean exactly what the same text means
 * after `helm --set`/`--set-string`. The result is still written to a values file: nothing a user
 * types ever reaches helm's command line.
 *
 * Grammar (helm's): `key=value` assignments separated by commas; `a.b` nests maps, `a[0]` and
 * `a[0].b` / `a[0][1]` index lists (skipped slots become null; index at most 65536), `{x,y}` is a
 * list value, an empty value is the empty string; a backslash makes the next character literal
 * anywhere (`\,` `\.` `\=` `\[` `\{` `\\`). `--set` types `true`/`false`/`null` (any case) and
 * decimal integers (no leading zero) like helm; `--set-string` keeps every value a string. Later
 * assignments override earlier ones, into the same tree: helm applies every `--set` with
 * `strvals.ParseInto` and then every `--set-string` with `ParseIntoString` onto the merged values
 * files (pkg/cli/values/options.go, MergeValues), which `mergeSetValues` reproduces.
 *
 * Deliberate differences from helm, all refusals or line handling:
 * - an assignment whose key starts with `-` (a pasted `--set a=b`) is refused;
 * - an empty key name (`=v`, `.a=v`, `[0]=v`, `a[0].=v`), which helm silently drops, is refused;
 * - an unterminated `[` at the end of a line is refused, as helm 3 does (helm 4 ignores the
 *   assignment: it takes the wrapped io.EOF for the end of the input);
 * - blank lines and lines starting with `#` are skipped; leading whitespace and unescaped trailing
 *   whitespace of a line are removed (write `\ ` for a value that ends with a space).
 * Integers beyond JavaScript's safe range come back as `bigint` (helm keeps an int64).
 *
 * Errors name the input, the line and the key, never a value (values may be secrets).
 */
import { InputError } from './errors.js';
import { quoteValue } from './inputs.js';

/** helm's strvals.MaxIndex. */
export const MAX_INDEX = 65536;
/** helm's strvals.MaxNestedNameLevel. */
export const MAX_NESTED_NAME_LEVEL = 30;

export interface SetOptions {
  /** `--set` typing (true) or `--set-string` (false). */
  typed: boolean;
  /** The action input the lines came from, for error messages. */
  input: string;
}

type Tree = Record<string, unknown>;

const ACCEPTED =
  'Each line holds helm --set assignments: key=value, separated by commas, e.g. image.tag=v1,replicas=2 ' +
  'or hosts[0].name=a or args={x,y}; a backslash makes the next character literal (\\, \\. \\= \\[ \\{ \\\\).';

/** Applies each line as one `--set` (typed) or `--set-string` argument into a new tree. */
export function parseSetLines(lines: readonly string[], options: SetOptions): Tree {
  return applySetLines({}, lines, options);
}

/**
 * Applies each line as one `--set`/`--set-string` argument onto `dest` (modified and returned),
 * as helm's `strvals.ParseInto`/`ParseIntoString` do onto the values read so far.
 */
export function applySetLines(dest: Tree, lines: readonly string[], options: SetOptions): Tree {
  lines.forEach((raw, index) => {
    const line = normalizeLine(raw);
    if (line === '' || line.startsWith('#')) return;
    new Parser(line, dest, options, index + 1).parse();
  });
  return dest;
}

/**
 * The values helm builds from values files, `--set` and `--set-string`: `base` (the values
 * files, already merged; not modified) with every `set` line applied, then every `set-string`
 * line, into the same tree (helm's MergeValues order; a `set-string` line is applied onto the
 * result of the `set` lines, it is not deep-merged over it).
 */
export function mergeSetValues(
  base: Tree | undefined,
  set: readonly string[],
  setString: readonly string[],
  names: { set: string; setString: string } = { set: 'set', setString: 'set-string' }
): Tree {
  const values = cloneTree(base ?? {}) as Tree;
  applySetLines(values, set, { typed: true, input: names.set });
  applySetLines(values, setString, { typed: false, input: names.setString });
  return values;
}

/**
 * `value` written so that a `--set`/`--set-string` assignment reads it back verbatim: every
 * character other than a letter or digit is backslash-escaped (helm's parser takes the character
 * after a backslash literally, so commas, braces and backslashes lose their meaning).
 */
export function escapeSetValue(value: string): string {
  return value.replace(/[^A-Za-z0-9]/g, '\\$&');
}

/**
 * helm's typing of a `--set` value: true/false/null in any case (Go's strings.EqualFold), `0`, and
 * decimal int64 not starting with `0` (an optional sign, as strconv.ParseInt takes); anything else
 * is the string itself.
 */
export function typedValue(value: string): unknown {
  const folded = foldCase(value);
  if (folded === 'true') return true;
  if (folded === 'false') return false;
  if (folded === 'null') return null;
  if (value === '0') return 0;
  if (value !== '' && value[0] !== '0' && /^[+-]?[0-9]+$/.test(value)) {
    const big = BigInt(value);
    if (big >= -(2n ** 63n) && big < 2n ** 63n) {
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(big)
        : big;
    }
  }
  return value;
}

// Go's EqualFold against an ASCII word: ASCII case plus the two non-ASCII letters that fold to
// ASCII ones (U+017F long s, U+212A Kelvin sign).
function foldCase(value: string): string {
  return value
    .replace(/[A-Z]/g, c => c.toLowerCase())
    .replace(/\u017f/g, 's')
    .replace(/\u212a/g, 'k');
}

function normalizeLine(raw: string): string {
  const line = raw.replace(/\r$/, '').replace(/^\s+/, '');
  let end = line.length;
  while (end > 0 && /\s/.test(line[end - 1] as string)) end--;
  if (end < line.length) {
    let backslashes = 0;
    while (end - backslashes > 0 && line[end - backslashes - 1] === '\\') backslashes++;
    if (backslashes % 2 === 1) end++;
  }
  return line.slice(0, end);
}

function isMap(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function has(tree: Tree, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(tree, key);
}

// defineProperty, so that a key such as `__proto__` is an ordinary entry.
function put(tree: Tree, key: string, value: unknown): void {
  Object.defineProperty(tree, key, { value, writable: true, enumerable: true, configurable: true });
}

/** A copy of plain maps and lists (what a values file holds); other values are shared. */
function cloneTree(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneTree);
  if (isMap(value)) {
    const copy: Tree = {};
    for (const [key, item] of Object.entries(value)) put(copy, key, cloneTree(item));
    return copy;
  }
  return value;
}

const EOF = Symbol('eof');
const NOT_LIST = Symbol('not a list');
type Step = typeof EOF | undefined;

interface Runes {
  text: string;
  /** The stop character met, or undefined at the end of the line. */
  last: string | undefined;
}

/** One line, parsed like helm's strvals parser with the runes reader `typedVal`. */
class Parser {
  private pos = 0;
  private assignment = 0;

  constructor(
    private readonly line: string,
    private readonly data: Tree,
    private readonly options: SetOptions,
    private readonly lineNumber: number
  ) {}

  parse(): void {
    for (;;) {
      this.assignment++;
      if (this.key(this.data, 0, '', true) === EOF) return;
    }
  }

  private fail(message: string): never {
    throw new InputError(
      this.options.input,
      `line ${this.lineNumber}, assignment ${this.assignment}: ${message}. ${ACCEPTED}`
    );
  }

  private failKey(path: string, message: string): never {
    return this.fail(`key ${quoteValue(path)} ${message}`);
  }

  private read(): string | undefined {
    if (this.pos >= this.line.length) return undefined;
    return this.line[this.pos++];
  }

  private unread(): void {
    this.pos--;
  }

  /** helm's runesUntil: reads up to a stop character, a backslash taking the next one literally. */
  private runesUntil(stop: string): Runes {
    let text = '';
    for (;;) {
      const r = this.read();
      if (r === undefined) return { text, last: undefined };
      if (stop.includes(r)) return { text, last: r };
      if (r === '\\') {
        const next = this.read();
        if (next === undefined) return { text, last: undefined };
        text += next;
      } else {
        text += r;
      }
    }
  }

  private value(raw: string): unknown {
    return this.options.typed ? typedValue(raw) : raw;
  }

  private key(data: Tree, level: number, parent: string, top: boolean): Step {
    const { text: k, last } = this.runesUntil('=[,.');
    if (last === undefined) {
      if (k === '') return EOF;
      return this.fail('has no "=" (a value containing a comma needs it escaped as \\,)');
    }
    if (last === ',') {
      return this.fail(
        k === ''
          ? 'is empty (two commas in a row, or a comma first)'
          : 'has no "=" (a value containing a comma needs it escaped as \\,)'
      );
    }
    const path = parent === '' ? k : `${parent}.${k}`;
    if (top && k.startsWith('-')) {
      return this.failKey(
        k,
        'starts with "-": write the assignment without the helm flag (key=value, not --set key=value)'
      );
    }
    if (k === '') return this.failKey(path, 'has an empty name (helm would drop the assignment)');
    switch (last) {
      case '[': {
        const index = this.keyIndex(path);
        let list: unknown[] = [];
        if (has(data, k)) {
          const existing = data[k];
          if (!Array.isArray(existing)) return this.failKey(path, 'is already set to a non-list');
          list = existing;
        }
        const result = this.listItem(list, index, level, `${path}[${index}]`);
        put(data, k, result.list);
        return result.step;
      }
      case '=': {
        const list = this.valList(path);
        if (list === EOF) {
          put(data, k, '');
          return EOF;
        }
        if (list === NOT_LIST) {
          put(data, k, this.value(this.runesUntil(',').text));
          return undefined;
        }
        put(data, k, list);
        return undefined;
      }
      default: {
        // '.'
        level++;
        if (level > MAX_NESTED_NAME_LEVEL) {
          return this.failKey(path, `nests deeper than helm's limit of ${MAX_NESTED_NAME_LEVEL}`);
        }
        let inner: Tree = {};
        if (has(data, k)) {
          const existing = data[k];
          if (!isMap(existing)) return this.failKey(path, 'is already set to a non-map');
          inner = existing;
        }
        const step = this.key(inner, level, path, false);
        const empty = Object.keys(inner).length === 0;
        if (step !== EOF && empty) return this.failKey(path, 'has nothing set under it');
        if (!empty) put(data, k, inner);
        return step;
      }
    }
  }

  private keyIndex(path: string): number {
    const { text, last } = this.runesUntil(']');
    if (last === undefined) return this.failKey(path, 'has a "[" without "]"');
    if (!/^[+-]?[0-9]+$/.test(text) || BigInt(text) >= 2n ** 63n || BigInt(text) < -(2n ** 63n)) {
      return this.failKey(path, 'has a list index that is not a number');
    }
    return Number(BigInt(text) > BigInt(MAX_INDEX) ? BigInt(MAX_INDEX) + 1n : BigInt(text));
  }

  private setIndex(list: unknown[], index: number, value: unknown, path: string): unknown[] {
    if (index < 0) return this.failKey(path, 'has a negative list index');
    if (index > MAX_INDEX) {
      return this.failKey(path, `has a list index above helm's limit of ${MAX_INDEX}`);
    }
    let target = list;
    if (list.length <= index) {
      target = [...list];
      while (target.length <= index) target.push(null);
    }
    target[index] = value;
    return target;
  }

  private listItem(
    list: unknown[],
    index: number,
    level: number,
    path: string
  ): { list: unknown[]; step: Step } {
    if (index < 0) return this.failKey(path, 'has a negative list index');
    const { text, last } = this.runesUntil('[.=');
    if (text.length > 0)
      return this.failKey(path, 'is followed by text other than ".", "[" or "="');
    if (last === undefined) return { list, step: EOF };
    switch (last) {
      case '=': {
        const values = this.valList(path);
        if (values === EOF) return { list: this.setIndex(list, index, '', path), step: undefined };
        const value = values === NOT_LIST ? this.value(this.runesUntil(',').text) : values;
        return { list: this.setIndex(list, index, value, path), step: undefined };
      }
      case '[': {
        const next = this.keyIndex(path);
        let current: unknown[] = [];
        if (list.length > index && list[index] !== null && list[index] !== undefined) {
          const existing = list[index];
          if (!Array.isArray(existing)) return this.failKey(path, 'is already set to a non-list');
          current = existing;
        }
        const result = this.listItem(current, next, level, `${path}[${next}]`);
        if (result.step === EOF) return { list, step: EOF };
        return { list: this.setIndex(list, index, result.list, path), step: undefined };
      }
      default: {
        // '.'
        let inner: Tree = {};
        if (list.length > index) {
          // helm: an item that is not a map is replaced by an empty one.
          if (!isMap(list[index])) list[index] = {};
          inner = list[index] as Tree;
        }
        if (this.key(inner, level, path, false) === EOF) return { list, step: EOF };
        return { list: this.setIndex(list, index, inner, path), step: undefined };
      }
    }
  }

  /** helm's valList: `{a,b}` (values typed like any value), or not a list, or the end. */
  private valList(path: string): unknown[] | typeof EOF | typeof NOT_LIST {
    const first = this.read();
    if (first === undefined) return EOF;
    if (first !== '{') {
      this.unread();
      return NOT_LIST;
    }
    const list: unknown[] = [];
    for (;;) {
      const { text, last } = this.runesUntil(',}');
      if (last === undefined) return this.failKey(path, 'has a list value without a closing "}"');
      list.push(this.value(text));
      if (last === '}') {
        const after = this.read();
        if (after !== undefined && after !== ',') this.unread();
        return list;
      }
    }
  }
}
