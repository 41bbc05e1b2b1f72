import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type {
  AppsV1Api,
  CoreV1Api,
  CoreV1Event,
  KubeConfig,
  V1ConfigMap,
  V1Namespace,
  V1Pod,
  V1ServiceAccount,
  V1Secret
} from '@kubernetes/client-node';
import { SlipwayError } from './errors.js';
import { isTransientError, isTransientStatus, withRetry, type RetryOptions } from './retry.js';

/**
 * Kubernetes API access through `@kubernetes/client-node` (no kubectl). The client is ~5 MB of
 * bundled code, so it is imported lazily, only by the first call that talks to a cluster: actions
 * that fail input validation, or never need a cluster, start fast. Every API failure is mapped to a
 * `SlipwayError` that names the server, the object and — for RBAC denials — the Role rule that
 * would grant the missing permission.
 */

type ClientNode = typeof import('@kubernetes/client-node');

let clientNode: Promise<ClientNode> | undefined;

/** The client library, imported on first use and shared afterwards. */
export function loadClientNode(): Promise<ClientNode> {
  clientNode ??= import('@kubernetes/client-node');
  return clientNode;
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
  const k8s = await loadClientNode();
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

/** What an API call was trying to do, so that failures can name it. */
export interface KubeOperation {
  verb: 'get' | 'list' | 'create' | 'patch' | 'update' | 'delete';
  /** Plural resource, as RBAC names it: `secrets`, `namespaces`. */
  resource: string;
  /** API group; `''` is the core group. */
  group: string;
  /** Kind for messages: `Secret`, `Namespace`. */
  kind: string;
  /** Absent for cluster-scoped resources. */
  namespace?: string | undefined;
  name?: string | undefined;
}

/** `Secret "x" in namespace "y"` / `Namespace "x"`. */
export function describeObject(operation: KubeOperation): string {
  const name = operation.name ? ` "${operation.name}"` : 's';
  const where = operation.namespace ? ` in namespace "${operation.namespace}"` : '';
  return `${operation.kind}${name}${where}`;
}

/** The RBAC rule that grants `operation`: a Role for namespaced objects, else a ClusterRole. */
export function rbacRuleYaml(operation: KubeOperation): string {
  const namespaced = operation.namespace !== undefined;
  const roleName = `slipway-${operation.verb}-${operation.resource}`;
  return [
    'apiVersion: rbac.authorization.k8s.io/v1',
    `kind: ${namespaced ? 'Role' : 'ClusterRole'}`,
    'metadata:',
    `  name: ${roleName}`,
    ...(namespaced ? [`  namespace: ${operation.namespace}`] : []),
    'rules:',
    `  - apiGroups: ["${operation.group}"]`,
    `    resources: ["${operation.resource}"]`,
    `    verbs: ["${operation.verb}"]`,
    // create cannot be limited by name (the object does not exist yet when RBAC is checked).
    ...(operation.name && operation.verb !== 'create'
      ? [`    resourceNames: ["${operation.name}"]`]
      : [])
  ].join('\n');
}

/** The fields of client-node's `ApiException` this module reads. */
interface ApiFailure {
  code: number;
  body?: unknown;
}

function isApiFailure(error: unknown): error is ApiFailure {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && code >= 100 && code < 600;
}

/** The `message` of a Kubernetes Status body (names users and verbs, never Secret data). */
export function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const message = (parsed as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message.trim() ? message.trim() : undefined;
}

/** Network failures (refused, reset, DNS, timeouts) and 429/5xx answers are worth a retry. */
export function isTransientKubeError(error: unknown): boolean {
  if (isApiFailure(error)) return isTransientStatus(error.code);
  return isTransientError(error);
}

const TLS_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_TLS_|ERR_SSL_)/;

function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

