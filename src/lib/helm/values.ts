import { InputError } from '../errors.js';

/** `--set`-style keys, written to a values file instead of being escaped for helm's parser. */

export type PathSegment = string | number;

/**
 * Parses a `--set` key: dot-separated names, `\.` for a literal dot, `[n]` list indices
 * (`ingress.hosts[0].host`, `podAnnotations.prometheus\.io/scrape`). Names may contain letters,
 * digits, `_`, `-`, and `/` after an escaped dot (annotation keys). Anything else is refused
 * rather than guessed.
 */
export function parseSetKey(input: string, key: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let current = '';
  let afterIndex = false;
  const bad = (why: string): never => {
    throw new InputError(
      input,
      `key ${JSON.stringify(key)} ${why}; keys are dot-separated names (letters, digits, "_", "-", "/"), with "\\." for a literal dot and [n] for list items, e.g. image.tag or ingress.hosts[0].host.`
    );
  };
  const pushName = (): void => {
    if (current === '') {
      if (!afterIndex) bad('has an empty name');
      return;
    }
    if (!/^[A-Za-z0-9_][A-Za-z0-9_\-/.]*$/.test(current)) bad('has an unsupported character');
    segments.push(current);
    current = '';
  };
  for (let i = 0; i < key.length; i++) {
    const char = key[i] as string;
    if (char === '\\') {
      const next = key[i + 1];
      if (next !== '.' && next !== '[' && next !== '\\')
        bad('has a backslash that escapes nothing');
      current += next;
      i++;
      afterIndex = false;
    } else if (char === '.') {
      pushName();
      afterIndex = false;
    } else if (char === '[') {
      const close = key.indexOf(']', i);
      const index = close === -1 ? '' : key.slice(i + 1, close);
      if (!/^\d{1,4}$/.test(index)) bad('has a list index that is not [n]');
      if (current !== '') pushName();
      else if (segments.length === 0) bad('starts with a list index');
      else if (!afterIndex) bad('has a list index right after a dot');
      segments.push(Number(index));
      i = close;
      afterIndex = true;
    } else {
      if (afterIndex) bad('continues after a list index without a dot');
      current += char;
    }
  }
  if (current !== '' || !afterIndex) pushName();
  return segments;
}

/**
 * `--set`'s type rules for a value written as text: `true`/`false`, `null` and integers become
 * those types; everything else stays a string, byte for byte (commas, quotes, brackets, backslashes
 * included — in a values file nothing needs escaping).
 */
export function inferValue(raw: string): unknown {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw === 'null') return null;
  if (/^-?(0|[1-9]\d{0,14})$/.test(raw)) return Number(raw);
  return raw;
}

type Tree = Record<string, unknown> | unknown[];

/** Sets `value` at `path` inside `tree`, creating maps and lists on the way. */
export function setAtPath(
  tree: Record<string, unknown>,
  path: PathSegment[],
  value: unknown
): void {
  let node: Tree = tree;
  path.forEach((segment, index) => {
    const last = index === path.length - 1;
    const nextIsIndex = typeof path[index + 1] === 'number';
    const container = node as Record<string | number, unknown>;
    if (last) {
      container[segment] = value;
      return;
    }
    const existing = container[segment];
    const fits = nextIsIndex ? Array.isArray(existing) : isPlainObject(existing);
    if (!fits) container[segment] = nextIsIndex ? [] : {};
    node = container[segment] as Tree;
  });
  fillListHoles(tree);
}

/** Lists set by index (`a[2]=x`) get `null` in the skipped slots, as helm does, not holes. */
function fillListHoles(node: unknown): void {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      if (!(i in node)) node[i] = null;
      fillListHoles(node[i]);
    }
  } else if (isPlainObject(node)) {
    for (const value of Object.values(node)) fillListHoles(value);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
