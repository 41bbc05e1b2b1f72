import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { acquireLease, KubeClient, releaseLease, runHolder } from '../../../src/lib/kube/index.js';
import { deleteNamespace, kubectl, uniqueName } from '../../helpers/kube.js';
import { stackFact } from '../../helpers/stack.js';

/**
 * The deploy lock's Lease against the stack's real API server (coordination.k8s.io/v1): taken,
 * refused to a second holder with a message naming the first, released, and taken over once the
 * holder stopped renewing it.
 */
const namespace = uniqueName('lease');
let kube: KubeClient;
beforeAll(async () => {
  kubectl(['create', 'namespace', namespace]);
  kube = await KubeClient.connect({ kubeconfig: stackFact('KUBECONFIG') });
});
afterAll(() => deleteNamespace(namespace));

const lease = (holder: string, durationSeconds = 30) => ({
  namespace,
  name: 'slipway-deploy-web',
  holder,
  durationSeconds
});

function holderOf(): string {
  return kubectl([
    '-n',
    namespace,
    'get',
    'lease',
    'slipway-deploy-web',
    '--ignore-not-found',
    '-o',
    'jsonpath={.spec.holderIdentity}'
  ]);
}

/** `client` with a log of the lease calls made through it (find = a read, write, remove). */
function counted(client: KubeClient): { client: KubeClient; calls: string[] } {
  const calls: string[] = [];
  const proxy = new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || !['find', 'write', 'remove'].includes(String(property)))
        return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    }
  });
  return { client: proxy, calls };
}

describe('deploy lease', () => {
  it('names the run that holds it', () => {
    expect(
      runHolder({
        GITHUB_REPOSITORY: 'team/app',
        GITHUB_RUN_ID: '42',
        GITHUB_RUN_ATTEMPT: '2',
        GITHUB_JOB: 'deploy'
      })
    ).toMatch(/^team\/app\/42\/2\/deploy\/[0-9a-f]{8}$/);
    expect(runHolder({})).toMatch(/^-\/-\/-\/-\/[0-9a-f]{8}$/);
  });

  it('is held by one run at a time; a second one gives up naming the holder, then gets it once released', async () => {
    const first = await acquireLease(kube, lease('run-1'), 0);
    expect(holderOf()).toBe('run-1');
    await expect(acquireLease(kube, lease('run-2'), 0)).rejects.toThrow(
      /Another deploy holds lease slipway-deploy-web in namespace lease-[0-9a-f]+: run-1, since \d{4}-/
    );
    // Waiting: the second run polls until the first releases.
    const second = acquireLease(kube, lease('run-2'), 20_000);
    await new Promise(resolve => setTimeout(resolve, 1_500));
    await first.release();
    await (await second).release();
    expect(holderOf()).toBe('');
  }, 60_000);

  it('is taken with one create and released with one delete when nobody else holds it', async () => {
    const { client, calls } = counted(kube);
    const held = await acquireLease(client, lease('run-fast'), 0);
    expect(holderOf()).toBe('run-fast');
    await held.release();
    expect(holderOf()).toBe('');
    expect(calls).toEqual(['write', 'remove']);
  }, 60_000);

  it('is still released when it was written after its holder last wrote it (read, then deleted)', async () => {
    const { client, calls } = counted(kube);
    const held = await acquireLease(client, lease('run-touched'), 0);
    kubectl(['-n', namespace, 'annotate', 'lease', 'slipway-deploy-web', 'touched=yes']);
    await held.release();
    expect(holderOf()).toBe('');
    expect(calls).toEqual(['write', 'remove', 'find', 'remove']);
  }, 60_000);

  it('is taken over when its holder stopped renewing it, and only its holder releases it', async () => {
    // A holder that died: a 1-second lease nobody renews.
    const dead = await acquireLease(kube, lease('dead-run', 1), 0);
    void dead; // never released: its renew timer is unref'd, as in a killed runner
    await new Promise(resolve => setTimeout(resolve, 2_500));
    const next = await acquireLease(kube, lease('next-run'), 5_000);
    expect(holderOf()).toBe('next-run');
    expect(await releaseLease(kube, lease('dead-run'))).toBe(false);
    expect(holderOf()).toBe('next-run');
    await next.release();
    expect(holderOf()).toBe('');
  }, 60_000);
});
