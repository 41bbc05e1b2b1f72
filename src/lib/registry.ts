import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { SlipwayError } from './errors.js';
import {
  isTlsErrorCode,
  isTransientError,
  isTransientStatus,
  withRetry,
  type RetryOptions
} from './retry.js';
import { registerSecret } from './secrets.js';

/**
 * Container-registry credentials: docker `config.json` entries (parse, build, merge) and a check
 * of credentials against the registry's `/v2/` endpoint with the Docker token flow, done before
 * any build starts so a bad password fails in seconds with a clear message.
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

// ---------------------------------------------------------------------------------------------
// Verification against /v2/
// ---------------------------------------------------------------------------------------------

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="https://auth",service="registry",scope="…"` (or `Basic realm=…`). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!match) return undefined;
  const [, scheme = '', rest = ''] = match;
  const params: Record<string, string> = {};
  for (const [, key = '', quoted, bare] of rest.matchAll(
    /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g
  )) {
    params[key.toLowerCase()] =
      quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : (bare ?? '');
  }
  return { scheme: scheme.toLowerCase(), params };
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export type HttpSend = (request: HttpRequest) => Promise<HttpResponse>;

const MAX_BODY = 64 * 1024;

/**
 * A minimal HTTP(S) client on node:http/https: it takes a per-request CA (`ca-file`) on top of the
 * system roots and `NODE_EXTRA_CA_CERTS`, which fetch cannot do without another dependency.
 */
export function nodeHttpSend(options: { ca?: string[]; timeoutMs?: number } = {}): HttpSend {
  return request =>
    new Promise((resolve, reject) => {
      const url = new URL(request.url);
      const transport = url.protocol === 'http:' ? http : https;
      const req = transport.request(
        url,
        {
          method: request.method,
          headers: { 'User-Agent': 'slipway', ...request.headers },
          ...(url.protocol === 'https:' && options.ca ? { ca: options.ca } : {}),
          timeout: options.timeoutMs ?? 30_000
        },
        res => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (body.length < MAX_BODY) body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          res.on('error', reject);
        }
      );
      req.on('timeout', () =>
        req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' }))
      );
      req.on('error', reject);
      req.end(request.body);
    });
}

/** The system roots plus extra PEM text (a `ca-file`), since `ca` replaces the defaults. */
export function trustedCAs(extraPem: string[]): string[] {
  return [...rootCertificates, ...extraPem];
}

export type VerifyMethod = 'anonymous' | 'basic' | 'bearer';

export interface VerifyOptions {
  send: HttpSend;
  /** Where the credentials came from ("Secret ci/registry-creds"), for the 401 message. */
  source: string;
  retry?: Omit<RetryOptions, 'isTransient'>;
}

/** Thrown inside the retry loop for answers worth another try (5xx, 429). */
class TransientStatus extends Error {
  constructor(
    readonly status: number,
    url: string
  ) {
    super(`HTTP ${status} from ${url}`);
  }
}

/** The base URL: `http://` only when the registry is written with it, else https. */
export function registryBaseUrl(server: string): string {
  const explicitHttp = /^http:\/\//i.test(server.trim());
  const host = normalizeRegistry(server);
  const apiHost = host === DOCKER_HUB ? 'registry-1.docker.io' : host;
  return `${explicitHttp ? 'http' : 'https'}://${apiHost}`;
}

/**
 * Logs in as `docker login` does: GET /v2/; on 401 follow the challenge — Basic: repeat with the
 * credentials; Bearer: get a token from the realm with them, then repeat with the token.
 */
export async function verifyCredentials(
  server: string,
  credential: RegistryCredential,
  options: VerifyOptions
): Promise<VerifyMethod> {
  const verifyWithRetries = (base: string) =>
    withRetry(() => verifyOnce(base, credential, options), {
      attempts: 3,
      baseDelayMs: 1000,
      description: `checking credentials with ${credential.registry}`,
      ...options.retry,
      isTransient: error => error instanceof TransientStatus || isTransientError(error)
    });
  const base = registryBaseUrl(server);
  try {
    return await verifyWithRetries(base);
  } catch (error) {
    if (!speaksPlainHttp(error, base)) throw mapRegistryError(error, base, credential);
    // Like docker, a loopback registry may be plain HTTP: an https attempt that meets a non-TLS
    // answer is repeated over http (never for remote hosts, where that would downgrade silently),
    // with the same retries of transient failures.
    const plain = base.replace(/^https:/, 'http:');
    try {
      return await verifyWithRetries(plain);
    } catch (plainError) {
      throw mapRegistryError(plainError, plain, credential);
    }
  }
}

const LOOPBACK = /^https:\/\/(localhost|127(?:\.\d+){3}|\[::1\])(:\d+)?$/;

