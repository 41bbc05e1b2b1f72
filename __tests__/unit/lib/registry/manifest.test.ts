import { afterEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parseImageReference } from '../../../../src/lib/reference.js';
import { nodeHttpSend, type HttpSend } from '../../../../src/lib/registry/http.js';
import { registryManifestDigest } from '../../../../src/lib/registry/manifest.js';
import { clearSecretsForTesting, redact } from '../../../../src/lib/secrets.js';
import { captureStdout } from '../../../helpers/capture.js';
import { startHttpServer } from '../../../helpers/http.js';
import { registryPassword, stackFact } from '../../../helpers/stack.js';

const reference = (raw: string) => parseImageReference('image', raw);
const repo = (registry: string) =>
  stackFact('SAMPLE_APP_IMAGE_PLAIN').replace(stackFact('REGISTRY_PLAIN'), registry);

let closeServer: (() => Promise<void>) | undefined;
afterEach(async () => {
  clearSecretsForTesting();
  await closeServer?.();
  closeServer = undefined;
});

describe('registryManifestDigest against the stack registries', () => {
  it('reads the digest a plain-HTTP registry serves for a tag; undefined for a missing tag', async () => {
    const send = nodeHttpSend();
    const image = stackFact('SAMPLE_APP_IMAGE_PLAIN');
    expect(
      await registryManifestDigest(reference(`${image}:1.0.0`), undefined, {
        send,
        plainHttp: true
      })
    ).toBe(stackFact('SAMPLE_APP_V1_DIGEST'));
    expect(
      await registryManifestDigest(reference(`${image}:no-such-tag`), undefined, {
        send,
        plainHttp: true
      })
    ).toBeUndefined();
  });

  it('answers the TLS registry Basic challenge with the credential', async () => {
    const send = nodeHttpSend({ ca: [readFileSync(stackFact('REGISTRY_CA'), 'utf8')] });
    const image = reference(`${repo(stackFact('REGISTRY_TLS'))}:1.0.0`);
    const credential = {
      registry: stackFact('REGISTRY_TLS'),
      username: stackFact('REGISTRY_USER'),
      password: registryPassword()
    };
    expect(await registryManifestDigest(image, credential, { send })).toBe(
      stackFact('SAMPLE_APP_V1_DIGEST')
    );
  });

  it('reports the status when the TLS registry refuses (no or wrong credential)', async () => {
    const send = nodeHttpSend({ ca: [readFileSync(stackFact('REGISTRY_CA'), 'utf8')] });
    const image = reference(`${repo(stackFact('REGISTRY_TLS'))}:1.0.0`);
    const url = `https://${stackFact('REGISTRY_TLS')}/v2/${image.path}/manifests/1.0.0`;
    await expect(registryManifestDigest(image, undefined, { send })).rejects.toThrow(
      `Registry ${stackFact('REGISTRY_TLS')} answered HTTP 401 for ${url}.`
    );
    await expect(
      registryManifestDigest(
        image,
        {
          registry: stackFact('REGISTRY_TLS'),
          username: stackFact('REGISTRY_USER'),
          password: 'wrong'
        },
        { send }
      )
    ).rejects.toThrow('answered HTTP 401');
  });
});

/** A registry behind a token service (as Docker Hub and GHCR are); the stack's use Basic. */
async function bearerRegistry(options: { tokenStatus?: number; tokenBody?: string } = {}) {
  const seen: string[] = [];
  const server = await startHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(`${req.method} ${url.pathname}${url.search} ${req.headers.authorization ?? '-'}`);
    if (url.pathname === '/token') {
      res.writeHead(options.tokenStatus ?? 200, { 'Content-Type': 'application/json' });
      res.end(options.tokenBody ?? JSON.stringify({ access_token: 'tok-3e1f9a' }));
      return;
    }
    if (req.headers.authorization !== 'Bearer tok-3e1f9a') {
      res.writeHead(401, {
        'WWW-Authenticate': `Bearer realm="${address}/token",service="reg.test",scope="repository:team/app:pull"`
      });
      res.end();
      return;
    }
    res.writeHead(200, { 'Docker-Content-Digest': `sha256:${'a'.repeat(64)}` });
    res.end('{}');
  });
  const address = server.url;
  closeServer = server.close;
  return { domain: server.url.replace('http://', ''), seen };
}

describe('registryManifestDigest with a token service', () => {
  it('fetches a pull token with service and scope (Basic with the credential), then uses it', async () => {
    const { domain, seen } = await bearerRegistry();
    const send: HttpSend = nodeHttpSend();
    const { result } = await captureStdout(() =>
      registryManifestDigest(
        reference(`${domain}/team/app:v1`),
        { registry: domain, username: 'u', password: 'p' },
        { send, plainHttp: true }
      )
    );
    expect(result).toBe(`sha256:${'a'.repeat(64)}`);
    expect(seen).toEqual([
      'GET /v2/team/app/manifests/v1 -',
      `GET /token?service=reg.test&scope=repository%3Ateam%2Fapp%3Apull Basic ${Buffer.from('u:p').toString('base64')}`,
      'GET /v2/team/app/manifests/v1 Bearer tok-3e1f9a'
    ]);
    // The token is a secret from then on.
    expect(redact('token tok-3e1f9a')).toBe('token ***');
  });

  it('asks for an anonymous token without a credential; defaults the tag to latest', async () => {
    const { domain, seen } = await bearerRegistry({ tokenBody: '{"token":"tok-3e1f9a"}' });
    const { result } = await captureStdout(() =>
      registryManifestDigest(reference(`${domain}/team/app`), undefined, {
        send: nodeHttpSend(),
        plainHttp: true
      })
    );
    expect(result).toBe(`sha256:${'a'.repeat(64)}`);
    expect(seen[0]).toBe('GET /v2/team/app/manifests/latest -');
    expect(seen[1]).toMatch(/^GET \/token\?\S+ -$/);
  });

  it('names the token service status when it refuses or gives no token', async () => {
    const refused = await bearerRegistry({ tokenStatus: 403, tokenBody: '{}' });
    await expect(
      registryManifestDigest(reference(`${refused.domain}/team/app:v1`), undefined, {
        send: nodeHttpSend(),
        plainHttp: true
      })
    ).rejects.toThrow(`The token service of ${refused.domain} answered 403.`);
    await closeServer?.();
    const empty = await bearerRegistry({ tokenBody: '' });
    await expect(
      registryManifestDigest(reference(`${empty.domain}/team/app:v1`), undefined, {
        send: nodeHttpSend(),
        plainHttp: true
      })
    ).rejects.toThrow(`The token service of ${empty.domain} answered 200.`);
  });
});
