import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type http from 'node:http';
import { SlipwayError } from '../../../src/lib/errors.js';
import {
  basicAuth,
  decodeBase64,
  dockerConfigKey,
  maskCredential,
  mergeDockerConfig,
  nodeHttpSend,
  normalizeRegistry,
  parseChallenge,
  parseDockerConfig,
  registryBaseUrl,
  trustedCAs,
  verifyCredentials,
  type RegistryCredential
} from '../../../src/lib/registry/index.js';
import { clearSecretsForTesting, redact } from '../../../src/lib/secrets.js';
import { captureStdout } from '../../helpers/capture.js';
import { startHttpServer } from '../../helpers/http.js';

const credential: RegistryCredential = {
  registry: '127.0.0.1',
  username: 'ci',
  password: 's3cret-pass'
};

beforeEach(() => clearSecretsForTesting());

describe('registry names', () => {
  it.each([
    ['docker.io', 'docker.io', 'https://index.docker.io/v1/'],
    ['https://index.docker.io/v1/', 'docker.io', 'https://index.docker.io/v1/'],
    ['registry-1.docker.io', 'docker.io', 'https://index.docker.io/v1/'],
    [
      'https://Registry.Example.com:5000/v2/',
      'registry.example.com:5000',
      'registry.example.com:5000'
    ],
    ['ghcr.io', 'ghcr.io', 'ghcr.io']
  ])('%s → %s / %s', (server, host, key) => {
    expect(normalizeRegistry(server)).toBe(host);
    expect(dockerConfigKey(server)).toBe(key);
  });

  it('uses https unless http:// is written; Docker Hub API host', () => {
    expect(registryBaseUrl('127.0.0.1:5000')).toBe('https://127.0.0.1:5000');
    expect(registryBaseUrl('http://127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(registryBaseUrl('docker.io')).toBe('https://registry-1.docker.io');
  });
});

describe('decodeBase64', () => {
  it('decodes strictly', () => {
    expect(decodeBase64('dXNlcjpwYXNz', 'x')).toBe('user:pass');
    expect(decodeBase64('dXNl\ncjpwYXNz', 'x')).toBe('user:pass');
    expect(() => decodeBase64('not base64!', 'the "auth" field')).toThrow(
      'the "auth" field is not valid base64.'
    );
  });
});

describe('parseDockerConfig', () => {
  const doc = (auths: unknown) => JSON.stringify({ auths });

  it('reads auth, username/password and identity tokens, in order', () => {
    expect(
      parseDockerConfig(
        doc({
          'https://index.docker.io/v1/': { auth: basicAuth('hub', 'p:w') },
          'ghcr.io': { username: 'gh', password: 'tok' },
          'quay.io': { username: 'q', identitytoken: 'refresh' }
        }),
        'S'
      )
    ).toEqual([
      { registry: 'docker.io', username: 'hub', password: 'p:w', identityToken: undefined },
      { registry: 'ghcr.io', username: 'gh', password: 'tok', identityToken: undefined },
      { registry: 'quay.io', username: 'q', password: '', identityToken: 'refresh' }
    ]);
  });

  it('reads the legacy .dockercfg map', () => {
    expect(
      parseDockerConfig(JSON.stringify({ 'r.io': { auth: basicAuth('a', 'b') } }), 'S')
    ).toEqual([{ registry: 'r.io', username: 'a', password: 'b', identityToken: undefined }]);
  });

  it.each([
    ['{not json', 'S is not valid JSON.'],
    ['[]', 'S is not a JSON object.'],
    ['{"auths": 3}', 'S: "auths" is not a JSON object.'],
    ['{"auths": {}}', 'S lists no registries.'],
    ['{"auths": {"r.io": 1}}', 'S, registry "r.io": the entry is not a JSON object.'],
    [
      '{"auths": {"r.io": {"auth": "%%%"}}}',
      'S, registry "r.io": the "auth" field is not valid base64.'
    ],
    [
      `{"auths": {"r.io": {"auth": "${Buffer.from('nocolon').toString('base64')}"}}}`,
      'S, registry "r.io": the "auth" field does not decode to user:password.'
    ],
    ['{"auths": {"r.io": {"username": "u"}}}', 'S, registry "r.io" has no password'],
    ['{"auths": {"r.io": {"password": 5}}}', 'S, registry "r.io": "password" is not a string.']
  ])('rejects %s', (text, message) => {
    expect(() => parseDockerConfig(text, 'S')).toThrow(message);
  });

  it('never quotes values in errors', () => {
    try {
      parseDockerConfig('{"auths": {"r.io": {"auth": "c2VjcmV0LXZhbHVl"}}}', 'S');
      throw new Error('expected a failure');
    } catch (error) {
      expect(error).toBeInstanceOf(SlipwayError);
      expect((error as Error).message).not.toContain('c2VjcmV0LXZhbHVl');
      expect((error as Error).message).not.toContain('secret-value');
    }
  });
});

describe('maskCredential', () => {
  it('registers the password, its base64, the auth string and the identity token', async () => {
    const { output } = await captureStdout(() =>
      maskCredential({ ...credential, identityToken: 'id-token-1' })
    );
    expect(output).toContain('::add-mask::s3cret-pass');
    expect(redact(basicAuth('ci', 's3cret-pass'))).toBe('***');
    expect(redact(Buffer.from('s3cret-pass').toString('base64'))).toBe('***');
    expect(redact('id-token-1')).toBe('***');
  });
});

describe('mergeDockerConfig', () => {
  it('adds entries, keeps others, replaces aliases and drops overriding helpers', () => {
    const existing = {
      auths: {
        'other.io': { auth: 'b3RoZXI6eA==' },
        'https://index.docker.io/v1/': { auth: 'old' },
        'index.docker.io': { auth: 'old2' }
      },
      credHelpers: { 'docker.io': 'ecr-login', 'gcr.io': 'gcloud' },
      credsStore: 'desktop',
      experimental: 'enabled'
    };
    const result = mergeDockerConfig(existing, [
      { registry: 'docker.io', username: 'u', password: 'p', identityToken: 'tok' }
    ]);
    expect(result.config).toEqual({
      auths: {
        'other.io': { auth: 'b3RoZXI6eA==' },
        'https://index.docker.io/v1/': { auth: basicAuth('u', 'p'), identitytoken: 'tok' }
      },
      credHelpers: { 'gcr.io': 'gcloud' },
      experimental: 'enabled'
    });
    expect(result.replaced).toEqual(['https://index.docker.io/v1/', 'index.docker.io']);
    expect(result.droppedCredsStore).toBe('desktop');
    expect(existing.credsStore).toBe('desktop');
  });

  it('starts from nothing', () => {
    expect(mergeDockerConfig({}, [credential]).config).toEqual({
      auths: { '127.0.0.1': { auth: basicAuth('ci', 's3cret-pass') } }
    });
  });
});

describe('parseChallenge', () => {
  it('parses Bearer and Basic challenges', () => {
    expect(
      parseChallenge('Bearer realm="https://auth.io/token",service="registry.io",scope="a,b"')
    ).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.io/token', service: 'registry.io', scope: 'a,b' }
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      params: { realm: 'Registry Realm' }
    });
    expect(parseChallenge(undefined)).toBeUndefined();
  });

  it('includes system roots alongside an extra CA', () => {
    const cas = trustedCAs(['PEM']);
    expect(cas.at(-1)).toBe('PEM');
    expect(cas.length).toBeGreaterThan(10);
  });
});