/** Turns any failure of `operation` against `server` into a clear, secret-free `SlipwayError`. */
export function mapKubeError(error: unknown, operation: KubeOperation, server: string): Error {
  if (error instanceof SlipwayError) return error;
  const object = describeObject(operation);
  if (isApiFailure(error)) {
    const detail = statusMessage(error.body);
    switch (error.code) {
      case 401:
        return new SlipwayError(
          `The Kubernetes API server at ${server} rejected the credentials (401 Unauthorized) while trying to ${operation.verb} ${object}.`,
          {
            hint: 'The token or client certificate in the kubeconfig is invalid or expired; refresh the kubeconfig or the service-account token.',
            cause: error
          }
        );
      case 403:
        return new SlipwayError(
          `Forbidden: the Kubernetes credentials may not "${operation.verb}" resource "${operation.resource}"` +
            `${operation.group ? ` (API group "${operation.group}")` : ''}` +
            `${operation.namespace ? ` in namespace "${operation.namespace}"` : ' (cluster-scoped)'}` +
            `, needed to ${operation.verb} ${object}.${detail ? ` Server said: ${detail}` : ''}`,
          {
            hint: `Grant it with a ${operation.namespace ? 'Role' : 'ClusterRole'} bound to the identity above:\n${rbacRuleYaml(operation)}`,
            cause: error
          }
        );
      case 404:
        return new SlipwayError(`${object} was not found (server ${server}).`, {
          hint: operation.namespace
            ? `Check the name and the namespace; kubectl get ${operation.resource} -n ${operation.namespace}`
            : `Check the name; kubectl get ${operation.resource}`,
          cause: error
        });
      default:
        return new SlipwayError(
          `The Kubernetes API server at ${server} answered HTTP ${error.code} to ${operation.verb} ${object}${detail ? `: ${detail}` : '.'}`,
          { cause: error }
        );
    }
  }
  const codes = errorCodes(error);
  const tlsCode = codes.find(code => TLS_CODES.test(code));
  if (tlsCode) {
    return new SlipwayError(
      `TLS verification of the Kubernetes API server at ${server} failed (${tlsCode}).`,
      {
        hint: 'Check the cluster certificate-authority data in the kubeconfig.',
        cause: error
      }
    );
  }
  if (isTransientError(error)) {
    return new SlipwayError(
      `The Kubernetes API server at ${server} is unreachable (${codes[0] ?? 'network error'}) while trying to ${operation.verb} ${object}.`,
      {
        hint: 'Check the server address in the kubeconfig, that the cluster is running and that this runner can reach it.',
        cause: error
      }
    );
  }
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return new SlipwayError(
    `Kubernetes API call to ${operation.verb} ${object} at ${server} failed: ${message}`,
    { cause: error }
  );
}

export interface KubeClientOptions extends KubeConfigOptions {
  /** Retries of transient failures (network errors, 429, 5xx). */
  retry?: Omit<RetryOptions, 'isTransient'>;
}

export type EnsureNamespaceResult = 'created' | 'updated' | 'unchanged';

/** The Kubernetes operations Slipway's actions need, each retried and error-mapped. */
export class KubeClient {
  private apps: AppsV1Api | undefined;

  private constructor(
    readonly target: KubeTarget,
    private readonly api: CoreV1Api,
    private readonly k8s: ClientNode,
    private readonly retry: Omit<RetryOptions, 'isTransient'>
  ) {}

  static async connect(options: KubeClientOptions = {}): Promise<KubeClient> {
    const target = await loadKubeConfig(options);
    const k8s = await loadClientNode();
    return new KubeClient(
      target,
      target.config.makeApiClient(k8s.CoreV1Api),
      k8s,
      options.retry ?? {}
    );
  }

  /** `request`'s answer, or `fallback` when the object does not exist (404). */
  private async unlessNotFound<T, F>(fallback: F, request: () => Promise<T>): Promise<T | F> {
    try {
      return await request();
    } catch (error) {
      if (isNotFound(error)) return fallback;
      throw error;
    }
  }

