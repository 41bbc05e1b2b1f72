import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { escapeSetValue, mergeSetValues } from '../lib/strvals.js';
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
 * Values as helm reads them: helm's YAML is 1.1, where unquoted `yes`, `on`, `y`, `off` are
 * booleans and `1_000` an integer, so a string like that is written quoted (YAML 1.2 would leave
 * it bare, and helm would turn a `set-string` annotation `on` into `true`).
 */
export function valuesYaml(values: Record<string, unknown>): string {
  return toYaml(values, { version: '1.1' });
}

export function writeGeneratedValues(config: DeployConfig, dir: string): string | undefined {
  const values = generatedValues(config);
  if (!values) return undefined;
  const file = path.join(dir, 'slipway-values.yaml');
  writeFileSync(file, valuesYaml(values), { mode: 0o600 });
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
