import * as core from '@actions/core';
import type { V1Secret } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SlipwayError } from '../lib/errors.js';
import { apiCode, type KubeClient } from '../lib/kube/index.js';
import { parseImageReference } from '../lib/reference.js';
import type { DeployConfig } from './config.js';
import {
  authEntry,
  dockerConfigKey,
  normalizeRegistry,
  parseDockerConfig,
  type RegistryCredential
} from '../lib/registry/index.js';
import { withRetry } from '../lib/retry.js';
import { registerSecretWithEncodings } from '../lib/secrets.js';
import {
  DOCKERCONFIGJSON_TYPE,
  extractCredentials
} from '../registry-login-from-secret/credentials.js';
import { DEFAULT_KEYS } from '../registry-login-from-secret/config.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, USED_BY_ANNOTATION } from './ownership.js';

/**
 * The Secret a release's pods pull their image with, made in the target namespace from the
 * registry login of the same job (DOCKER_CONFIG, written by registry-login-from-secret) or copied
 * from another Secret. A fresh namespace has none, so without it the first deploy from a private
 * registry ends in ImagePullBackOff. Slipway only ever changes or deletes a Secret it created
 * (labelled managed-by=slipway), and records which releases use it so that deleting one release
 * keeps it for the others.
 */
export interface PullSecretSpec {
  /** The Secret's name in the target namespace. */
  name: string;
  /** Copy this Secret instead of the job's registry login. */
  from: { namespace: string; name: string } | undefined;
  /** Also list the Secret in this ServiceAccount's imagePullSecrets (charts with no such value). */
  serviceAccount: string | undefined;
}

export type PullSecretResult = 'created' | 'updated' | 'unchanged';

/**
 * The `.dockerconfigjson` to store, resolved before anything in the target namespace changes.
 * Only the image's registry is taken from the job's login (other registries' credentials stay out
 * of the namespace); a Secret named by `from` is converted whole (or, for a server/username/
 * password Secret, turned into a docker config).
 */
export async function resolvePullCredentials(
  kube: KubeClient,
  spec: PullSecretSpec,
  imageRegistry: string | undefined,
  env = process.env
): Promise<string> {
  const credentials = spec.from
    ? await fromSecret(kube, spec.from, imageRegistry)
    : fromJobLogin(env, imageRegistry);
  const auths = Object.fromEntries(
    credentials.map(c => [dockerConfigKey(c.registry), authEntry(c)])
  );
  const json = JSON.stringify({ auths });
  registerSecretWithEncodings(json);
  return json;
}

async function fromSecret(
  kube: KubeClient,
  from: NonNullable<PullSecretSpec['from']>,
  imageRegistry: string | undefined
): Promise<RegistryCredential[]> {
  const secret = await kube.readSecret(from.namespace, from.name);
  const source = `Secret "${from.name}" in namespace "${from.namespace}" (image-pull-secret-from)`;
  return extractCredentials(
    { type: secret.type, data: secret.data },
    { format: 'auto', registry: imageRegistry, keys: DEFAULT_KEYS },
    source
  ).credentials;
}

function fromJobLogin(
  env: NodeJS.ProcessEnv,
  imageRegistry: string | undefined
): RegistryCredential[] {
  const file = env.DOCKER_CONFIG ? path.join(env.DOCKER_CONFIG, 'config.json') : undefined;
  const hint =
    'Run registry-login-from-secret earlier in this job (it exports DOCKER_CONFIG), or set image-pull-secret-from: <namespace>/<secret>.';
  if (!file || !existsSync(file)) {
    throw new SlipwayError(
      'image-pull-secret needs registry credentials, and this job has no registry login.',
      { hint }
    );
  }
  const all = parseDockerConfig(readFileSync(file, 'utf8'), `${file} (the job's registry login)`);
  const wanted = imageRegistry === undefined ? undefined : normalizeRegistry(imageRegistry);
  const credentials =
    wanted === undefined ? all : all.filter(c => normalizeRegistry(c.registry) === wanted);
  if (credentials.length === 0) {
    throw new SlipwayError(
      `image-pull-secret needs credentials for registry "${wanted}", and the job's registry login has none (it has: ${all.map(c => c.registry).join(', ') || 'nothing'}).`,
      { hint }
    );
  }
  return credentials;
}

/** The pull secret's content for this deploy, or `undefined` when none is wanted (or a dry run). */
export async function resolvePullSecret(
  config: Pick<DeployConfig, 'pullSecret' | 'dryRun' | 'image'>,
  kube: KubeClient
): Promise<string | undefined> {
  if (!config.pullSecret || config.dryRun) return undefined;
  // The image's registry is the only one whose login goes into the namespace.
  const registry = config.image
    ? parseImageReference('image', config.image.repository).domain
    : undefined;
  return resolvePullCredentials(kube, config.pullSecret, registry);
}