/** A real local registry stand-in speaking the /v2/ auth flows over HTTP. */
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function registry(
  route: (req: http.IncomingMessage, base: string) => [number, Record<string, string>, string]
) {
  let base = '';
  const server = await startHttpServer((req, res) => {
    const [status, headers, body] = route(req, base);
    res.writeHead(status, headers);
    res.end(body);
  });
  base = server.url;
  close = server.close;
  return server;
}

const goodBasic = `Basic ${basicAuth('ci', 's3cret-pass')}`;
const noSleep = { sleep: async () => {} };

function verify(server: string, cred = credential) {
  return verifyCredentials(server, cred, {
    send: nodeHttpSend({ timeoutMs: 5000 }),
    source: 'Secret ci/creds',
    retry: noSleep
  });
}

describe('verifyCredentials', () => {
  it('Basic challenge: accepts good credentials', async () => {
    const server = await registry(req =>
      req.headers.authorization === goodBasic
        ? [200, {}, '{}']
        : [401, { 'WWW-Authenticate': 'Basic realm="Registry Realm"' }, '']
    );
    expect(await verify(server.url)).toBe('basic');
    expect(server.requests).toEqual(['GET /v2/', 'GET /v2/']);
  });

  it('Basic challenge: 401 names the user and the Secret', async () => {
    const server = await registry(() => [401, { 'WWW-Authenticate': 'Basic realm="r"' }, '']);
    const error = await verify(server.url, { ...credential, password: 'wrong' }).catch(
      (e: SlipwayError) => e
    );
    expect(error).toBeInstanceOf(SlipwayError);
    expect((error as SlipwayError).message).toBe(
      `Registry 127.0.0.1 rejected the credentials of user "ci" from Secret ci/creds (401 Unauthorized at ${server.url}/v2/).`
    );
    expect((error as SlipwayError).hint).toContain('Secret ci/creds');
  });

  it('Bearer challenge: token flow with basic auth at the realm', async () => {
    const server = await registry((req, base) => {
      if (req.url?.startsWith('/token')) {
        return req.headers.authorization === goodBasic
          ? [200, {}, JSON.stringify({ token: 'tok-123456' })]
          : [401, {}, ''];
      }
      return req.headers.authorization === 'Bearer tok-123456'
        ? [200, {}, '{}']
        : [401, { 'WWW-Authenticate': `Bearer realm="${base}/token",service="reg"` }, ''];
    });
    expect((await captureStdout(() => verify(server.url))).result).toBe('bearer');
    expect(server.requests).toEqual(['GET /v2/', 'GET /token?service=reg&account=ci', 'GET /v2/']);
    expect(redact('tok-123456')).toBe('***');
    await expect(verify(server.url, { ...credential, password: 'bad' })).rejects.toThrow(
      'rejected the credentials of user "ci"'
    );
  });

  it('Bearer challenge: identity tokens use the refresh-token grant', async () => {
    let form = '';
    const server = await registry((req, base) => {
      if (req.url === '/token' && req.method === 'POST') {
        req.on('data', chunk => (form += chunk));
        return [200, {}, JSON.stringify({ access_token: 'acc-999' })];
      }
      return req.headers.authorization === 'Bearer acc-999'
        ? [200, {}, '{}']
        : [401, { 'WWW-Authenticate': `Bearer realm="${base}/token",service="reg"` }, ''];
    });
    const { result } = await captureStdout(() =>
      verify(server.url, { ...credential, password: '', identityToken: 'refresh-1' })
    );
    expect(result).toBe('bearer');
    expect(server.requests).toContain('POST /token');
    expect(new URLSearchParams(form).get('grant_type')).toBe('refresh_token');
    expect(new URLSearchParams(form).get('refresh_token')).toBe('refresh-1');
  });

  it('falls back to plain http for a loopback registry that does not speak TLS', async () => {
    const server = await registry(req =>
      req.headers.authorization === goodBasic
        ? [200, {}, '{}']
        : [401, { 'WWW-Authenticate': 'Basic realm="r"' }, '']
    );
    expect(await verify(server.url.replace('http://', ''))).toBe('basic');
    expect(server.requests).toEqual(['GET /v2/', 'GET /v2/']);
  });

  it('never downgrades a remote registry to http', async () => {
    const sent: string[] = [];
    const error = await verifyCredentials('registry.example.com', credential, {
      send: request => {
        sent.push(request.url);
        return Promise.reject(Object.assign(new Error('wrong version number'), { code: 'EPROTO' }));
      },
      source: 'S',
      retry: noSleep
    }).catch((e: Error) => e.message);
    expect(error).toBe(
      'Registry 127.0.0.1 is unreachable at https://registry.example.com (EPROTO).'
    );
    expect(sent).toEqual(['https://registry.example.com/v2/']);
  });

  it('anonymous registries pass without a check', async () => {
    const server = await registry(() => [200, {}, '{}']);
    expect(await verify(server.url)).toBe('anonymous');
  });

  it('retries 5xx, then reports the registry as failing', async () => {
    const server = await registry(() => [503, {}, '']);
    const { result } = await captureStdout(() =>
      verify(server.url).then(
        () => 'resolved',
        (e: Error) => e.message
      )
    );
    expect(result).toBe(
      `Registry 127.0.0.1 kept failing (HTTP 503 from ${server.url}/v2/) while checking credentials.`
    );
    expect(server.requests).toHaveLength(3);
  });

  it('reports an unreachable registry', async () => {
    const server = await registry(() => [200, {}, '']);
    await server.close();
    close = undefined;
    const { result } = await captureStdout(() =>
      verify(server.url).then(
        () => 'resolved',
        (e: Error) => e.message
      )
    );
    expect(result).toBe(`Registry 127.0.0.1 is unreachable at ${server.url} (ECONNREFUSED).`);
  });

  it('reports TLS failures with the ca-file hint', async () => {
    const server = await registry(() => [200, {}, '']);
    const error = await verifyCredentials(server.url.replace('http://', ''), credential, {
      send: () =>
        Promise.reject(Object.assign(new Error('x'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' })),
      source: 'S',
      retry: noSleep
    }).catch((e: SlipwayError) => e);
    expect((error as SlipwayError).message).toContain('TLS verification of registry 127.0.0.1');
    expect((error as SlipwayError).hint).toContain('"ca-file"');
  });

  it('rejects unknown schemes and unexpected statuses', async () => {
    const server = await registry(req =>
      req.headers.authorization ? [404, {}, ''] : [401, { 'WWW-Authenticate': 'Basic x=1' }, '']
    );
    await expect(verify(server.url)).rejects.toThrow(
      `Unexpected HTTP 404 from ${server.url}/v2/ while checking credentials.`
    );
    await close?.();
    const negotiate = await registry(() => [401, { 'WWW-Authenticate': 'Negotiate' }, '']);
    await expect(verify(negotiate.url)).rejects.toThrow('asks for "negotiate" authentication');
  });
});