  /** Runs one API call with retries of transient failures and error mapping. */
  async call<T>(operation: KubeOperation, request: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(() => request().catch(rethrowWithCode), {
        attempts: 4,
        baseDelayMs: 1000,
        description: `${operation.verb} ${describeObject(operation)}`,
        ...this.retry,
        isTransient: isTransientKubeError
      });
    } catch (error) {
      throw mapKubeError(error, operation, this.target.server);
    }
  }

  readSecret(namespace: string, name: string): Promise<V1Secret> {
    return this.call(secretOperation('get', namespace, name), () =>
      this.api.readNamespacedSecret({ namespace, name })
    );
  }

  /** The namespace, or `undefined` when it does not exist. */
  async readNamespace(name: string): Promise<V1Namespace | undefined> {
    return this.unlessNotFound(undefined, () =>
      this.call(namespaceOperation('get', name), () => this.api.readNamespace({ name }))
    );
  }

  /** Creates the namespace or patches its labels/annotations; idempotent. */
  async ensureNamespace(
    name: string,
    labels: Record<string, string> = {},
    annotations: Record<string, string> = {}
  ): Promise<EnsureNamespaceResult> {
    const existing = await this.readNamespace(name);
    if (!existing) {
      const created = await this.createNamespace(name, labels, annotations);
      if (created) return 'created';
    }
    const current = existing ?? (await this.readNamespace(name));
    if (current && metadataContains(current, labels, annotations)) return 'unchanged';
    await this.call(namespaceOperation('patch', name), () =>
      this.api.patchNamespace(
        { name, body: { metadata: { labels, annotations } } },
        this.k8s.setHeaderOptions('Content-Type', this.k8s.PatchStrategy.MergePatch)
      )
    );
    return 'updated';
  }

  /** False when another writer created it first (409): the caller then patches. */
  private async createNamespace(
    name: string,
    labels: Record<string, string>,
    annotations: Record<string, string>
  ): Promise<boolean> {
    try {
      await this.call(namespaceOperation('create', name), () =>
        this.api.createNamespace({ body: { metadata: { name, labels, annotations } } })
      );
      return true;
    } catch (error) {
      if (apiCode(error) === 409) return false;
      throw error;
    }
  }

  /**
   * Labels of the Secrets matching `labelSelector`. The server is asked for metadata only
   * (PartialObjectMetadataList), so Secret data never reaches this process.
   */
  async listSecretLabels(
    namespace: string,
    labelSelector: string
  ): Promise<Array<{ labels?: Record<string, string> | undefined }>> {
    const list = await this.call(
      { verb: 'list', resource: 'secrets', group: '', kind: 'Secret', namespace },
      () =>
        this.api.listNamespacedSecret(
          { namespace, labelSelector },
          this.k8s.setHeaderOptions('Accept', METADATA_ONLY)
        )
    );
    return list.items.map(item => ({ labels: item.metadata?.labels }));
  }

  async createPod(namespace: string, body: V1Pod): Promise<V1Pod> {
    return this.call(
      {
        verb: 'create',
        resource: 'pods',
        group: '',
        kind: 'Pod',
        namespace,
        name: body.metadata?.name
      },
      () => this.api.createNamespacedPod({ namespace, body })
    );
  }

  /** The pod, or `undefined` when it does not exist. */
  async readPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return this.unlessNotFound(undefined, () =>
      this.call({ verb: 'get', resource: 'pods', group: '', kind: 'Pod', namespace, name }, () =>
        this.api.readNamespacedPod({ namespace, name })
      )
    );
  }

  /** Deletes the pod right away (no grace period); false when it was already gone. */
  async deletePod(namespace: string, name: string): Promise<boolean> {
    return this.unlessNotFound(false, async () => {
      await this.call(
        { verb: 'delete', resource: 'pods', group: '', kind: 'Pod', namespace, name },
        () => this.api.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 })
      );
      return true;
    });
  }

  async createConfigMap(namespace: string, body: V1ConfigMap): Promise<V1ConfigMap> {
    return this.call(
      {
        verb: 'create',
        resource: 'configmaps',
        group: '',
        kind: 'ConfigMap',
        namespace,
        name: body.metadata?.name
      },
      () => this.api.createNamespacedConfigMap({ namespace, body })
    );
  }

  async deleteConfigMap(namespace: string, name: string): Promise<boolean> {
    return this.unlessNotFound(false, async () => {
      await this.call(
        { verb: 'delete', resource: 'configmaps', group: '', kind: 'ConfigMap', namespace, name },
        () => this.api.deleteNamespacedConfigMap({ namespace, name })
      );
      return true;
    });
  }

  /** The namespace's events, oldest first (diagnostics). */
  async listEvents(namespace: string): Promise<CoreV1Event[]> {
    const list = await this.call(
      { verb: 'list', resource: 'events', group: '', kind: 'Event', namespace },
      () => this.api.listNamespacedEvent({ namespace, limit: 500 })
    );
    return [...list.items].sort((a, b) => eventTime(a) - eventTime(b));
  }

  async listPods(namespace: string, labelSelector?: string): Promise<V1Pod[]> {
    const list = await this.call(
      { verb: 'list', resource: 'pods', group: '', kind: 'Pod', namespace },
      () => this.api.listNamespacedPod({ namespace, labelSelector })
    );
    return list.items;
  }

  /** The last lines of a container's log (`previous` for the crashed instance). */
  async podLogTail(
    namespace: string,
    pod: string,
    container: string,
    tailLines: number,
    previous = false
  ): Promise<string> {
    return this.call(
      { verb: 'get', resource: 'pods/log', group: '', kind: 'Pod log', namespace, name: pod },
      () => this.api.readNamespacedPodLog({ namespace, name: pod, container, tailLines, previous })
    );
  }

  /** Ready and wanted replicas of a Deployment or StatefulSet, `undefined` when it is gone. */
  async workloadReadiness(
    kind: 'Deployment' | 'StatefulSet',
    namespace: string,
    name: string
  ): Promise<{ ready: number; wanted: number } | undefined> {
    this.apps ??= this.target.config.makeApiClient(this.k8s.AppsV1Api);
    const apps = this.apps;
    const resource = kind === 'Deployment' ? 'deployments' : 'statefulsets';
    const object = await this.unlessNotFound(undefined, () =>
      this.call({ verb: 'get', resource, group: 'apps', kind, namespace, name }, () =>
        kind === 'Deployment'
          ? apps.readNamespacedDeployment({ namespace, name })
          : apps.readNamespacedStatefulSet({ namespace, name })
      )
    );
    if (!object) return undefined;
    return { ready: object.status?.readyReplicas ?? 0, wanted: object.spec?.replicas ?? 1 };
  }

  /** The Secret, or `undefined` when it does not exist. */
  async findSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    return this.unlessNotFound(undefined, () => this.readSecret(namespace, name));
  }

  /**
   * Creates the Secret, or replaces the one read before when `metadata.resourceVersion` is set
   * (a concurrent writer then makes this fail with 409 instead of being overwritten).
   */
  async writeSecret(namespace: string, body: V1Secret): Promise<V1Secret> {
    const name = body.metadata?.name ?? '';
    return body.metadata?.resourceVersion
      ? this.call(secretOperation('update', namespace, name), () =>
          this.api.replaceNamespacedSecret({ namespace, name, body })
        )
      : this.call(secretOperation('create', namespace, name), () =>
          this.api.createNamespacedSecret({ namespace, body })
        );
  }

  /** Deletes the Secret; false when it did not exist. */
  async deleteSecret(namespace: string, name: string): Promise<boolean> {
    return this.unlessNotFound(false, async () => {
      await this.call(secretOperation('delete', namespace, name), () =>
        this.api.deleteNamespacedSecret({ namespace, name })
      );
      return true;
    });
  }

  /** The ServiceAccount, or `undefined` when it does not exist (yet: a new namespace's
   * `default` is made by the controller manager a moment after the namespace). */
  async findServiceAccount(namespace: string, name: string): Promise<V1ServiceAccount | undefined> {
    return this.unlessNotFound(undefined, () =>
      this.call(serviceAccountOperation('get', namespace, name), () =>
        this.api.readNamespacedServiceAccount({ namespace, name })
      )
    );
  }

  /** Creates the ServiceAccount, or replaces the one read before (see `writeSecret`). */
  async writeServiceAccount(namespace: string, body: V1ServiceAccount): Promise<V1ServiceAccount> {
    const name = body.metadata?.name ?? '';
    return body.metadata?.resourceVersion
      ? this.call(serviceAccountOperation('update', namespace, name), () =>
          this.api.replaceNamespacedServiceAccount({ namespace, name, body })
        )
      : this.call(serviceAccountOperation('create', namespace, name), () =>
          this.api.createNamespacedServiceAccount({ namespace, body })
        );
  }

  /** Deletes the namespace; false when it did not exist. Deletion finishes asynchronously. */
  async deleteNamespace(name: string): Promise<boolean> {
    return this.unlessNotFound(false, async () => {
      await this.call(namespaceOperation('delete', name), () => this.api.deleteNamespace({ name }));
      return true;
    });
  }
}

