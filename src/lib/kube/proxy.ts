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
export async function proxyGet(
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
  const base = target.server.replace(/\/+$/, '');
  const url = new URL(
    `${base}/api/v1/namespaces/${namespace}/services/${service}:${port}/proxy${path}`
  );
  const options: https.RequestOptions = { method: 'GET', headers: { Accept: '*/*' } };
  await target.config.applyToHTTPSOptions(options);
  const secure = url.protocol === 'https:';
  if (!secure) delete options.agent;
  return new Promise((resolve, reject) => {
    const request = (secure ? https : http).request(url, options, response => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8').slice(0, PROXY_BODY_LIMIT)
        });
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= PROXY_BODY_LIMIT) {
          response.destroy();
          done();
        }
      });
      response.on('end', done);
      response.on('error', reject);
    });
    request.setTimeout(timeoutMs, () =>
      request.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)}s`))
    );
    request.on('error', reject);
    request.end();
  });
}
