import { afterAll } from '@jest/globals';
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

/** Polls `probe` every 250 ms until it returns a value other than undefined, or throws naming
 * `what` (with the last value seen) after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined,
  timeoutMs = 60_000
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 250));
  }
}

export interface PodState {
  phase: string;
  ready: boolean;
  nodeName: string;
  imageID: string;
  waiting?: { reason: string; message?: string };
}

export function podState(namespace: string, pod: string): PodState {
  const json = JSON.parse(kubectl(['-n', namespace, 'get', 'pod', pod, '-o', 'json']));
  const container = json.status?.containerStatuses?.[0] ?? {};
  return {
    phase: json.status?.phase ?? '',
    ready: container.ready === true,
    nodeName: json.spec?.nodeName ?? '',
    imageID: container.imageID ?? '',
    waiting: container.state?.waiting
  };
}

/**
 * GETs `urls` from inside the cluster: a pod of the stack's probe image (a static HTTP client)
 * in `namespace`, whose output lines are "URL STATUS BODY". Returns its log once it finished.
 */
export async function getFromPod(namespace: string, urls: string[]): Promise<string> {
  const name = uniqueName('probe');
  kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace },
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'probe', image: stackFact('PROBE_IMAGE'), args: urls }]
      }
    })
  );
  const phase = await waitUntil(`pod ${namespace}/${name} to finish`, () => {
    const state = podState(namespace, name);
    return state.phase === 'Succeeded' || state.phase === 'Failed' ? state.phase : undefined;
  });
  const log = kubectl(['-n', namespace, 'logs', name]);
  if (phase !== 'Succeeded') throw new Error(`probe pod failed:\n${log}`);
  return log;
}

/**
 * The digests the kubelet reports for the namespace's ready pods (the `@sha256:…` of each
 * container's imageID). Only the digest is compared: containerd names an image by the first
 * repository it was pulled under, so the same content pushed under two names shows either name.
 */
export function podImageDigests(namespace: string): string[] {
  const pods = JSON.parse(kubectl(['-n', namespace, 'get', 'pods', '-o', 'json'])).items as Array<{
    metadata: { deletionTimestamp?: string };
    status?: { containerStatuses?: Array<{ imageID?: string; ready?: boolean }> };
  }>;
  return pods
    .filter(pod => !pod.metadata.deletionTimestamp)
    .flatMap(pod => pod.status?.containerStatuses ?? [])
    .filter(status => status.ready)
    .map(status => (status.imageID ?? '').replace(/^.*@/, ''));
}

/**
 * `podImageDigests` once the namespace has a Ready pod, or after `timeoutMs` (then possibly
 * empty): the check a test makes right after a deploy returned. Once in a CI run the root
 * action's step ended while its pod had turned Running but not yet Ready (the kubelet wrote
 * Ready ≈ 0.3 s later; helm's wait and the kubelet log disagree, not reproduced in 12 runs of
 * helm alone under load). An empty list or another digest still fails the caller's comparison.
 */
export async function readyPodImageDigests(
  namespace: string,
  timeoutMs = 30_000
): Promise<string[]> {
  const ready = () => {
    const digests = podImageDigests(namespace);
    return digests.length > 0 ? digests : undefined;
  };
  // Past the timeout, what the namespace holds then: the caller's comparison names the difference.
  return waitUntil(`a Ready pod in ${namespace}`, ready, timeoutMs).catch(() =>
    podImageDigests(namespace)
  );
}

/**
 * For a test file: a function that names a fresh namespace (`prefix-xxxxxx`), each deleted with
 * everything in it after the file's tests.
 */
export function namespacesDeletedAfterAll(): (prefix: string) => string {
  const created: string[] = [];
  afterAll(() => created.forEach(deleteNamespace));
  return prefix => {
    const name = uniqueName(prefix);
    created.push(name);
    return name;
  };
}
