import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { KubeClient } from '../../../src/lib/kube/index.js';
import { stackFact } from '../../helpers/stack.js';

/**
 * A kubeconfig whose cluster has a `proxy-url` reaches the stack's API server through that proxy:
 * an HTTP CONNECT proxy and a SOCKS5 proxy, each a few lines here that record where they were asked
 * to connect. client-node's proxy agents are imported only when a cluster has a proxy-url
 * (scripts/patch-deps.mjs): this is the test that they still are.
 */

interface Proxy {
  url: string;
  targets: string[];
  close: () => Promise<void>;
}

function listen(server: net.Server): Promise<number> {
  return new Promise(resolve =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))
  );
}

function closer(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  return () => {
    for (const socket of sockets) socket.destroy();
    return new Promise(resolve => server.close(() => resolve()));
  };
}

async function httpConnectProxy(): Promise<Proxy> {
  const targets: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_, res) => res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    targets.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
    }
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, targets, close: closer(server, sockets) };
}

/** SOCKS5, no authentication, CONNECT to an IPv4 address or a domain name. */
async function socks5Proxy(): Promise<Proxy> {
  const targets: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer(client => {
    sockets.add(client);
    client.on('error', () => undefined);
    client.once('data', greeting => {
      if (greeting[0] !== 5) return client.destroy();
      client.write(Buffer.from([5, 0]));
      client.once('data', request => {
        const type = request[3];
        const [host, rest] =
          type === 1
            ? [[...request.subarray(4, 8)].join('.'), request.subarray(8)]
            : [
                request.subarray(5, 5 + (request[4] ?? 0)).toString(),
                request.subarray(5 + (request[4] ?? 0))
              ];
        const port = rest.readUInt16BE(0);
        targets.push(`${host}:${port}`);
        const upstream = net.connect(port, host, () => {
          client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
          upstream.pipe(client).pipe(upstream);
        });
        sockets.add(upstream);
        upstream.on('error', () => client.destroy());
      });
    });
  });
  const port = await listen(server);
  return { url: `socks5://127.0.0.1:${port}`, targets, close: closer(server, sockets) };
}

describe('a kubeconfig with proxy-url', () => {
  let dir: string;
  const server = () => new URL(stackFact('KUBE_APISERVER'));

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'slipway-proxy-url-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The stack's kubeconfig with `proxy-url` on its cluster. */
  const kubeconfigThrough = (proxy: Proxy): string => {
    const config = parse(readFileSync(stackFact('KUBECONFIG'), 'utf8')) as {
      clusters: Array<{ cluster: Record<string, unknown> }>;
    };
    for (const entry of config.clusters) entry.cluster['proxy-url'] = proxy.url;
    const file = path.join(dir, `${new URL(proxy.url).protocol.replace(':', '')}.kubeconfig`);
    writeFileSync(file, stringify(config), { mode: 0o600 });
    return file;
  };

  it.each([
    ['an HTTP proxy (CONNECT)', httpConnectProxy],
    ['a SOCKS5 proxy', socks5Proxy]
  ])('reaches the API server through %s', async (_, start) => {
    const proxy = await start();
    try {
      const client = await KubeClient.connect({ kubeconfig: kubeconfigThrough(proxy) });
      expect((await client.readNamespace('default'))?.metadata?.name).toBe('default');
      expect(proxy.targets).toContain(`${server().hostname}:${server().port}`);
    } finally {
      await proxy.close();
    }
  });
});
