import { fail, parseString, quoteValue } from './input-text.js';

/**
 * Kubernetes label syntax: keys, values and label selectors as kubectl's `-l` takes them, checked
 * before anything reaches the API server.
 */

// A key: an optional DNS-subdomain prefix, then a name of at most 63 characters.
const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

export function isValidLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !LABEL_PREFIX.test(prefix))) return false;
  return LABEL_NAME.test(name);
}

/** A label value: empty, or at most 63 letters, digits, `-`, `_`, `.`, alphanumeric at both ends. */
export function isValidLabelValue(value: string): boolean {
  return LABEL_VALUE.test(value);
}

/** One requirement of a label selector, normalised (`key=value`, `key in (a,b)`, `!key`). */
export interface LabelRequirement {
  key: string;
  text: string;
}

const SELECTOR_EXPECTED =
  'a Kubernetes label selector: comma-separated key=value, key!=value, key in (a,b), key notin (a,b), key or !key';

/**
 * A label selector as kubectl's `-l` takes it (equality- and set-based requirements), checked
 * requirement by requirement so a typo fails here, naming the input, not at the API server.
 */
export function parseLabelSelector(name: string, raw: string): LabelRequirement[] {
  const value = parseString(name, raw);
  if (value === '') return [];
  // Commas inside `in (a,b)` belong to the requirement.
  const parts = value.match(/(?:[^,(]|\([^)]*\))+/g) ?? [];
  if (parts.join(',') !== value) return fail(name, SELECTOR_EXPECTED, raw);
  return parts.map(part => parseRequirement(name, part.trim(), raw));
}

function parseRequirement(name: string, text: string, raw: string): LabelRequirement {
  const bad = (why: string): never =>
    fail(name, `${SELECTOR_EXPECTED} (${why} in ${quoteValue(text)})`, raw);
  const key = (candidate: string): string =>
    isValidLabelKey(candidate) ? candidate : bad(`${quoteValue(candidate)} is not a label key`);
  const values = (list: string[]): string[] =>
    list.map(v => (isValidLabelValue(v) ? v : bad(`${quoteValue(v)} is not a label value`)));
  let match = /^!\s*([^\s=!(),]+)$/.exec(text);
  if (match) return { key: key(match[1] ?? ''), text: `!${match[1]}` };
  match = /^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(text);
  if (match) {
    const [, k = '', op = '', v = ''] = match;
    return { key: key(k), text: `${k}${op === '==' ? '=' : op}${values([v])[0]}` };
  }
  match = /^([^\s=!(),]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(text);
  if (match) {
    const [, k = '', op = '', list = ''] = match;
    const items = values(list.split(',').map(item => item.trim()));
    return { key: key(k), text: `${k} ${op} (${items.join(',')})` };
  }
  if (/^[^\s=!(),]+$/.test(text)) return { key: key(text), text };
  return bad('no requirement');
}
