import * as core from '@actions/core';
import type { V1Lease } from '@kubernetes/client-node';
import { SlipwayError } from '../errors.js';
import type { KubeClient } from './client.js';
import { apiCode } from './errors.js';
import { builtin } from '../builtins.js';

/**
 * A Kubernetes Lease (coordination.k8s.io/v1) as a lock across runners: created or taken with
 * optimistic concurrency (a 409 means someone else wrote first: read again), renewed while held,
 * taken over once its holder stopped renewing it for its duration, deleted when released.
 */
export interface LeaseSpec {
  namespace: string;
  name: string;
  holder: string;
  /** Seconds without renewal after which others may take the lease. */
  durationSeconds: number;
}

export interface HeldLease {
  /** Stops renewing and deletes the lease if it is still ours. */
  release(): Promise<void>;
}

const RENEW_MS = 10_000;

const POLL_MS = 2_000;

/** The identity of this job's run: repository, run, attempt and job, plus a random suffix. */
export function runHolder(env: Record<string, string | undefined> = process.env): string {
  const run = [env.GITHUB_REPOSITORY, env.GITHUB_RUN_ID, env.GITHUB_RUN_ATTEMPT, env.GITHUB_JOB]
    .map(part => part || '-')
    .join('/');
  return `${run}/${builtin.crypto().randomBytes(4).toString('hex')}`;
}

function read(kube: KubeClient, spec: LeaseSpec): Promise<V1Lease | undefined> {
  return kube.find<V1Lease>('Lease', spec.namespace, spec.name);
}

/**
 * A Lease's times are MicroTime: the API server refuses the milliseconds a Date serializes to
 * ("cannot parse .187Z as .000000"), so the fraction is written with six digits.
 */
class MicroTime extends Date {
  override toISOString(): string {
    return super.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  }
  override toJSON(): string {
    return this.toISOString();
  }
}

function microTime(value: Date | string = new Date()): Date {
  return new MicroTime(value);
}

/**
 * Writes the lease held by us: the lease as written, or undefined when another writer got there
 * first (409).
 */
async function write(
  kube: KubeClient,
  spec: LeaseSpec,
  current?: V1Lease
): Promise<V1Lease | undefined> {
  const { namespace, name } = spec;
  const now = microTime();
  const body: V1Lease = {
    metadata: { name, namespace, resourceVersion: current?.metadata?.resourceVersion },
    spec: {
      holderIdentity: spec.holder,
      leaseDurationSeconds: spec.durationSeconds,
      acquireTime:
        current?.spec?.holderIdentity === spec.holder && current.spec.acquireTime
          ? microTime(current.spec.acquireTime)
          : now,
      renewTime: now,
      leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (current ? 1 : 0)
    }
  } as V1Lease;
  try {
    // Replaced when read before (its resourceVersion makes a concurrent write fail with 409).
    return await kube.write('Lease', namespace, body);
  } catch (error) {
    if (apiCode(error) === 409) return undefined;
    throw error;
  }
}

function expiresAt(lease: V1Lease): number {
  const renewed = lease.spec?.renewTime ?? lease.spec?.acquireTime;
  const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  return renewed ? new Date(renewed).getTime() + duration : 0;
}

/** Takes the lease, waiting up to `timeoutMs` (0: not at all) for its holder to release it. */
export async function acquireLease(
  kube: KubeClient,
  spec: LeaseSpec,
  timeoutMs: number
): Promise<HeldLease> {
  const deadline = Date.now() + timeoutMs;
  let waitingFor: string | undefined;
  // The first attempt creates the lease without reading it: a released lease is deleted, so one
  // exists only while another run deploys the release; its create then fails with 409, and the
  // loop reads who holds it.
  let assumeFree = true;
  for (;;) {
    const current = assumeFree ? undefined : await read(kube, spec);
    assumeFree = false;
    const holder = current?.spec?.holderIdentity;
    const free = !current || !holder || holder === spec.holder;
    const expired = current !== undefined && !free && expiresAt(current) < Date.now();
    if (free || expired) {
      const written = await write(kube, spec, current);
      if (written) {
        if (expired) {
          core.warning(
            `Took over lease ${spec.name} from ${holder}, which stopped renewing it at ${new Date(expiresAt(current) - (current.spec?.leaseDurationSeconds ?? 0) * 1000).toISOString()}.`
          );
        }
        core.info(`Holding lease ${spec.name} in ${spec.namespace} as ${spec.holder}`);
        return hold(kube, spec, written);
      }
      continue;
    }
    const since = current?.spec?.acquireTime
      ? new Date(current.spec.acquireTime).toISOString()
      : 'an unknown time';
    if (Date.now() >= deadline) {
      throw new SlipwayError(
        `Another deploy holds lease ${spec.name} in namespace ${spec.namespace}: ${holder}, since ${since}${timeoutMs ? `; waited ${Math.round(timeoutMs / 1000)} s` : ''}.`,
        {
          hint: 'Raise lock-timeout to wait longer, or wait until that run ends (its lease expires 30 s after it stops renewing).'
        }
      );
    }
    if (waitingFor !== holder) {
      core.info(`Waiting for ${holder} (holding lease ${spec.name} since ${since})`);
      waitingFor = holder;
    }
    await new Promise(resolve => setTimeout(resolve, POLL_MS));
  }
}

function hold(kube: KubeClient, spec: LeaseSpec, written: V1Lease): HeldLease {
  // The resourceVersion of this run's last write: the release deletes on it without reading.
  let lastWritten = written.metadata?.resourceVersion;
  const timer = setInterval(() => {
    void read(kube, spec)
      .then(current =>
        current?.spec?.holderIdentity === spec.holder ? write(kube, spec, current) : undefined
      )
      .then(renewed => {
        if (renewed) lastWritten = renewed.metadata?.resourceVersion;
        else core.warning(`Lease ${spec.name} is no longer held by this run.`);
      })
      .catch(error => core.warning(`Renewing lease ${spec.name} failed: ${String(error)}`));
  }, RENEW_MS);
  timer.unref();
  return {
    release: async () => {
      clearInterval(timer);
      await releaseLease(kube, spec, lastWritten);
    }
  };
}

/**
 * Deletes the lease when `spec.holder` still holds it (the post step calls this again).
 * `lastWritten`: the resourceVersion of the holder's last write, when known: the lease is deleted
 * on it without being read first. If anyone wrote since (a renewal of this run still finishing,
 * or a takeover), that delete fails and the lease is read to see who holds it now.
 */
export async function releaseLease(
  kube: KubeClient,
  spec: LeaseSpec,
  lastWritten?: string
): Promise<boolean> {
  if (lastWritten !== undefined) {
    const outcome = await deleteAtVersion(kube, spec, lastWritten);
    if (outcome !== 'written since') return outcome;
  }
  const current = await read(kube, spec);
  if (current?.spec?.holderIdentity !== spec.holder) return false;
  return (await deleteAtVersion(kube, spec, current.metadata?.resourceVersion)) === true;
}

/** Deletes the lease if it is still at `resourceVersion`; false when it is gone. */
async function deleteAtVersion(
  kube: KubeClient,
  spec: LeaseSpec,
  resourceVersion: string | undefined
): Promise<boolean | 'written since'> {
  const { namespace, name } = spec;
  try {
    const deleted = await kube.remove('Lease', namespace, name, {
      body: { preconditions: { resourceVersion } }
    });
    if (deleted) core.info(`Released lease ${name}`);
    return deleted;
  } catch (error) {
    if (apiCode(error) === 409) return 'written since';
    throw error;
  }
}
