import { SlipwayError } from '../errors.js';
import type { ImageReference } from '../reference.js';
import { registerSecret } from '../secrets.js';
import { basicAuth, type RegistryCredential } from './docker-config.js';
import type { HttpSend } from './http.js';
import { parseChallenge, registryBaseUrl } from './verify.js';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json'
].join(', ');

/**
 * The digest a registry serves for `repository:tag` (its Docker-Content-Digest): what a kubelet
 * pulling the tag gets. Basic or Bearer (token with pull scope) authentication as the registry asks.
 */
export async function registryManifestDigest(
  reference: ImageReference,
  credential: RegistryCredential | undefined,
  options: { send: HttpSend; plainHttp?: boolean }
): Promise<string | undefined> {
  const base = registryBaseUrl(`${options.plainHttp ? 'http://' : ''}${reference.domain}`);
  const url = `${base}/v2/${reference.path}/manifests/${reference.tag ?? 'latest'}`;
  const get = (authorization?: string) =>
    options.send({
      method: 'GET',
      url,
      headers: {
        Accept: MANIFEST_TYPES,
        ...(authorization ? { Authorization: authorization } : {})
      }
    });
  let response = await get();
  if (response.status === 401) {
    const header = response.headers['www-authenticate'];
    const challenge = parseChallenge(Array.isArray(header) ? header[0] : header);
    const basic = credential ? `Basic ${basicAuth(credential.username, credential.password)}` : '';
    let authorization = basic;
    if (challenge?.scheme === 'bearer' && challenge.params.realm) {
      const realm = new URL(challenge.params.realm);
      for (const key of ['service', 'scope']) {
        const value = challenge.params[key];
        if (value) realm.searchParams.set(key, value);
      }
      const token = await options.send({
        method: 'GET',
        url: realm.toString(),
        headers: basic ? { Authorization: basic } : {}
      });
      const parsed = JSON.parse(token.body || '{}') as { token?: string; access_token?: string };
      const value = parsed.token ?? parsed.access_token;
      if (token.status !== 200 || !value) {
        throw new SlipwayError(
          `The token service of ${reference.domain} answered ${token.status}.`
        );
      }
      registerSecret(value);
      authorization = `Bearer ${value}`;
    }
    response = await get(authorization || undefined);
  }
  if (response.status === 404) return undefined;
  if (response.status !== 200) {
    throw new SlipwayError(
      `Registry ${reference.domain} answered HTTP ${response.status} for ${url}.`
    );
  }
  const digest = response.headers['docker-content-digest'];
  return Array.isArray(digest) ? digest[0] : digest;
}
