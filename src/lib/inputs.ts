import * as core from '@actions/core';
import path from 'node:path';
import { InputError } from './errors.js';
import { fail, parseString, quoteValue, type StringOptions } from './input-text.js';
import { parseLabelSelector, type LabelRequirement } from './labels.js';

// The parsers' front door: the text primitives and the label syntax live in modules of their own.
export { parseString, quoteValue, type StringOptions } from './input-text.js';
export {
  isValidLabelKey,
  isValidLabelValue,
  parseLabelSelector,
  type LabelRequirement
} from './labels.js';

/**
 * Typed parsing of action inputs. Each parser takes the input's name and raw text and either
 * returns a typed value or throws an `InputError` naming the input and the accepted form. Parsing
 * happens before any tool runs, so a bad input leaves nothing half-done.
 */

/** Reads a raw input; `core.getInput` in actions, a map in tests. */
export type InputSource = (name: string) => string;

const TRUE_VALUES = new Set(['true', 'True', 'TRUE']);
const FALSE_VALUES = new Set(['false', 'False', 'FALSE']);

/** YAML 1.2 core-schema booleans, as `core.getBooleanInput` accepts; empty means the default. */
export function parseBoolean(name: string, raw: string, defaultValue: boolean): boolean {
  const value = raw.trim();
  if (value === '') return defaultValue;
  if (TRUE_VALUES.has(value)) return true;
  if (FALSE_VALUES.has(value)) return false;
  return fail(name, 'true or false', raw);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
/**
 * The longest duration: 596h, just under the 2^31-1 ms a Node timer takes (a longer one fires at
 * once) and far beyond any job's time limit.
 */
export const MAX_DURATION_MS = 596 * 3_600_000;

export interface DurationOptions {
  /** Zero is a meaningful value (lock-timeout: fail at once rather than wait). */
  allowZero?: boolean;
  /**
   * A longer limit for a duration that is never a timer (ttl: a date stamped on a namespace), in
   * whole hours; timers keep MAX_DURATION_MS.
   */
  maxMs?: number;
}

/**
 * Go-style durations (`90s`, `5m`, `1h30m`, `500ms`) or plain seconds (`300`), in whole
 * milliseconds, at most 596h. Zero would mean "no timeout" to some tools and "expire at once" to
 * others, so it is refused in every spelling unless `allowZero` says what it means; an amount
 * that rounds to zero (`0.4ms`) is refused either way.
 */
export function parseDuration(
  name: string,
  raw: string,
  defaultValue?: string,
  options: DurationOptions = {}
): number {
  const value = raw.trim() || defaultValue || '';
  const expected = 'a duration such as 90s, 5m or 1h30m (units ms, s, m, h)';
  let total = 0;
  if (/^\d+$/.test(value)) total = Number(value) * 1000;
  else if (!DURATION_PATTERN.test(value)) return fail(name, expected, raw);
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(amount) * (DURATION_UNITS[unit as string] ?? 0);
  }
  const ms = Math.round(total);
  const zero = options.allowZero && total === 0;
  const max = options.maxMs ?? MAX_DURATION_MS;
  if (!zero && !(ms >= 1 && ms <= max)) {
    const limit = `${Math.floor(max / 3_600_000)}h`;
    return fail(name, `${expected}, from ${options.allowZero ? '0' : '1ms'} to ${limit}`, raw);
  }
  return ms;
}

/** Milliseconds as a Go duration string (`5m0s`), the form helm and kubectl flags take. */
export function formatGoDuration(ms: number): string {
  const totalSeconds = Math.ceil(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  return `${hours ? `${hours}h` : ''}${hours || minutes ? `${minutes}m` : ''}${seconds}s`;
}

export interface ListOptions {
  /** Also split on commas (tags, platforms); off where values may contain commas. */
  commas?: boolean;
}

/** One item per line (and per comma when allowed); blank lines and `#` comments are skipped. */
export function parseList(name: string, raw: string, options: ListOptions = {}): string[] {
  parseString(name, raw, { multiline: true });
  const items: string[] = [];
  for (const line of raw.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const parts = options.commas ? trimmed.split(',') : [trimmed];
    for (const part of parts) {
      const item = part.trim();
      if (item !== '') items.push(item);
    }
  }
  return items;
}

export interface KeyValueOptions {
  /** Pattern (or predicate) a key must match, with a description for the error. */
  key?: { pattern: { test(key: string): boolean }; description: string };
  /** Values are secret: never quote them in errors. */
  secret?: boolean;
}

/**
 * `key=value` lines in order; the value is everything after the first `=` (so it may contain `=`,
 * commas and quotes). Duplicate keys are rejected because the "last one wins" rule of `--set` is a
 * common source of silent mistakes.
 */
export function parseKeyValues(
  name: string,
  raw: string,
  options: KeyValueOptions = {}
): Array<[string, string]> {
  parseString(name, raw, { multiline: true, secret: options.secret });
  const pairs: Array<[string, string]> = [];
  const seen = new Set<string>();
  raw.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '' || line.trim().startsWith('#')) return;
    const separator = line.indexOf('=');
    const key = separator === -1 ? '' : line.slice(0, separator).trim();
    if (key === '') {
      throw new InputError(
        name,
        `line ${index + 1} must have the form key=value${options.secret ? '' : `; got ${quoteValue(line)}`}.`
      );
    }
    if (options.key && !options.key.pattern.test(key)) {
      throw new InputError(
        name,
        `line ${index + 1}: key ${quoteValue(key)} must be ${options.key.description}.`
      );
    }
    if (seen.has(key)) throw new InputError(name, `sets key ${quoteValue(key)} more than once.`);
    seen.add(key);
    pairs.push([key, line.slice(separator + 1)]);
  });
  return pairs;
}