const METADATA_ONLY = 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io';

function eventTime(event: CoreV1Event): number {
  const stamp = event.lastTimestamp ?? event.eventTime ?? event.metadata.creationTimestamp;
  return stamp ? new Date(stamp).getTime() : 0;
}

function secretOperation(
  verb: KubeOperation['verb'],
  namespace: string,
  name: string
): KubeOperation {
  return { verb, resource: 'secrets', group: '', kind: 'Secret', namespace, name };
}

function serviceAccountOperation(
  verb: KubeOperation['verb'],
  namespace: string,
  name: string
): KubeOperation {
  return { verb, resource: 'serviceaccounts', group: '', kind: 'ServiceAccount', namespace, name };
}

function namespaceOperation(verb: KubeOperation['verb'], name: string): KubeOperation {
  return { verb, resource: 'namespaces', group: '', kind: 'Namespace', name };
}

/**
 * undici reports network failures as "fetch failed" with the errno code two causes deep; the
 * retry log line shows only the message, so the code is lifted into it (the cause is kept).
 */
function rethrowWithCode(error: unknown): never {
  if (isApiFailure(error) || !(error instanceof Error)) throw error;
  const code = errorCodes(error)[0];
  if (!code || error.message.includes(code)) throw error;
  throw Object.assign(new Error(`${error.message} (${code})`, { cause: error }), { code });
}

/** The HTTP status behind a mapped or raw API failure. */
export function apiCode(error: unknown): number | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (isApiFailure(current)) return current.code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isNotFound(error: unknown): boolean {
  return apiCode(error) === 404;
}

/** Whether the object already carries every wanted label and annotation. */
export function metadataContains(
  object: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } },
  labels: Record<string, string>,
  annotations: Record<string, string>
): boolean {
  const has = (actual: Record<string, string> | undefined, wanted: Record<string, string>) =>
    Object.entries(wanted).every(([key, value]) => actual?.[key] === value);
  return has(object.metadata?.labels, labels) && has(object.metadata?.annotations, annotations);
}
