import { describe, expect, it } from '@jest/globals';
import { Inputs } from '../../../src/lib/inputs.js';
import { DEFAULT_KEYS, readConfig } from '../../../src/registry-login-from-secret/config.js';

const inputs = (values: Record<string, string>) => new Inputs(name => values[name] ?? '');

describe('readConfig', () => {
  it('applies the defaults', () => {
    expect(readConfig(inputs({ 'secret-name': 'registry-creds' }))).toEqual({
      secretName: 'registry-creds',
      namespace: undefined,
      kubeconfig: undefined,
      context: undefined,
      format: 'auto',
      registry: undefined,
      keys: DEFAULT_KEYS,
      verify: true,
      exportEnv: false,
      caFile: undefined
    });
  });

  it('reads every input', () => {
    expect(
      readConfig(
        inputs({
          'secret-name': 'creds',
          namespace: 'ci',
          kubeconfig: '/k',
          context: 'prod',
          format: 'keys',
          registry: 'registry.example.com:5000',
          'server-key': 'host',
          'username-key': 'login',
          'password-key': '.secret',
          verify: 'false',
          'export-env': 'true',
          'ca-file': '/ca.pem'
        })
      )
    ).toEqual({
      secretName: 'creds',
      namespace: 'ci',
      kubeconfig: '/k',
      context: 'prod',
      format: 'keys',
      registry: 'registry.example.com:5000',
      keys: { server: ['host'], username: ['login'], password: ['.secret'] },
      verify: false,
      exportEnv: true,
      caFile: '/ca.pem'
    });
  });

  it.each([
    [{}, 'Input "secret-name" is required and was not supplied.'],
    [{ 'secret-name': 'Bad_Name' }, 'Input "secret-name" must be a DNS-1123 subdomain'],
    [{ 'secret-name': 'a', namespace: 'Not OK' }, 'Input "namespace" must be a DNS-1123 label'],
    [
      { 'secret-name': 'a', format: 'yaml' },
      'Input "format" must be one of auto, dockerconfigjson, keys'
    ],
    [{ 'secret-name': 'a', registry: 'a b' }, 'Input "registry" must be a registry host'],
    [
      { 'secret-name': 'a', 'password-key': 'pass word' },
      'Input "password-key" must be a Secret data key'
    ],
    [{ 'secret-name': 'a', verify: 'yes' }, 'Input "verify" must be true or false'],
    [{ 'secret-name': 'a', 'export-env': '1' }, 'Input "export-env" must be true or false']
  ])('rejects %j', (values, message) => {
    expect(() => readConfig(inputs(values))).toThrow(message);
  });
});
