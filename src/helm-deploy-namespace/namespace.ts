import * as core from '@actions/core';
import type { V1Namespace } from '@kubernetes/client-node';
import { SlipwayError } from '../lib/errors.js';
import type { ClusterContext } from './context.js';
import { expiryStamp } from './expiry.js';
import {
  CREATED_FOR_ANNOTATION,
  EXPIRES_AT_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  isManaged
} from './ownership.js';

export type NamespaceState = 'created' | 'updated' | 'unchanged' | 'missing';

export interface PreparedNamespace {
  state: NamespaceState;
  /** The expires-at stamped by this deploy (`ttl`, on a namespace Slipway created). */
  expiresAt?: string | undefined;
}

/**
 * Creates the namespace (marked as Slipway's) or brings its labels and annotations up to date;
 * with `ttl`, stamps (or refreshes) its expiry.
 */
export async function prepareNamespace(ctx: ClusterContext): Promise<PreparedNamespace> {
  const { config, kube } = ctx;
  const existing = await kube.readNamespace(config.namespace);
  if (!existing && !config.createNamespace) {
    throw new SlipwayError(
      `Namespace "${config.namespace}" does not exist and create-namespace is false.`,
      {
        hint: 'Create it first, or set create-namespace: true.'
      }
    );
  }
  if (config.dryRun) return { state: existing ? 'unchanged' : 'missing' };
  core.debug(`Namespace ${config.namespace} ${existing ? 'exists' : 'is created by this step'}`);
  const expiresAt = expiryFor(ctx, existing);
  const expiry: Record<string, string> = expiresAt ? { [EXPIRES_AT_ANNOTATION]: expiresAt } : {};
  const labels = existing
    ? config.namespaceLabels
    : { ...config.namespaceLabels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
  const annotations = existing
    ? { ...config.namespaceAnnotations, ...expiry }
    : { ...config.namespaceAnnotations, [CREATED_FOR_ANNOTATION]: config.release, ...expiry };
  const state = await kube.ensureNamespace(config.namespace, labels, annotations, {
    namespace: existing
  });
  core.info(
    `Namespace ${config.namespace}: ${state}${expiresAt ? `, expires at ${expiresAt}` : ''}`
  );
  return { state, expiresAt };
}

/** The expiry to stamp: now + ttl on a namespace Slipway creates or created; never on another. */
function expiryFor(ctx: ClusterContext, existing: V1Namespace | undefined): string | undefined {
  const { config } = ctx;
  if (config.ttlMs === undefined) return undefined;
  if (existing && !isManaged(existing)) {
    core.warning(
      `Namespace ${config.namespace} was not created by Slipway (it has no ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE} label): ttl stamps no expiry on it, and action: sweep never deletes it.`,
      { title: 'ttl' }
    );
    return undefined;
  }
  return expiryStamp(Date.now(), config.ttlMs);
}
