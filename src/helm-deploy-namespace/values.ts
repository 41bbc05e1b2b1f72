import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { inferValue, setAtPath } from '../lib/helm/index.js';
import type { DeployConfig } from './config.js';

/**
 * `values`, `set`, `set-string` and the image go into one values file, passed last so it wins.
 * Writing YAML instead of `--set` flags means no value is ever parsed by helm's `--set` syntax:
 * commas, dots, brackets, quotes and backslashes arrive as written. The file can hold secret
 * values, so it is private (0600 in a 0700 directory) and deleted right after helm runs.
 */
export function generatedValues(config: DeployConfig): Record<string, unknown> | undefined {
  const values: Record<string, unknown> = structuredClone(config.values ?? {});
  for (const [key, raw] of config.set) setAtPath(values, key, inferValue(raw));
  for (const [key, raw] of config.setString) setAtPath(values, key, raw);
  if (config.image) {
    setAtPath(values, config.imageValues.repository, config.image.repository);
    if (config.image.tag) setAtPath(values, config.imageValues.tag, config.image.tag);
    if (config.image.digest) setAtPath(values, config.imageValues.digest, config.image.digest);
  }
  return Object.keys(values).length > 0 ? values : undefined;
}

export function writeGeneratedValues(config: DeployConfig, dir: string): string | undefined {
  const values = generatedValues(config);
  if (!values) return undefined;
  const file = path.join(dir, 'slipway-values.yaml');
  writeFileSync(file, toYaml(values), { mode: 0o600 });
  return file;
}

/**
 * `oci://` charts are pulled with the registry login's credentials: DOCKER_CONFIG's config.json
 * (written by registry-login-from-secret) is in the format helm's --registry-config reads. Helm 4
 * would find it by itself; Helm 3 only reads its own file unless told.
 */
export function ociRegistryConfig(chart: string): string | undefined {
  const dir = process.env.DOCKER_CONFIG;
  if (!chart.startsWith('oci://') || !dir) return undefined;
  const file = path.join(dir, 'config.json');
  return existsSync(file) ? file : undefined;
}
