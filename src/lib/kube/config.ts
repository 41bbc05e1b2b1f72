import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { SlipwayError } from '../errors.js';

/**
 * Which kubeconfig (and context) an action talks to: the kubeconfig input, KUBECONFIG, ~/.kube/config
 * or the in-cluster service account, resolved once and described for the log. Only client-node's
 * kubeconfig module is loaded (its KubeConfig: files, contexts, credentials, auth plugins,
 * proxies), lazily, by the first call that talks to a cluster; the requests themselves go through
 * rest.ts, so the generated API classes and models are never loaded (scripts/patch-deps.mjs keeps
 * them out of the bundle).
 */

type KubeConfigModule = typeof import('@kubernetes/client-node/dist/config.js');

let kubeConfigModule: Promise<KubeConfigModule> | undefined;

/** client-node's kubeconfig module, imported on first use and shared afterwards. */
export function loadKubeConfigModule(): Promise<KubeConfigModule> {
  kubeConfigModule ??= import('@kubernetes/client-node/dist/config.js');
  return kubeConfigModule;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeConfigOptions {
  /** Explicit kubeconfig path (the `kubeconfig` input); wins over everything else. */
  kubeconfig?: string | undefined;
  /** Context to use instead of the file's current-context (the `context` input). */
  context?: string | undefined;
}

/** Where the configuration comes from, in kubectl's order of precedence. */
export type KubeConfigSource =
  | { kind: 'files'; files: string[]; origin: 'input' | 'KUBECONFIG' | 'home' }
  | { kind: 'in-cluster' };

export interface SourceEnvironment {
  env: NodeJS.ProcessEnv;
  home: string;
  exists: (file: string) => boolean;
}

const defaultEnvironment = (): SourceEnvironment => ({
  env: process.env,
  home: homedir(),
  exists: existsSync
});

/**
 * The `kubeconfig` input, else `KUBECONFIG` (a path list, as kubectl reads it), else the in-cluster
 * service account, else `~/.kube/config`. Pure, so the precedence is unit-tested.
 */
export function resolveKubeConfigSource(
  options: KubeConfigOptions,
  environment: SourceEnvironment = defaultEnvironment()
): KubeConfigSource {
  const { env, exists } = environment;
  if (options.kubeconfig) {
    if (!exists(options.kubeconfig)) {
      throw new SlipwayError(`The kubeconfig file ${options.kubeconfig} does not exist.`, {
        hint: 'Set the "kubeconfig" input to the path of a kubeconfig file written by an earlier step.'
      });
    }
    return { kind: 'files', files: [options.kubeconfig], origin: 'input' };
  }
  const listed = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  if (listed.length > 0) {
    const present = listed.filter(file => exists(file));
    if (present.length === 0) {
      throw new SlipwayError(`KUBECONFIG names no existing file (${listed.join(', ')}).`, {
        hint: 'Point KUBECONFIG or the "kubeconfig" input at a kubeconfig file.'
      });
    }
    return { kind: 'files', files: present, origin: 'KUBECONFIG' };
  }
  if (
    env.KUBERNETES_SERVICE_HOST &&
    env.KUBERNETES_SERVICE_PORT &&
    exists(path.join(SERVICE_ACCOUNT_DIR, 'token'))
  ) {
    return { kind: 'in-cluster' };
  }
  const homeConfig = path.join(environment.home, '.kube', 'config');
  if (exists(homeConfig)) return { kind: 'files', files: [homeConfig], origin: 'home' };
  throw new SlipwayError('No Kubernetes configuration found.', {
    hint: 'Set the "kubeconfig" input or KUBECONFIG, or run on a runner inside the cluster (in-cluster service account).'
  });
}

/** A loaded configuration with the facts every action logs and uses. */
export interface KubeTarget {
  config: KubeConfig;
  context: string;
  /** API server URL, for messages. */
  server: string;
  /** The context's namespace, else `default`. */
  namespace: string;
}

/** Structural view of the kubeconfig facts `describeTarget` needs; KubeConfig satisfies it. */
export interface KubeConfigFacts {
  getCurrentContext(): string;
  getContexts(): Array<{ name: string; namespace?: string | undefined }>;
  getContextObject(name: string): { name: string; namespace?: string | undefined } | null;
  getCurrentCluster(): { server: string } | null;
}

/** Validates the chosen context and reads its server and default namespace. */
export function describeTarget(
  config: KubeConfigFacts,
  context: string | undefined
): Omit<KubeTarget, 'config'> {
  const names = config.getContexts().map(c => c.name);
  const name = context ?? config.getCurrentContext();
  const chosen = name ? config.getContextObject(name) : null;
  if (!chosen) {
    const available = names.length > 0 ? names.join(', ') : 'none';
    throw new SlipwayError(
      context
        ? `The kubeconfig has no context "${context}" (available: ${available}).`
        : `The kubeconfig has no current context (available: ${available}).`,
      { hint: 'Set the "context" input to one of the available contexts.' }
    );
  }
  return {
    context: chosen.name,
    server: config.getCurrentCluster()?.server ?? 'an unknown server',
    namespace: defaultNamespace(chosen)
  };
}

export function defaultNamespace(context: { namespace?: string | undefined } | null): string {
  return context?.namespace?.trim() || 'default';
}

/** Loads the configuration (lazily importing the client) and selects the context. */
export async function loadKubeConfig(
  options: KubeConfigOptions = {},
  environment: SourceEnvironment = defaultEnvironment()
): Promise<KubeTarget> {
  const source = resolveKubeConfigSource(options, environment);
  const k8s = await loadKubeConfigModule();
  const config = new k8s.KubeConfig();
  try {
    if (source.kind === 'in-cluster') {
      config.loadFromCluster();
    } else {
      const [first = '', ...rest] = source.files;
      config.loadFromFile(first);
      for (const file of rest) {
        const extra = new k8s.KubeConfig();
        extra.loadFromFile(file);
        config.mergeConfig(extra, true);
      }
    }
  } catch (error) {
    const where =
      source.kind === 'in-cluster' ? 'in-cluster configuration' : source.files.join(', ');
    throw new SlipwayError(`Cannot load the Kubernetes configuration from ${where}.`, {
      hint: 'Check that the file is a valid kubeconfig (YAML with clusters, users and contexts).',
      cause: error
    });
  }
  if (options.context) config.setCurrentContext(options.context);
  return { config, ...describeTarget(config, options.context) };
}
