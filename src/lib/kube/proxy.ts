import http from 'node:http';
import https from 'node:https';
import type { KubeTarget } from './config.js';

/**
 * The API server's service proxy: what a runner outside the cluster can use to reach a Service
 * (no port-forward, no ingress), with the kubeconfig's TLS and credentials.
 */
export interface ProxyResponse {
  status: number;
  body: string;
}

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
  return apiGet(
    target,
    `/api/v1/namespaces/${namespace}/services/${service}:${port}/proxy${path}`,
    {
      accept: '*/*',
      timeoutMs,
      limit: PROXY_BODY_LIMIT
    }
  );
}

/**
 * A raw GET against the API server with the kubeconfig's TLS and credentials: for answers the
 * typed client cannot read (the service proxy's, a PartialObjectMetadataList). The body is cut at
 * `limit` bytes.
 */
export async function apiGet(
  target: Pick<KubeTarget, 'server' | 'config'>,
  path: string,
  options: { accept: string; timeoutMs: number; limit: number }
): Promise<ProxyResponse> {
  const url = new URL(`${target.server.replace(/\/+$/, '')}${path}`);
  const requestOptions: https.RequestOptions = {
    method: 'GET',
    headers: { Accept: options.accept }
  };
  await target.config.applyToHTTPSOptions(requestOptions);
  const secure = url.protocol === 'https:';
  if (!secure) delete requestOptions.agent;
  return new Promise((resolve, reject) => {
    const request = (secure ? https : http).request(url, requestOptions, response => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8').slice(0, options.limit)
        });
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= options.limit) {
          response.destroy();
          done();
        }
      });
      response.on('end', done);
      response.on('error', reject);
    });
    request.setTimeout(options.timeoutMs, () =>
      request.destroy(new Error(`no answer within ${Math.round(options.timeoutMs / 1000)}s`))
    );
    request.on('error', reject);
    request.end();
  });
}
