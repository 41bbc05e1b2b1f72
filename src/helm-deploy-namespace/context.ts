import type { Helm, HelmRelease } from '../lib/helm/index.js';
import type { KubeClient } from '../lib/kube/index.js';
import { SummaryBuilder } from '../lib/summary.js';
import type { DeployConfig } from './config.js';

/** What one run of the action works with: the checked config, helm, the cluster. */
export interface Context extends ClusterContext {
  helm: Helm;
}

/** The run before helm is needed (namespace, pull secret, lock): the config and the cluster. */
export interface ClusterContext {
  config: DeployConfig;
  /** Private scratch directory under RUNNER_TEMP (values file, helm's discovery cache). */
  workDir: string;
  kube: KubeClient;
  target: HelmRelease;
  /** When the run started (for the summary's duration). */
  started: number;
}

export interface DeployResult {
  release: string;
  namespace: string;
  revision: number;
  status: string;
  manifestDigest: string;
  kubeconfig?: string | undefined;
  /** The in-cluster URL the smoke check answered on. */
  url?: string | undefined;
  /** The namespace's expiry this deploy stamped (`ttl`). */
  expiresAt?: string | undefined;
}

/** The result of a deploy, dry run or delete: the release and namespace come from the config. */
export function deployResult(
  config: Pick<DeployConfig, 'release' | 'namespace'>,
  outcome: Omit<DeployResult, 'release' | 'namespace' | 'revision' | 'manifestDigest'> &
    Partial<Pick<DeployResult, 'revision' | 'manifestDigest'>>
): DeployResult {
  return {
    release: config.release,
    namespace: config.namespace,
    revision: outcome.revision ?? 0,
    status: outcome.status,
    manifestDigest: outcome.manifestDigest ?? '',
    ...(outcome.kubeconfig ? { kubeconfig: outcome.kubeconfig } : {}),
    ...(outcome.url ? { url: outcome.url } : {}),
    ...(outcome.expiresAt ? { expiresAt: outcome.expiresAt } : {})
  };
}

/** The job summary of every outcome: `helm-deploy-namespace<suffix>`, facts, optional details. */
export async function writeSummary(
  suffix: string,
  facts: Array<[string, string | number | undefined]>,
  details?: [title: string, body: string]
): Promise<void> {
  const summary = new SummaryBuilder().heading(`helm-deploy-namespace${suffix}`).facts(facts);
  if (details) summary.details(...details);
  await summary.write();
}
