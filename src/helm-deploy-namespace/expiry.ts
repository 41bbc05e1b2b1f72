import { InputError } from '../lib/errors.js';
import { quoteValue, type Inputs } from '../lib/inputs.js';
import type { DeployAction } from './config.js';
import {
  EXPIRES_AT_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  isManaged
} from './ownership.js';

/**
 * Preview environments that expire: the `ttl` and `sweep-selector` inputs, the
 * `slipway.dev/expires-at` stamp a deploy puts on a namespace Slipway created, and which namespaces
 * a sweep may delete. Pure, so every rule is unit-tested; sweep.ts does the work.
 */

/** The longest ttl: ten years (a larger one would be a typo, and past JavaScript's dates soon). */
const MAX_TTL_MS = 10 * 365 * 24 * 3_600_000;

/** What a sweep always requires, whatever `sweep-selector` adds: a namespace Slipway created. */
export const SWEEP_REQUIREMENT = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

/** The inputs that only make sense for one release, which a sweep does not have. */
const NOT_FOR_SWEEP = ['release', 'namespace', 'chart', 'ttl'] as const;

export interface ExpiryInputs {
  /** With deploy: how long the namespace lives after this deploy. */
  ttlMs: number | undefined;
  /** With sweep: the label selector of the namespaces to consider, managed-by=slipway included. */
  sweepSelector: string | undefined;
}

/** `ttl` (deploy only) and `sweep-selector` (sweep only), and the inputs a sweep refuses. */
export function readExpiryInputs(inputs: Inputs, action: DeployAction): ExpiryInputs {
  const given = (name: string) => inputs.raw(name).trim() !== '';
  if (action === 'sweep') {
    for (const name of NOT_FOR_SWEEP) {
      if (given(name)) {
        throw new InputError(
          name,
          'is not used by action: sweep, which deletes every expired namespace Slipway created that matches sweep-selector; remove it.'
        );
      }
    }
    return { ttlMs: undefined, sweepSelector: readSweepSelector(inputs) };
  }
  if (given('sweep-selector')) {
    throw new InputError('sweep-selector', `is only used by action: sweep (action is ${action}).`);
  }
  if (action !== 'deploy' && given('ttl')) {
    throw new InputError('ttl', `is only used by action: deploy (action is ${action}).`);
  }
  return { ttlMs: given('ttl') ? readTtl(inputs) : undefined, sweepSelector: undefined };
}

function readTtl(inputs: Inputs): number {
  const ttlMs = inputs.duration('ttl', '', { maxMs: MAX_TTL_MS });
  if (ttlMs <= 0 || ttlMs > MAX_TTL_MS) {
    throw new InputError(
      'ttl',
      `must be a duration greater than zero and at most 87600h, such as 72h or 30m; got ${quoteValue(inputs.raw('ttl'))}.`
    );
  }
  return ttlMs;
}

function readSweepSelector(inputs: Inputs): string {
  const requirements = inputs.labelSelector('sweep-selector');
  if (requirements.some(requirement => requirement.key === MANAGED_BY_LABEL)) {
    throw new InputError(
      'sweep-selector',
      `must not name ${MANAGED_BY_LABEL}: a sweep always requires ${SWEEP_REQUIREMENT} (it never touches a namespace Slipway did not create).`
    );
  }
  return [SWEEP_REQUIREMENT, ...requirements.map(requirement => requirement.text)].join(',');
}

/** The expires-at stamp for a deploy at `now`: RFC 3339 in UTC, to the second. */
export function expiryStamp(now: number, ttlMs: number): string {
  return new Date(now + ttlMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

interface NamespaceLike {
  metadata?: {
    name?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: Date | string;
  };
}

/** Why a sweep deletes a namespace or leaves it alone. */
export type Expiry =
  | { state: 'expired'; expiresAt: string }
  | { state: 'live'; expiresAt: string }
  | { state: 'no-expiry' }
  | { state: 'unreadable'; value: string }
  | { state: 'foreign' }
  | { state: 'terminating' };

/**
 * Whether `namespace` is due at `now`. The server-side selector already asked for managed-by, but a
 * namespace without it is never due whatever it carries (the same rule, checked on what came back).
 */
export function expiryOf(namespace: NamespaceLike, now: number): Expiry {
  if (!isManaged(namespace)) return { state: 'foreign' };
  if (namespace.metadata?.deletionTimestamp) return { state: 'terminating' };
  const value = namespace.metadata?.annotations?.[EXPIRES_AT_ANNOTATION];
  if (value === undefined) return { state: 'no-expiry' };
  const at = parseRfc3339(value);
  if (at === undefined) return { state: 'unreadable', value };
  return { state: at <= now ? 'expired' : 'live', expiresAt: value };
}

/** Milliseconds since the epoch of an RFC 3339 date-time with a zone (`Z` or `±hh:mm`). */
export function parseRfc3339(value: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(value)) {
    return undefined;
  }
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
