import { existsSync, readFileSync } from 'node:fs';
import { InputError } from '../lib/errors.js';
import { parseNamespace, parseResourceName, type Inputs } from '../lib/inputs.js';
import { normalizeRegistry } from '../lib/registry/index.js';

export const FORMATS = ['auto', 'dockerconfigjson', 'keys'] as const;
export type SecretFormat = (typeof FORMATS)[number];

/** Key names tried in order for a generic Secret; an override input replaces the whole list. */
export interface KeyNames {
  server: string[];
  username: string[];
  password: string[];
}

/** The seed pipeline's style: `server`, `username` or `user`, `password` or `token`. */
export const DEFAULT_KEYS: KeyNames = {
  server: ['server'],
  username: ['username', 'user'],
  password: ['password', 'token']
};

export interface LoginConfig {
  secretName: string;
  /** Undefined: the kubeconfig context's namespace, else `default`. */
  namespace: string | undefined;
  kubeconfig: string | undefined;
  context: string | undefined;
  format: SecretFormat;
  /** Selects one registry of a dockerconfigjson; the server for a `keys` Secret without one. */
  registry: string | undefined;
  keys: KeyNames;
  verify: boolean;
  exportEnv: boolean;
  caFile: string | undefined;
}

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

function keyInput(inputs: Inputs, name: string, defaults: string[]): string[] {
  const value = inputs.optionalString(name);
  if (value === undefined) return defaults;
  if (!SECRET_KEY.test(value)) {
    throw new InputError(
      name,
      'must be a Secret data key: letters, digits, "-", "_" and "." only.'
    );
  }
  return [value];
}

/** Validates every input before the cluster is contacted. */
export function readConfig(inputs: Inputs): LoginConfig {
  const secretName = parseResourceName('secret-name', inputs.raw('secret-name'));
  const namespaceRaw = inputs.raw('namespace');
  const registryRaw = inputs.optionalString('registry');
  if (registryRaw !== undefined && !/^[a-z0-9.-]+(:\d+)?$/.test(normalizeRegistry(registryRaw))) {
    throw new InputError(
      'registry',
      'must be a registry host such as ghcr.io or registry.example.com:5000.'
    );
  }
  return {
    secretName,
    namespace: namespaceRaw.trim() ? parseNamespace('namespace', namespaceRaw) : undefined,
    kubeconfig: inputs.optionalString('kubeconfig'),
    context: inputs.optionalString('context'),
    format: inputs.enum('format', FORMATS, 'auto'),
    registry: registryRaw,
    keys: {
      server: keyInput(inputs, 'server-key', DEFAULT_KEYS.server),
      username: keyInput(inputs, 'username-key', DEFAULT_KEYS.username),
      password: keyInput(inputs, 'password-key', DEFAULT_KEYS.password)
    },
    verify: inputs.boolean('verify', true),
    exportEnv: inputs.boolean('export-env', false),
    caFile: inputs.optionalString('ca-file')
  };
}

/**
 * The CA bundle the ca-file input names, read and checked before any work (the root action checks
 * it with the other stages' inputs, before the builder is set up).
 */
export function readCaFile(caFile: string | undefined): string[] {
  if (!caFile) return [];
  if (!existsSync(caFile))
    throw new InputError('ca-file', `names a file that does not exist: ${caFile}.`);
  const pem = readFileSync(caFile, 'utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new InputError('ca-file', `must be a PEM file with at least one certificate: ${caFile}.`);
  }
  return [pem];
}
