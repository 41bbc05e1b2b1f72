import * as core from '@actions/core';
import { SlipwayError } from '../lib/errors.js';
import { registerSecret } from '../lib/secrets.js';
import {
  decodeBase64,
  maskCredential,
  normalizeRegistry,
  parseDockerConfig,
  type RegistryCredential
} from '../lib/registry/index.js';
import type { KeyNames, LoginConfig, SecretFormat } from './config.js';

/** The parts of a Kubernetes Secret this action reads (`data` values are base64). */
export interface SecretData {
  type?: string | undefined;
  data?: Record<string, string> | undefined;
}

export const DOCKERCONFIGJSON_TYPE = 'kubernetes.io/dockerconfigjson';
export const DOCKERCFG_TYPE = 'kubernetes.io/dockercfg';

export interface ExtractedCredentials {
  format: Exclude<SecretFormat, 'auto'>;
  /** The selected credentials; the first is the one named in outputs. */
  credentials: RegistryCredential[];
}

/**
 * Masks every secret value of the Secret before anything else happens with it: password and token
 * keys, the whole docker config document, in both decoded and base64 form.
 */
export function maskSecretData(secret: SecretData, keys: KeyNames): void {
  const secretKeys = new Set([
    ...keys.password,
    ...DEFAULT_SECRET_KEYS,
    '.dockerconfigjson',
    '.dockercfg'
  ]);
  for (const [key, encoded] of Object.entries(secret.data ?? {})) {
    if (!secretKeys.has(key)) continue;
    registerSecret(encoded);
    try {
      registerSecret(decodeBase64(encoded, key));
    } catch {
      // Malformed values are reported (without the value) by the extraction that follows.
    }
  }
}

const DEFAULT_SECRET_KEYS = ['password', 'token', 'identitytoken'];

/** The credentials in `secret`, checked against the expected format; masks them first. */
export function extractCredentials(
  secret: SecretData,
  config: Pick<LoginConfig, 'format' | 'registry' | 'keys'>,
  source: string
): ExtractedCredentials {
  maskSecretData(secret, config.keys);
  const format = resolveFormat(secret, config.format, source);
  const credentials =
    format === 'keys'
      ? [fromKeys(secret, config.keys, config.registry, source)]
      : selectRegistry(fromDockerConfig(secret, source), config.registry, source);
  credentials.forEach(maskCredential);
  return { format, credentials };
}

function resolveFormat(
  secret: SecretData,
  requested: SecretFormat,
  source: string
): Exclude<SecretFormat, 'auto'> {
  const type = secret.type ?? 'Opaque';
  const isDocker = type === DOCKERCONFIGJSON_TYPE || type === DOCKERCFG_TYPE;
  if (requested === 'auto') {
    core.debug(
      `format: auto: ${source} has type "${type}", read as ${isDocker ? 'dockerconfigjson' : 'keys'}`
    );
    return isDocker ? 'dockerconfigjson' : 'keys';
  }
  if (requested === 'dockerconfigjson' && !isDocker) {
    throw new SlipwayError(
      `${source} has type "${type}", not "${DOCKERCONFIGJSON_TYPE}" (format: dockerconfigjson).`,
      {
        hint: `Use format "keys" for a generic Secret with server/username/password keys (present: ${presentKeys(secret)}), or create it with: kubectl create secret docker-registry`
      }
    );
  }
  if (requested === 'keys' && isDocker) {
    throw new SlipwayError(
      `${source} has type "${type}", a docker config Secret, but format is "keys".`,
      { hint: 'Use format "dockerconfigjson" or "auto".' }
    );
  }
  return requested;
}

function fromDockerConfig(secret: SecretData, source: string): RegistryCredential[] {
  const key = secret.type === DOCKERCFG_TYPE ? '.dockercfg' : '.dockerconfigjson';
  const encoded = secret.data?.[key];
  if (encoded === undefined) {
    throw new SlipwayError(`${source} has no "${key}" key (keys present: ${presentKeys(secret)}).`);
  }
  const text = decodeBase64(encoded, `${source} key "${key}"`);
  return parseDockerConfig(text, `${source} key "${key}"`);
}

function selectRegistry(
  credentials: RegistryCredential[],
  registry: string | undefined,
  source: string
): RegistryCredential[] {
  if (registry === undefined) return credentials;
  const wanted = normalizeRegistry(registry);
  const match = credentials.filter(c => c.registry === wanted);
  if (match.length === 0) {
    throw new SlipwayError(
      `${source} has no credentials for registry "${wanted}" (registries present: ${credentials
        .map(c => c.registry)
        .join(', ')}).`,
      {
        hint: 'Set the "registry" input to one of the registries present, or leave it empty for all.'
      }
    );
  }
  return match;
}

function fromKeys(
  secret: SecretData,
  keys: KeyNames,
  registry: string | undefined,
  source: string
): RegistryCredential {
  const server = readKey(secret, keys.server, source, registry === undefined)?.trim();
  const username = readKey(secret, keys.username, source, true)?.trim() ?? '';
  // A trailing newline (from `echo pass | kubectl create secret …`) is never part of a password.
  const password = readKey(secret, keys.password, source, true)?.replace(/\r?\n$/, '') ?? '';
  const chosenServer = registry ?? server ?? '';
  if (!normalizeRegistry(chosenServer)) {
    throw new SlipwayError(
      `${source}: the registry server in key "${keys.server.join('"/"')}" is empty.`
    );
  }
  if (!password) throw new SlipwayError(`${source}: the password is empty.`);
  return { registry: normalizeRegistry(chosenServer), username, password };
}

/** The value of the first key of `candidates` present, decoded; errors list keys, never values. */
function readKey(
  secret: SecretData,
  candidates: string[],
  source: string,
  required: boolean
): string | undefined {
  const key = candidates.find(candidate => secret.data?.[candidate] !== undefined);
  if (key === undefined) {
    if (!required) return undefined;
    throw new SlipwayError(
      `${source} has no key ${candidates.map(c => `"${c}"`).join(' or ')} (keys present: ${presentKeys(secret)}).`,
      {
        hint: 'Name the keys with the "server-key", "username-key" and "password-key" inputs (for the server, the "registry" input also works).'
      }
    );
  }
  return decodeBase64(secret.data?.[key] ?? '', `${source} key "${key}"`);
}

export function presentKeys(secret: SecretData): string {
  const keys = Object.keys(secret.data ?? {}).sort();
  return keys.length > 0 ? keys.join(', ') : 'none';
}
