import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { stackFact } from './stack.js';

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
