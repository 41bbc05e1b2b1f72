import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitUntil } from './kube.js';
import { registryPassword, stackFact } from './stack.js';

/** Manifest media types a registry may hold for one image (single-arch or index). */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json'
].join(', ');

export interface RegistryResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * Talks to the stack's registries through their real HTTP API: the TLS one with its CA and the
 * test user's basic auth, the plain one anonymously.
 */
export function registryRequest(
  registry: string,
  urlPath: string,
  options: { method?: string; accept?: string; auth?: boolean } = {}
): Promise<RegistryResponse> {
  const tls = registry === stackFact('REGISTRY_TLS');
  const headers: Record<string, string> = { Accept: options.accept ?? 'application/json' };
  if (tls && options.auth !== false) {
    headers.Authorization = `Basic ${Buffer.from(`${stackFact('REGISTRY_USER')}:${registryPassword()}`).toString('base64')}`;
  }
  const [host, port] = registry.split(':');
  const request = tls ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port: Number(port),
        path: urlPath,
        method: options.method ?? 'GET',
        headers,
        ...(tls ? { ca: readFileSync(stackFact('REGISTRY_CA')) } : {})
      },
      res => {
        let body = '';
        res.on('data', chunk => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      }
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Every repository the registry lists, following the catalog's `Link: <…>; rel="next"` pages: a
 * registry answers at most its page limit (1000 for distribution) however large `n` is asked, and
 * the stack's registries keep what earlier runs pushed.
 */
export async function catalogRepositories(registry: string, pageSize = 1000): Promise<string[]> {
  const repositories: string[] = [];
  let next: string | undefined = `/v2/_catalog?n=${pageSize}`;
  while (next) {
    const res = await registryRequest(registry, next);
    if (res.status !== 200) throw new Error(`GET ${registry}${next} → ${res.status}`);
    repositories.push(...(JSON.parse(res.body).repositories ?? []));
    next = /^<([^>]+)>;\s*rel="next"/.exec(String(res.headers.link ?? ''))?.[1];
  }
  return repositories;
}

/**
 * Copies the sample app at `digest` from the stack's plain registry to `target`
 * (`host:port/repository:tag`, plain HTTP) with skopeo, keeping its digest.
 */
export function copySampleApp(digest: string, target: string): void {
  execFileSync('skopeo', [
    'copy',
    '--quiet',
    '--preserve-digests',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    `docker://${stackFact('SAMPLE_APP_IMAGE_PLAIN')}@${digest}`,
    `docker://${target}`
  ]);
}

/**
 * Writes the config of a private Debian docker-registry, as components/20-registry.sh writes the
 * plain one: HTTP on `host`, no auth, filesystem storage under `root` (`deletable`: deletes
 * allowed).
 */
export function writePlainRegistryConfig(
  config: string,
  host: string,
  root: string,
  options: { deletable?: boolean } = {}
): void {
  const storage = `filesystem: {rootdirectory: ${root}}${options.deletable ? ', delete: {enabled: true}' : ''}`;
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: {level: info, formatter: text}',
      `storage: {${storage}}`,
      `http: {addr: "${host}", secret: ${randomBytes(16).toString('hex')}}`,
      ''
    ].join('\n')
  );
}

/**
 * Starts docker-registry on `config` and waits until it answers on `host`; undefined when it
 * exited first (its port taken).
 */
export async function servePlainRegistry(
  config: string,
  host: string
): Promise<ChildProcess | undefined> {
  const started = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const up = await waitUntil(
    `private registry on ${host}`,
    () => {
      if (started.exitCode !== null) return false;
      try {
        execFileSync('curl', ['-fsS', '-o', '/dev/null', `http://${host}/v2/`], {
          stdio: 'ignore'
        });
        return true;
      } catch {
        return undefined;
      }
    },
    15_000
  );
  return up ? started : undefined;
}

/** The digest the registry serves for repo:reference (what `name@digest` pulls). */
export async function manifestDigest(
  registry: string,
  repository: string,
  reference: string
): Promise<string> {
  const res = await registryRequest(registry, `/v2/${repository}/manifests/${reference}`, {
    method: 'HEAD',
    accept: MANIFEST_ACCEPT
  });
  if (res.status !== 200)
    throw new Error(`HEAD ${registry}/${repository}:${reference} → ${res.status}`);
  return String(res.headers['docker-content-digest']);
}

/** A private DOCKER_CONFIG (0600) holding the stack user's credentials for the TLS registry. */
export function writeDockerConfig(
  dir = mkdtempSync(path.join(tmpdir(), 'docker-config-'))
): string {
  const auth = Buffer.from(`${stackFact('REGISTRY_USER')}:${registryPassword()}`).toString(
    'base64'
  );
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ auths: { [stackFact('REGISTRY_TLS')]: { auth } } }),
    { mode: 0o600 }
  );
  return dir;
}

/** A blob of the TLS registry (a layer or a config), as bytes. */
export function registryBlob(repository: string, digest: string): Promise<Buffer> {
  const [host, port] = stackFact('REGISTRY_TLS').split(':');
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host,
        port: Number(port),
        path: `/v2/${repository}/blobs/${digest}`,
        auth: `${stackFact('REGISTRY_USER')}:${registryPassword()}`,
        ca: readFileSync(stackFact('REGISTRY_CA'))
      },
      res => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Buffer.concat(chunks))
            : reject(new Error(`GET blob ${repository}@${digest}: HTTP ${res.statusCode}`))
        );
      }
    );
    req.on('error', reject);
    req.end();
  });
}
