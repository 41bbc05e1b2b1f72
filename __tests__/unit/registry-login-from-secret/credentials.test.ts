import { beforeEach, describe, expect, it } from '@jest/globals';
import { basicAuth } from '../../../src/lib/registry/index.js';
import { clearSecretsForTesting, redact } from '../../../src/lib/secrets.js';
import { DEFAULT_KEYS, type LoginConfig } from '../../../src/registry-login-from-secret/config.js';
import {
  extractCredentials,
  presentKeys,
  type SecretData
} from '../../../src/registry-login-from-secret/credentials.js';
import { captureStdout } from '../../helpers/capture.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const SOURCE = 'Secret ci/creds';
const PASSWORD = 'canary-Pa55word';

type CredentialConfig = Pick<LoginConfig, 'format' | 'registry' | 'keys'>;
const defaults: CredentialConfig = { format: 'auto', registry: undefined, keys: DEFAULT_KEYS };

function dockerSecret(auths: Record<string, unknown>): SecretData {
  return {
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': b64(JSON.stringify({ auths })) }
  };
}

async function extract(secret: SecretData, config: Partial<CredentialConfig> = {}) {
  const { result } = await captureStdout(() =>
    extractCredentials(secret, { ...defaults, ...config }, SOURCE)
  );
  return result;
}

async function failure(
  secret: SecretData,
  config: Partial<CredentialConfig> = {}
): Promise<string> {
  const { result } = await captureStdout(() => {
    try {
      extractCredentials(secret, { ...defaults, ...config }, SOURCE);
      return 'no error';
    } catch (error) {
      return (error as Error).message;
    }
  });
  expect(result).not.toContain(PASSWORD);
  return result;
}

beforeEach(() => clearSecretsForTesting());

describe('dockerconfigjson Secrets', () => {
  const secret = dockerSecret({
    'registry.example.com:5000': { auth: basicAuth('ci', PASSWORD) },
    'https://index.docker.io/v1/': { username: 'hub', password: 'hub-pass' }
  });

  it('reads every registry and masks each credential', async () => {
    const { result, output } = await captureStdout(() =>
      extractCredentials(secret, defaults, SOURCE)
    );
    expect(result.format).toBe('dockerconfigjson');
    expect(result.credentials.map(c => `${c.username}@${c.registry}`)).toEqual([
      'ci@registry.example.com:5000',
      'hub@docker.io'
    ]);
    expect(output).toContain(`::add-mask::${PASSWORD}`);
    expect(redact(basicAuth('ci', PASSWORD))).toBe('***');
    expect(redact(secret.data?.['.dockerconfigjson'] ?? '')).toBe('***');
  });

  it('selects one registry, by any spelling', async () => {
    const result = await extract(secret, { registry: 'index.docker.io' });
    expect(result.credentials.map(c => c.registry)).toEqual(['docker.io']);
  });

  it('lists the registries present when the selected one is missing', async () => {
    expect(await failure(secret, { registry: 'ghcr.io' })).toBe(
      'Secret ci/creds has no credentials for registry "ghcr.io" (registries present: registry.example.com:5000, docker.io).'
    );
  });

  it('reports malformed documents without values', async () => {
    expect(
      await failure({
        type: 'kubernetes.io/dockerconfigjson',
        data: { '.dockerconfigjson': b64(`{"auths": {"r.io": {"auth": "${PASSWORD}"}`) }
      })
    ).toBe('Secret ci/creds key ".dockerconfigjson" is not valid JSON.');
    expect(
      await failure({ type: 'kubernetes.io/dockerconfigjson', data: { other: b64('x') } })
    ).toBe('Secret ci/creds has no ".dockerconfigjson" key (keys present: other).');
  });

  it('rejects the wrong type for an explicit format', async () => {
    expect(await failure(secret, { format: 'keys' })).toBe(
      'Secret ci/creds has type "kubernetes.io/dockerconfigjson", a docker config Secret, but format is "keys".'
    );
    expect(
      await failure(
        { type: 'Opaque', data: { password: b64(PASSWORD) } },
        { format: 'dockerconfigjson' }
      )
    ).toBe(
      'Secret ci/creds has type "Opaque", not "kubernetes.io/dockerconfigjson" (format: dockerconfigjson).'
    );
  });

  it('reads legacy dockercfg Secrets', async () => {
    const result = await extract({
      type: 'kubernetes.io/dockercfg',
      data: { '.dockercfg': b64(JSON.stringify({ 'r.io': { auth: basicAuth('a', PASSWORD) } })) }
    });
    expect(result.credentials).toEqual([
      { registry: 'r.io', username: 'a', password: PASSWORD, identityToken: undefined }
    ]);
  });
});

describe('generic Secrets (keys)', () => {
  it('reads server/username/password, masks first and drops a trailing newline', async () => {
    const secret = {
      type: 'Opaque',
      data: {
        server: b64('Registry.Example.com:5000\n'),
        username: b64('ci'),
        password: b64(`${PASSWORD}\n`)
      }
    };
    const { result, output } = await captureStdout(() =>
      extractCredentials(secret, defaults, SOURCE)
    );
    expect(result).toEqual({
      format: 'keys',
      credentials: [{ registry: 'registry.example.com:5000', username: 'ci', password: PASSWORD }]
    });
    expect(output).toContain(`::add-mask::${PASSWORD}`);
    expect(output).not.toContain('add-mask::ci\n');
  });

  it('falls back to user/token and takes the server from the registry input', async () => {
    const result = await extract(
      { data: { user: b64('bot'), token: b64(PASSWORD) } },
      { registry: 'ghcr.io' }
    );
    expect(result.credentials).toEqual([
      { registry: 'ghcr.io', username: 'bot', password: PASSWORD }
    ]);
  });

  it('honours key overrides', async () => {
    const result = await extract(
      { data: { host: b64('r.io'), login: b64('me'), pw: b64(PASSWORD) } },
      { keys: { server: ['host'], username: ['login'], password: ['pw'] } }
    );
    expect(result.credentials[0]).toEqual({ registry: 'r.io', username: 'me', password: PASSWORD });
    expect(redact(PASSWORD)).toBe('***');
  });

  it('lists the keys present, never values, when a key is missing', async () => {
    expect(
      await failure({ data: { server: b64('r.io'), login: b64('me'), secret: b64(PASSWORD) } })
    ).toBe(
      'Secret ci/creds has no key "username" or "user" (keys present: login, secret, server).'
    );
    expect(await failure({ data: { username: b64('me'), password: b64(PASSWORD) } })).toBe(
      'Secret ci/creds has no key "server" (keys present: password, username).'
    );
    expect(
      await failure({ data: { server: b64('r.io'), username: b64('me'), password: '' } })
    ).toBe('Secret ci/creds: the password is empty.');
  });

  it('presentKeys says none for an empty Secret', () => {
    expect(presentKeys({})).toBe('none');
  });
});
