import * as core from '@actions/core';
import { SlipwayError } from '../lib/errors.js';
import type { Context } from './context.js';

import { CREATED_FOR_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './ownership.js';

export type NamespaceState = 'created' | 'updated' | 'unchanged' | 'missing';

/** Creates the namespace (marked as Slipway's) or brings its labels and annotations up to date. */
export async function prepareNamespace(ctx: Context): Promise<NamespaceState> {
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
  if (config.dryRun) return existing ? 'unchanged' : 'missing';
  core.debug(`Namespace ${config.namespace} ${existing ? 'exists' : 'is created by this step'}`);
  const labels = existing
    ? config.namespaceLabels
    : { ...config.namespaceLabels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
  const annotations = existing
    ? config.namespaceAnnotations
    : { ...config.namespaceAnnotations, [CREATED_FOR_ANNOTATION]: config.release };
  const state = await kube.ensureNamespace(config.namespace, labels, annotations);
  core.info(`Namespace ${config.namespace}: ${state}`);
  return state;
}