/** Creates or updates the Secret for `release`; refuses to touch one Slipway did not create. */
export async function ensurePullSecret(
  kube: KubeClient,
  namespace: string,
  spec: PullSecretSpec,
  dockerConfigJson: string,
  release: string
): Promise<PullSecretResult> {
  const data = { '.dockerconfigjson': Buffer.from(dockerConfigJson, 'utf8').toString('base64') };
  const result = await withConflictRetry(async () => {
    const existing = await kube.findSecret(namespace, spec.name);
    if (!existing) {
      await kube.writeSecret(namespace, {
        metadata: {
          name: spec.name,
          labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
          annotations: { [USED_BY_ANNOTATION]: release }
        },
        type: DOCKERCONFIGJSON_TYPE,
        data
      });
      return 'created' as const;
    }
    assertOurs(existing, namespace, spec.name);
    const users = usedBy(existing);
    const sameData = existing.data?.['.dockerconfigjson'] === data['.dockerconfigjson'];
    if (sameData && users.includes(release)) return 'unchanged' as const;
    existing.data = data;
    existing.metadata!.annotations = {
      ...existing.metadata?.annotations,
      [USED_BY_ANNOTATION]: [...new Set([...users, release])].join(',')
    };
    await kube.writeSecret(namespace, existing);
    return sameData ? ('unchanged' as const) : ('updated' as const);
  });
  core.info(`Image pull secret ${spec.name} in ${namespace}: ${result}`);
  if (spec.serviceAccount)
    await addToServiceAccount(kube, namespace, spec.serviceAccount, spec.name);
  return result;
}

function assertOurs(secret: V1Secret, namespace: string, name: string): void {
  if (secret.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE) return;
  throw new SlipwayError(
    `Secret "${name}" in namespace "${namespace}" exists and was not created by Slipway; it is left as it is.`,
    {
      hint: `Choose another image-pull-secret name, or label the Secret ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE} to let Slipway manage it.`
    }
  );
}

function usedBy(secret: V1Secret): string[] {
  const raw = secret.metadata?.annotations?.[USED_BY_ANNOTATION] ?? '';
  return raw.split(',').filter(Boolean);
}

/** Pods created from now on through this ServiceAccount pull with the Secret. */
async function addToServiceAccount(
  kube: KubeClient,
  namespace: string,
  account: string,
  secret: string
): Promise<void> {
  const changed = await withConflictRetry(async () => {
    const existing = await kube.findServiceAccount(namespace, account);
    const current = existing?.imagePullSecrets ?? [];
    if (current.some(ref => ref.name === secret)) return false;
    await kube.writeServiceAccount(namespace, {
      ...(existing ?? {}),
      metadata: existing?.metadata ?? { name: account },
      imagePullSecrets: [...current, { name: secret }]
    });
    return true;
  });
  if (changed) core.info(`ServiceAccount ${account} in ${namespace} now pulls with ${secret}.`);
}

/**
 * `action: delete` of `release`: the Secret loses that user, and is deleted (and dropped from the
 * ServiceAccount) once no release uses it. A Secret Slipway did not create is never touched.
 */
export async function releasePullSecret(
  kube: KubeClient,
  namespace: string,
  spec: PullSecretSpec,
  release: string
): Promise<'deleted' | 'kept' | 'absent' | 'not-ours'> {
  const outcome = await withConflictRetry(async () => {
    const existing = await kube.findSecret(namespace, spec.name);
    if (!existing) return 'absent' as const;
    if (existing.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE)
      return 'not-ours' as const;
    const others = usedBy(existing).filter(user => user !== release);
    if (others.length === 0) {
      await kube.deleteSecret(namespace, spec.name);
      return 'deleted' as const;
    }
    existing.metadata!.annotations = {
      ...existing.metadata?.annotations,
      [USED_BY_ANNOTATION]: others.join(',')
    };
    await kube.writeSecret(namespace, existing);
    return 'kept' as const;
  });
  if (outcome === 'deleted' && spec.serviceAccount) {
    await removeFromServiceAccount(kube, namespace, spec.serviceAccount, spec.name);
  }
  core.info(`Image pull secret ${spec.name} in ${namespace}: ${outcome}`);
  return outcome;
}

async function removeFromServiceAccount(
  kube: KubeClient,
  namespace: string,
  account: string,
  secret: string
): Promise<void> {
  await withConflictRetry(async () => {
    const existing = await kube.findServiceAccount(namespace, account);
    const current = existing?.imagePullSecrets ?? [];
    if (!existing || !current.some(ref => ref.name === secret)) return;
    existing.imagePullSecrets = current.filter(ref => ref.name !== secret);
    await kube.writeServiceAccount(namespace, existing);
  });
}

/**
 * Read-modify-write loops: another deploy into the namespace may write in between. A 409 from a
 * replace (changed since read) or a create (someone created it first) means read again, at once.
 */
function withConflictRetry<T>(attempt: () => Promise<T>): Promise<T> {
  return withRetry(attempt, {
    attempts: 5,
    baseDelayMs: 0,
    description: 'writing a pull secret or ServiceAccount (409 conflict)',
    isTransient: error => apiCode(error) === 409
  });
}
