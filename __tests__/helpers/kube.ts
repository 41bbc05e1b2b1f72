import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { registryPassword, stackFact } from './stack.js';

/** kubectl against the stack's API server as the admin; returns stdout. */
export function kubectl(args: string[], input?: string): string {
  return execFileSync('kubectl', ['--kubeconfig', stackFact('KUBECONFIG'), ...args], {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe']
  });
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export function deleteNamespace(namespace: string): void {
  kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
}

/**
 * Stores registry credentials as a dockerconfigjson Secret, as the seed's cluster does: by default
 * the stack user's, for the TLS registry, named `registry-credentials`.
 */
export function applyRegistrySecret(
  namespace: string,
  options: { name?: string; server?: string; password?: string } = {}
): void {
  const auth = Buffer.from(
    `${stackFact('REGISTRY_USER')}:${options.password ?? registryPassword()}`
  ).toString('base64');
  const dockerconfig = JSON.stringify({
    auths: { [options.server ?? stackFact('REGISTRY_TLS')]: { auth } }
  });
  kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/dockerconfigjson',
      metadata: { name: options.name ?? 'registry-credentials', namespace },
      data: { '.dockerconfigjson': Buffer.from(dockerconfig).toString('base64') }
    })
  );
}