function speaksPlainHttp(error: unknown, base: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return LOOPBACK.test(base) && (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER');
}

async function verifyOnce(
  base: string,
  credential: RegistryCredential,
  options: VerifyOptions
): Promise<VerifyMethod> {
  const url = `${base}/v2/`;
  const first = await sendChecked(options.send, { method: 'GET', url });
  if (first.status === 200) return 'anonymous';
  if (first.status !== 401) throw unexpectedStatus(first.status, url);
  const challenge = parseChallenge(headerValue(first.headers['www-authenticate']));
  if (challenge?.scheme === 'bearer') {
    const token = await fetchToken(challenge, credential, options);
    const second = await sendChecked(options.send, {
      method: 'GET',
      url,
      headers: { Authorization: `Bearer ${token}` }
    });
    if (second.status === 401) throw rejected(credential, options.source, url);
    if (second.status !== 200) throw unexpectedStatus(second.status, url);
    return 'bearer';
  }
  if (challenge && challenge.scheme !== 'basic') {
    throw new SlipwayError(
      `Registry ${credential.registry} asks for "${challenge.scheme}" authentication, which Slipway cannot check.`,
      { hint: 'Set "verify: false" to skip the check.' }
    );
  }
  const second = await sendChecked(options.send, {
    method: 'GET',
    url,
    headers: { Authorization: `Basic ${basicAuth(credential.username, credential.password)}` }
  });
  if (second.status === 401) throw rejected(credential, options.source, url);
  if (second.status !== 200) throw unexpectedStatus(second.status, url);
  return 'basic';
}

/** The Docker token flow: GET realm with basic auth, or POST a refresh token (identity token). */
async function fetchToken(
  challenge: Challenge,
  credential: RegistryCredential,
  options: VerifyOptions
): Promise<string> {
  const realm = challenge.params.realm;
  if (!realm) {
    throw new SlipwayError(
      `Registry ${credential.registry} sent a Bearer challenge without a realm.`
    );
  }
  const service = challenge.params.service ?? '';
  const realmUrl = new URL(realm);
  const request: HttpRequest = credential.identityToken
    ? {
        method: 'POST',
        url: realmUrl.toString(),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: credential.identityToken,
          service,
          client_id: 'slipway'
        }).toString()
      }
    : {
        method: 'GET',
        url: withQuery(realmUrl, { service, account: credential.username }),
        headers: { Authorization: `Basic ${basicAuth(credential.username, credential.password)}` }
      };
  const response = await sendChecked(options.send, request);
  if (response.status === 401 || response.status === 403) {
    throw rejected(credential, options.source, realmUrl.origin + realmUrl.pathname);
  }
  if (response.status !== 200) throw unexpectedStatus(response.status, realmUrl.toString());
  const token = parseToken(response.body);
  if (!token) {
    throw new SlipwayError(
      `The token service of ${credential.registry} (${realmUrl.origin}) returned no token.`
    );
  }
  registerSecret(token);
  return token;
}

function withQuery(url: URL, params: Record<string, string>): string {
  const copy = new URL(url);
  for (const [key, value] of Object.entries(params)) {
    if (value) copy.searchParams.set(key, value);
  }
  return copy.toString();
}

function parseToken(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { token?: unknown; access_token?: unknown };
    const token = parsed.token ?? parsed.access_token;
    return typeof token === 'string' && token ? token : undefined;
  } catch {
    return undefined;
  }
}

async function sendChecked(send: HttpSend, request: HttpRequest): Promise<HttpResponse> {
  const response = await send(request);
  if (isTransientStatus(response.status)) throw new TransientStatus(response.status, request.url);
  return response;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function rejected(credential: RegistryCredential, source: string, url: string): SlipwayError {
  return new SlipwayError(
    `Registry ${credential.registry} rejected the credentials of user "${credential.username}" from ${source} (401 Unauthorized at ${url}).`,
    {
      hint: `Update the username/password in ${source}, or check that the account may log in to ${credential.registry}.`
    }
  );
}

function unexpectedStatus(status: number, url: string): SlipwayError {
  return new SlipwayError(`Unexpected HTTP ${status} from ${url} while checking credentials.`, {
    hint: 'Check that the registry address points at a container registry (Docker Registry HTTP API v2).'
  });
}

function mapRegistryError(error: unknown, base: string, credential: RegistryCredential): Error {
  if (error instanceof SlipwayError) return error;
  if (error instanceof TransientStatus) {
    return new SlipwayError(
      `Registry ${credential.registry} kept failing (${error.message}) while checking credentials.`,
      { hint: 'The registry or its token service is having trouble; retry the job later.' }
    );
  }
  const code = (error as { code?: unknown } | null)?.code;
  const codeText = typeof code === 'string' ? code : 'network error';
  if (isTlsErrorCode(codeText)) {
    return new SlipwayError(
      `TLS verification of registry ${credential.registry} (${base}) failed (${codeText}).`,
      {
        hint: 'If the registry uses a private CA, pass its PEM file in the "ca-file" input or NODE_EXTRA_CA_CERTS.',
        cause: error
      }
    );
  }
  return new SlipwayError(
    `Registry ${credential.registry} is unreachable at ${base} (${codeText}).`,
    { hint: 'Check the registry address in the Secret and the network.', cause: error }
  );
}
