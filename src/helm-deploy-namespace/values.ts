import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { escapeSetValue, mergeSetValues } from '../lib/strvals.js';
import { escapeRawRefused, stringifyYaml11 } from '../lib/yaml11.js';
import type { DeployConfig } from './config.js';

/**
 * `values`, `set`, `set-string` (merged by readConfig as helm merges them) and the image go into
 * one values file, passed last so it wins. The image's parts are applied like `--set-string`
 * assignments to the `image-values` keys. Writing YAML instead of passing `--set` flags means
 * nothing a user typed reaches helm's command line. The file can hold secret values, so it is
 * private (0600 in a 0700 directory) and deleted right after helm runs.
 */
export function generatedValues(config: DeployConfig): Record<string, unknown> | undefined {
  const image = config.image;
  const assignments = image
    ? (['repository', 'tag', 'digest'] as const).flatMap(part => {
        const value = image[part];
        return value ? [`${config.imageValues[part]}=${escapeSetValue(value)}`] : [];
      })
    : [];
  const values = mergeSetValues(config.values, [], assignments, {
    set: 'set',
    setString: 'image-values'
  });
  return Object.keys(values).length > 0 ? values : undefined;
}

/**
 * The values file's text. Values made of strings, integers, booleans, null, lists and mappings
 * (every `set`/`set-string` line and the image, and most `values` inputs) are written as JSON,
 * which helm's YAML reader takes as it is: every string quoted, so no `on` or `yes` turns into a
 * boolean. Anything else (a float that JSON cannot write, a YAML timestamp or binary from the
 * `values` input) is written as YAML 1.1, which loads the YAML library only then.
 */
export async function valuesFileText(values: Record<string, unknown>): Promise<string> {
  return jsonForHelm(values) ?? (await stringifyYaml11(values));
}

/**
 * Longer keys go to YAML instead: helm's YAML reader (go-yaml, like libyaml) refuses an implicit
 * key of more than 1024 characters, and JSON has only implicit keys.
 */
const MAX_JSON_KEY = 1000;

/**
 * JSON as YAML reads it, or undefined for a value JSON cannot carry exactly. Characters YAML does
 * not allow raw (DEL, C1 controls, NEL and the Unicode line and paragraph separators, which YAML
 * 1.1 reads as line breaks, a byte-order mark) are written as escapes, which JSON and YAML share.
 */
export function jsonForHelm(value: unknown): string | undefined {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return quoted(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : undefined;
  if (Array.isArray(value)) return joined(value.map(jsonForHelm), '[', ']');
  if (typeof value !== 'object' || !isPlainObject(value)) return undefined;
  const entries = Object.entries(value).map(([key, item]) => {
    const text = jsonForHelm(item);
    return key.length > MAX_JSON_KEY || text === undefined ? undefined : `${quoted(key)}: ${text}`;
  });
  return joined(entries, '{', '}');
}

function joined(parts: (string | undefined)[], open: string, close: string): string | undefined {
  return parts.some(part => part === undefined) ? undefined : `${open}${parts.join(', ')}${close}`;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function quoted(text: string): string {
  return escapeRawRefused(JSON.stringify(text));
}

export async function writeGeneratedValues(
  config: DeployConfig,
  dir: string
): Promise<string | undefined> {
  const values = generatedValues(config);
  if (!values) return undefined;
  const file = path.join(dir, 'slipway-values.yaml');
  writeFileSync(file, await valuesFileText(values), { mode: 0o600 });
  return file;
}

/**
 * `oci://` charts are pulled with the registry login's credentials: DOCKER_CONFIG's config.json
 * (written by registry-login-from-secret) is in the format helm's --registry-config reads. Helm
 * would also fall back to $DOCKER_CONFIG by itself; `Helm` switches that off for oci:// charts, so
 * this flag is the one source of their credentials.
 */
export function ociRegistryConfig(chart: string): string | undefined {
  const dir = process.env.DOCKER_CONFIG;
  if (!chart.startsWith('oci://') || !dir) return undefined;
  const file = path.join(dir, 'config.json');
  return existsSync(file) ? file : undefined;
}
