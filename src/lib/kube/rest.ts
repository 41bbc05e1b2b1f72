import type { Agent, AgentOptions, RequestOptions } from 'node:https';
import { builtin } from '../builtins.js';
import type { KubeTarget } from './config.js';
import { RESOURCES, type ResourceType } from './errors.js';

/**
 * Requests to the API server over node:https with the kubeconfig's TLS and credentials
 * (client-node's `KubeConfig.applyToHTTPSOptions`: client certificates, tokens, exec and auth
 * plugins, proxies). Slipway speaks the few REST paths it needs itself instead of through
 * client-node's generated API classes: those import every model of the Kubernetes API (~1,000
 * classes), which cost every action ≈ 100 ms of start-up on 2 cores (measured in bench/).
 *
 * Answers are JSON as the API server sends it: timestamps are RFC 3339 strings where client-node's
 * types say `Date` (read them with `new Date(…)`).
 */

/** Everything but a 2xx: the status and the body, as client-node's ApiException carried them. */
export class ApiStatusError extends Error {
  constructor(
    readonly code: number,
    readonly body: string
  ) {
    super(`HTTP ${code}`);
    this.name = 'ApiStatusError';
  }
}

export interface ApiRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute path on the API server, e.g. `/api/v1/namespaces/ci/secrets/x`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  /** Default `application/json`; patches set theirs. */
  contentType?: string;
  /** Default `application/json`. */
  accept?: string;
  /** No answer within this many ms fails with ETIMEDOUT (retried as transient). Default 60 s. */
  timeoutMs?: number;
  /** Keep at most this many bytes of the body (the rest is not read). Default: all. */
  limit?: number;
}

/** An answer with any status. */
export interface ApiAnswer {
  status: number;
  body: string;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/** The REST path of a resource of the table (`RESOURCES`), optionally one object and a subresource. */
export function resourcePath(
  type: ResourceType,
  namespace: string | undefined,
  name?: string,
  subresource?: string
): string {
  const { group } = RESOURCES[type];
  const resource = RESOURCES[type].resource.split('/')[0] ?? '';
  const segments = [group ? `/apis/${group}/v1` : '/api/v1'];
  if (namespace !== undefined) segments.push('namespaces', encodeURIComponent(namespace));
  segments.push(resource);
  if (name !== undefined) segments.push(encodeURIComponent(name));
  if (subresource) segments.push(subresource);
  return segments.join('/');
}

/** The TLS settings `applyToHTTPSOptions` puts on the request that an agent's connections use. */
const TLS_FIELDS = [
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'servername',
  'rejectUnauthorized'
] as const;

const keptAlive = new Map<string, Agent>();

/**
 * client-node's agent opens a new TLS connection for every request (no keep-alive): ≈ 4 ms of
 * handshake each on the test machine, a dozen times per deploy. Without a proxy, requests with the
 * same TLS settings share one keep-alive agent instead (idle sockets do not keep the process
 * alive). The settings are read on every request, so credentials an exec plugin renews get a new
 * agent; the map is keyed by their hash, never by the material itself.
 */
function keptAliveAgent(options: RequestOptions): Agent {
  const key = builtin
    .crypto()
    .createHash('sha256')
    .update(TLS_FIELDS.map(field => String(options[field] ?? '')).join('\0'))
    .digest('hex');
  let agent = keptAlive.get(key);
  if (!agent) {
    const tls = Object.fromEntries(
      TLS_FIELDS.filter(field => options[field] !== undefined).map(field => [field, options[field]])
    ) as AgentOptions;
    agent = new (builtin.https().Agent)({ ...tls, keepAlive: true });
    keptAlive.set(key, agent);
  }
  return agent;
}

/** The request's answer whatever its status; only a failed connection or a timeout throws. */
export async function apiExchange(
  target: Pick<KubeTarget, 'server' | 'config'>,
  request: ApiRequest
): Promise<ApiAnswer> {
  const url = new URL(`${target.server.replace(/\/+$/, '')}${request.path}`);
  for (const [key, value] of Object.entries(request.query ?? {}))
    if (value !== undefined) url.searchParams.set(key, String(value));
  const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
  const options: RequestOptions = {
    method: request.method ?? 'GET',
    headers: {
      Accept: request.accept ?? 'application/json',
      ...(payload === undefined
        ? {}
        : {
            'Content-Type': request.contentType ?? 'application/json',
            'Content-Length': Buffer.byteLength(payload)
          })
    }
  };
  await target.config.applyToHTTPSOptions(options);
  const secure = url.protocol === 'https:';
  if (!secure) delete options.agent;
  else if (!target.config.getCurrentCluster()?.proxyUrl) options.agent = keptAliveAgent(options);
  const timeoutMs = request.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const limit = request.limit ?? Number.POSITIVE_INFINITY;
  return new Promise((resolve, reject) => {
    const outgoing = (secure ? builtin.https() : builtin.http()).request(url, options, response => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8').slice(0, limit)
        });
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= limit) {
          response.destroy();
          done();
        }
      });
      response.on('end', done);
      response.on('error', reject);
    });
    outgoing.setTimeout(timeoutMs, () =>
      outgoing.destroy(
        Object.assign(new Error(`no answer within ${Math.round(timeoutMs / 1000)}s`), {
          code: 'ETIMEDOUT'
        })
      )
    );
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

/** The body of a 2xx answer as text; any other status throws `ApiStatusError`. */
export async function apiText(
  target: Pick<KubeTarget, 'server' | 'config'>,
  request: ApiRequest
): Promise<string> {
  const answer = await apiExchange(target, request);
  if (answer.status < 200 || answer.status > 299)
    throw new ApiStatusError(answer.status, answer.body);
  return answer.body;
}

/** The JSON body of a 2xx answer; any other status throws `ApiStatusError`. */
export async function apiJson<T>(
  target: Pick<KubeTarget, 'server' | 'config'>,
  request: ApiRequest
): Promise<T> {
  return JSON.parse(await apiText(target, request)) as T;
}
