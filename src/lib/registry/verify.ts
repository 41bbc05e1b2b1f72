import { SlipwayError } from '../errors.js';
import {
  isTlsErrorCode,
  isTransientError,
  isTransientStatus,
  withRetry,
  type RetryOptions
} from '../retry.js';
import { registerSecret } from '../secrets.js';
import {
  DOCKER_HUB,
  basicAuth,
  normalizeRegistry,
  type RegistryCredential
} from './docker-config.js';
import type { HttpRequest, HttpResponse, HttpSend } from './http.js';

/**
 * A check of credentials against the registry's `/v2/` endpoint with the Docker token flow, done
 * before any build starts so a bad password fails in seconds with a clear message.
 */

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
  if (challenge && challenge.scheme !== 'basic' && challenge.scheme !== 'bearer') {
    throw new SlipwayError(
      `Registry ${credential.registry} asks for "${challenge.scheme}" authentication, which Slipway cannot check.`,
      { hint: 'Set "verify: false" to skip the check.' }
    );
  }
  const authorization =
    challenge?.scheme === 'bearer'
      ? `Bearer ${await fetchToken(challenge, credential, options)}`
      : `Basic ${basicAuth(credential.username, credential.password)}`;
  const second = await sendChecked(options.send, {
    method: 'GET',
    url,
    headers: { Authorization: authorization }
  });
  if (second.status === 401) throw rejected(credential, options.source, url);
  if (second.status !== 200) throw unexpectedStatus(second.status, url);
  return challenge?.scheme === 'bearer' ? 'bearer' : 'basic';
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
