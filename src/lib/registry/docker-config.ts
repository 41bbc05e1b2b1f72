import { SlipwayError } from '../errors.js';
import { registerSecret } from '../secrets.js';

/**
 * Container-registry credentials as docker and buildctl keep them: `config.json` entries parsed
 * (from a Secret's `.dockerconfigjson`), built, merged into an existing config, and masked.
 */

export interface RegistryCredential {
  /** Host[:port] as users write it in image references (`docker.io` for Docker Hub). */
  registry: string;
  username: string;
  password: string;
  /** OAuth refresh token (`identitytoken` in config.json), used instead of the password. */
  identityToken?: string | undefined;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/';

/** `https://index.docker.io/v1/` → `docker.io`; `https://r.example.com/v2/` → `r.example.com`. */
export function normalizeRegistry(server: string): string {
  const host = server
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/** The `auths` key docker and buildctl look credentials up by. */
export function dockerConfigKey(registry: string): string {
  const host = normalizeRegistry(registry);
  return host === DOCKER_HUB ? DOCKER_HUB_CONFIG_KEY : host;
}

/** The base64 `auth` field: `username:password`. */
export function basicAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}

export interface DockerAuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  [key: string]: unknown;
}

export interface DockerConfig {
  auths?: Record<string, DockerAuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [key: string]: unknown;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (Buffer.from silently drops bad characters); `what` names it in the error. */
export function decodeBase64(value: string, what: string): string {
  const compact = value.replace(/\s+/g, '');
  if (!BASE64.test(compact)) {
    throw new SlipwayError(`${what} is not valid base64.`);
  }
  return Buffer.from(compact, 'base64').toString('utf8');
}

/**
 * The credentials in a `.dockerconfigjson` (`{"auths": {...}}`) or legacy `.dockercfg` (the map
 * itself) document, one per registry, in document order. `source` names the document in errors,
 * which never quote values.
 */
export function parseDockerConfig(text: string, source: string): RegistryCredential[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new SlipwayError(`${source} is not valid JSON.`, {
      hint: 'A kubernetes.io/dockerconfigjson Secret holds {"auths": {"<registry>": {"auth": "<base64 user:password>"}}}.'
    });
  }
  if (!isObject(document)) throw new SlipwayError(`${source} is not a JSON object.`);
  const auths = 'auths' in document ? document.auths : document;
  if (!isObject(auths)) throw new SlipwayError(`${source}: "auths" is not a JSON object.`);
  const credentials = Object.entries(auths).map(([key, entry]) =>
    parseAuthEntry(key, entry, source)
  );
  if (credentials.length === 0) throw new SlipwayError(`${source} lists no registries.`);
  return credentials;
}

function parseAuthEntry(key: string, entry: unknown, source: string): RegistryCredential {
  const where = `${source}, registry "${key}"`;
  if (!isObject(entry)) throw new SlipwayError(`${where}: the entry is not a JSON object.`);
  let username = stringField(entry, 'username', where);
  let password = stringField(entry, 'password', where);
  const identityToken = stringField(entry, 'identitytoken', where) || undefined;
  const auth = stringField(entry, 'auth', where);
  if (auth && (!username || !password)) {
    const decoded = decodeBase64(auth, `${where}: the "auth" field`);
    const colon = decoded.indexOf(':');
    if (colon < 0) {
      throw new SlipwayError(`${where}: the "auth" field does not decode to user:password.`);
    }
    username ||= decoded.slice(0, colon);
    password ||= decoded.slice(colon + 1);
  }
  if (!password && !identityToken) {
    throw new SlipwayError(
      `${where} has no password: it needs "auth", "password" or "identitytoken".`
    );
  }
  return { registry: normalizeRegistry(key), username, password, identityToken };
}

function stringField(entry: Record<string, unknown>, field: string, where: string): string {
  const value = entry[field];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new SlipwayError(`${where}: "${field}" is not a string.`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Registers the password, the `auth` string and any identity token as secrets. */
export function maskCredential(credential: RegistryCredential): void {
  registerSecret(credential.password);
  registerSecret(Buffer.from(credential.password, 'utf8').toString('base64'));
  registerSecret(basicAuth(credential.username, credential.password));
  registerSecret(credential.identityToken);
}

export function authEntry(credential: RegistryCredential): DockerAuthEntry {
  const entry: DockerAuthEntry = {
    auth: basicAuth(credential.username, credential.password)
  };
  if (credential.identityToken) entry.identitytoken = credential.identityToken;
  return entry;
}

export interface MergeResult {
  config: DockerConfig;
  /** Keys of entries that existed before and were replaced. */
  replaced: string[];
  /** A `credsStore` that was dropped because it would hide the `auths` entries. */
  droppedCredsStore?: string | undefined;
}

/**
 * Adds the credentials to a copy of `existing` without touching its other registries. A registry's
 * `credHelpers` entry and a global `credsStore` take precedence over `auths` in docker and
 * buildctl, so they are removed for the written registries (and the store entirely).
 */
export function mergeDockerConfig(
  existing: DockerConfig,
  credentials: RegistryCredential[]
): MergeResult {
  const config: DockerConfig = structuredClone(existing);
  const auths: Record<string, DockerAuthEntry> = { ...(config.auths ?? {}) };
  const replaced: string[] = [];
  for (const credential of credentials) {
    const key = dockerConfigKey(credential.registry);
    for (const existingKey of Object.keys(auths)) {
      if (dockerConfigKey(existingKey) === key) {
        replaced.push(existingKey);
        delete auths[existingKey];
      }
    }
    auths[key] = authEntry(credential);
    if (config.credHelpers) {
      for (const helperKey of Object.keys(config.credHelpers)) {
        if (dockerConfigKey(helperKey) === key) delete config.credHelpers[helperKey];
      }
    }
  }
  config.auths = auths;
  const droppedCredsStore = config.credsStore;
  delete config.credsStore;
  return { config, replaced, droppedCredsStore };
}