export function parseEnum<T extends string>(
  name: string,
  raw: string,
  allowed: readonly T[],
  defaultValue: T
): T {
  const value = raw.trim();
  if (value === '') return defaultValue;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  return fail(name, `one of ${allowed.join(', ')}`, raw);
}

export function parseInteger(
  name: string,
  raw: string,
  range: { min: number; max: number },
  defaultValue?: number
): number | undefined {
  const value = raw.trim();
  if (value === '') return defaultValue;
  if (!/^-?\d+$/.test(value) || Number(value) < range.min || Number(value) > range.max) {
    return fail(name, `a whole number from ${range.min} to ${range.max}`, raw);
  }
  return Number(value);
}

/** A lowercase hex sha256, optionally prefixed `sha256:`; returned without the prefix. */
export function parseSha256(name: string, raw: string): string | undefined {
  if (raw.trim() === '') return undefined;
  const value = raw
    .trim()
    .toLowerCase()
    .replace(/^sha256:/, '');
  if (!/^[0-9a-f]{64}$/.test(value))
    return fail(name, 'a sha256 digest: 64 hex characters, optionally prefixed sha256:', raw);
  return value;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A name Kubernetes (or Helm) checks: a DNS-1123 pattern and a length limit. */
function parseDnsName(
  name: string,
  raw: string,
  rule: { pattern: RegExp; maxLength: number; expected: string }
): string {
  const value = parseString(name, raw, { required: true });
  if (value.length > rule.maxLength || !rule.pattern.test(value)) {
    return fail(
      name,
      `${rule.expected}, starting and ending with a letter or digit, at most ${rule.maxLength} characters`,
      raw
    );
  }
  return value;
}

/** Kubernetes namespace (and other label-named objects): DNS-1123 label, at most 63 characters. */
export function parseNamespace(name: string, raw: string): string {
  return parseDnsName(name, raw, {
    pattern: DNS1123_LABEL,
    maxLength: 63,
    expected: 'a DNS-1123 label: lowercase letters, digits and "-"'
  });
}

/** Kubernetes object names such as Secrets: DNS-1123 subdomain, at most 253 characters. */
export function parseResourceName(name: string, raw: string): string {
  return parseDnsName(name, raw, {
    pattern: DNS1123_SUBDOMAIN,
    maxLength: 253,
    expected: 'a DNS-1123 subdomain: lowercase letters, digits, "-" and "."'
  });
}

/** Helm release names: DNS-1123 subdomain of at most 53 characters (helm's own limit). */
export function parseReleaseName(name: string, raw: string): string {
  return parseDnsName(name, raw, {
    pattern: DNS1123_SUBDOMAIN,
    maxLength: 53,
    expected: 'a Helm release name: lowercase letters, digits, "-" and "."'
  });
}

/**
 * A local path input: a relative path must stay inside `base` (the workspace), so `../../etc` is
 * refused; an absolute path is taken as written (e.g. a directory an earlier step made under
 * RUNNER_TEMP).
 */
export function resolveLocalPath(name: string, value: string, base: string): string {
  if (path.isAbsolute(value)) return path.normalize(value);
  const resolved = path.resolve(base, value);
  const relative = path.relative(base, resolved);
  if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    throw new InputError(
      name,
      `must stay inside the workspace (${base}) when relative; got ${quoteValue(value)}.`
    );
  }
  return resolved;
}

/** Reads inputs from the runner (or a test's map) with the parsers above. */
export class Inputs {
  constructor(private readonly source: InputSource = name => core.getInput(name)) {}

  raw(name: string): string {
    return this.source(name) ?? '';
  }

  string(name: string, options: StringOptions & { default?: string } = {}): string {
    const raw = this.raw(name);
    const value = parseString(name, raw, options);
    return value === '' && options.default !== undefined ? options.default : value;
  }

  optionalString(name: string, options: StringOptions = {}): string | undefined {
    const value = parseString(name, this.raw(name), options);
    return value === '' ? undefined : value;
  }

  boolean(name: string, defaultValue: boolean): boolean {
    return parseBoolean(name, this.raw(name), defaultValue);
  }

  duration(name: string, defaultValue: string, options: DurationOptions = {}): number {
    return parseDuration(name, this.raw(name), defaultValue, options);
  }

  list(name: string, options: ListOptions = {}): string[] {
    return parseList(name, this.raw(name), options);
  }

  keyValues(name: string, options: KeyValueOptions = {}): Array<[string, string]> {
    return parseKeyValues(name, this.raw(name), options);
  }

  enum<T extends string>(name: string, allowed: readonly T[], defaultValue: T): T {
    return parseEnum(name, this.raw(name), allowed, defaultValue);
  }

  labelSelector(name: string): LabelRequirement[] {
    return parseLabelSelector(name, this.raw(name));
  }
}
