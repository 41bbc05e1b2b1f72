import * as core from '@actions/core';

/**
 * The process-wide list of secret values. `registerSecret` masks a value in the runner's log (via
 * `core.setSecret`) and remembers it so that `redact` can scrub it from text that does not pass
 * through the runner's masker: job summaries, outputs, error messages, files.
 */
const secrets = new Set<string>();
/** The secrets longest first, as `redact` applies them; rebuilt after a registration. */
let longestFirst: string[] | undefined;

/** Shorter values would mask ordinary words and make logs unreadable; such secrets are refused. */
const MIN_SECRET_LENGTH = 3;

export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < MIN_SECRET_LENGTH) return;
  for (const form of [value, ...multilineParts(value)]) {
    if (secrets.has(form)) continue;
    secrets.add(form);
    longestFirst = undefined;
    core.setSecret(form);
  }
}

/** Masks a value and its base64 form (docker `auth` fields, Kubernetes Secret data). */
export function registerSecretWithEncodings(value: string | undefined | null): void {
  if (!value) return;
  registerSecret(value);
  registerSecret(Buffer.from(value, 'utf8').toString('base64'));
}

/** The runner masks line by line, so each line of a multi-line secret is registered too. */
function multilineParts(value: string): string[] {
  if (!value.includes('\n')) return [];
  return value
    .split(/\r?\n/)
    .map(line => line.trim())
    .filter(line => line.length >= MIN_SECRET_LENGTH);
}

/**
 * Replaces every registered secret in `text` with `***`, longest first so overlaps stay covered.
 * It runs on every line a tool prints, so the order is kept between calls and a line without the
 * secret is not rebuilt.
 */
export function redact(text: string): string {
  if (secrets.size === 0 || !text) return text;
  longestFirst ??= [...secrets].sort((a, b) => b.length - a.length);
  let result = text;
  for (const secret of longestFirst) {
    if (result.includes(secret)) result = result.split(secret).join('***');
  }
  return result;
}

/** For tests: forget every registered secret. */
export function clearSecretsForTesting(): void {
  secrets.clear();
  longestFirst = undefined;
}
