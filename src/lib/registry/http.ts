import { builtin } from '../builtins.js';

/** The HTTP the registry check needs: a request function tests replace, and one on node:http(s). */

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
      const transport = url.protocol === 'http:' ? builtin.http() : builtin.https();
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
  return [...builtin.tls().rootCertificates, ...extraPem];
}
