import type { KubeTarget } from './config.js';
import { apiExchange, type ApiAnswer } from './rest.js';

/**
 * The API server's service proxy: what a runner outside the cluster can use to reach a Service
 * (no port-forward, no ingress), with the kubeconfig's TLS and credentials.
 */
export type ProxyResponse = ApiAnswer;

/** How much of a proxied body is kept. */
const PROXY_BODY_LIMIT = 4096;

/**
 * GET `path` (starting with `/`, checked by the caller) from a Service port through the API
 * server's service proxy. Every status is an answer (the app's or the proxy's); only a failed
 * connection or `timeoutMs` without an answer throws. Not retried: the caller polls.
 */
export function proxyGet(
  target: Pick<KubeTarget, 'server' | 'config'>,
  request: {
    namespace: string;
    service: string;
    port: number | string;
    path: string;
    timeoutMs: number;
  }
): Promise<ProxyResponse> {
  const { namespace, service, port, path, timeoutMs } = request;
  return apiExchange(target, {
    path: `/api/v1/namespaces/${namespace}/services/${service}:${port}/proxy${path}`,
    accept: '*/*',
    timeoutMs,
    limit: PROXY_BODY_LIMIT
  });
}
