import type {
  CoreV1Event,
  V1ConfigMap,
  V1Deployment,
  V1Namespace,
  V1Pod,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1StatefulSet
} from '@kubernetes/client-node';
import { withRetry, type RetryOptions } from '../retry.js';
import { proxyGet, type ProxyResponse } from './proxy.js';
import { loadKubeConfig, type KubeConfigOptions, type KubeTarget } from './config.js';
import {
  apiCode,
  describeObject,
  isNotFound,
  isTransientKubeError,
  mapKubeError,
  operation,
  rethrowWithCode,
  type KubeOperation,
  type ResourceType
} from './errors.js';
import { apiJson, apiText, resourcePath, type ApiRequest } from './rest.js';

export interface KubeClientOptions extends KubeConfigOptions {
  /** Retries of transient failures (network errors, 429, 5xx). */
  retry?: Omit<RetryOptions, 'isTransient'>;
}

export type EnsureNamespaceResult = 'created' | 'updated' | 'unchanged';

/** A list answer's items. */
interface List<T> {
  items: T[];
}

/**
 * The Kubernetes operations Slipway's actions need, each retried and error-mapped. Requests go
 * through rest.ts (REST paths over node:https); client-node provides the kubeconfig handling and
 * the types.
 */
export class KubeClient {
  private constructor(
    readonly target: KubeTarget,
    private readonly retry: Omit<RetryOptions, 'isTransient'>
  ) {}

  static async connect(options: KubeClientOptions = {}): Promise<KubeClient> {
    return new KubeClient(await loadKubeConfig(options), options.retry ?? {});
  }

  /** One JSON request to the API server (not retried: see `call`). */
  private request<T>(request: ApiRequest): Promise<T> {
    return apiJson<T>(this.target, request);
  }

  /** GET of one object of the table, by name. */
  private readObject<T>(type: ResourceType, namespace: string | undefined, name: string) {
    return () => this.request<T>({ path: resourcePath(type, namespace, name) });
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

  /** One object of the table, or `undefined` when it does not exist. */
  find<T>(type: ResourceType, namespace: string | undefined, name: string): Promise<T | undefined> {
    return this.unlessNotFound(undefined, () =>
      this.call(operation('get', type, namespace, name), this.readObject<T>(type, namespace, name))
    );
  }

  /** The items of a list of one resource of the table. */
  private async list<T>(
    type: ResourceType,
    namespace: string | undefined,
    query: ApiRequest['query'] = {}
  ): Promise<T[]> {
    const list = await this.call(operation('list', type, namespace), () =>
      this.request<List<T>>({ path: resourcePath(type, namespace), query })
    );
    return list.items ?? [];
  }

  /** Creates `body` in `namespace` (cluster-scoped when undefined). */
  private create<T>(type: ResourceType, namespace: string | undefined, body: T): Promise<T> {
    const name = (body as { metadata?: { name?: string } }).metadata?.name;
    return this.call(operation('create', type, namespace, name), () =>
      this.request<T>({ method: 'POST', path: resourcePath(type, namespace), body })
    );
  }

  /** Deletes one object of the table; false when it did not exist. */
  remove(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: Pick<ApiRequest, 'query' | 'body'> = {}
  ): Promise<boolean> {
    return this.unlessNotFound(false, async () => {
      await this.call(operation('delete', type, namespace, name), () =>
        this.request({ method: 'DELETE', path: resourcePath(type, namespace, name), ...options })
      );
      return true;
    });
  }

  /**
   * Creates `body`, or replaces the object read before when `metadata.resourceVersion` is set
   * (a concurrent writer then makes this fail with 409 instead of being overwritten).
   */
  write<T extends { metadata?: { name?: string; resourceVersion?: string } }>(
    type: ResourceType,
    namespace: string,
    body: T
  ): Promise<T> {
    const name = body.metadata?.name ?? '';
    if (!body.metadata?.resourceVersion) return this.create(type, namespace, body);
    return this.call(operation('update', type, namespace, name), () =>
      this.request<T>({ method: 'PUT', path: resourcePath(type, namespace, name), body })
    );
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
    return this.call(
      operation('get', 'Secret', namespace, name),
      this.readObject<V1Secret>('Secret', namespace, name)
    );
  }

  /** The namespace, or `undefined` when it does not exist. */
  async readNamespace(name: string): Promise<V1Namespace | undefined> {
    return this.find('Namespace', undefined, name);
  }

  /**
   * Creates the namespace or patches its labels/annotations; idempotent. `read`: the namespace as
   * the caller has just read it (`readNamespace`), so it is not asked for twice.
   */
  async ensureNamespace(
    name: string,
    labels: Record<string, string> = {},
    annotations: Record<string, string> = {},
    read?: { namespace: V1Namespace | undefined }
  ): Promise<EnsureNamespaceResult> {
    const existing = read ? read.namespace : await this.readNamespace(name);
    if (!existing) {
      const created = await this.createNamespace(name, labels, annotations);
      if (created) return 'created';
    }
    const current = existing ?? (await this.readNamespace(name));
    if (current && metadataContains(current, labels, annotations)) return 'unchanged';
    await this.call(operation('patch', 'Namespace', undefined, name), () =>
      this.request({
        method: 'PATCH',
        path: resourcePath('Namespace', undefined, name),
        contentType: 'application/merge-patch+json',
        body: { metadata: { labels, annotations } }
      })
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
      await this.create<V1Namespace>('Namespace', undefined, {
        metadata: { name, labels, annotations }
      });
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
    const list = await this.call(operation('list', 'Secret', namespace), () =>
      this.request<{ items?: Array<{ metadata?: { labels?: Record<string, string> } }> }>({
        path: resourcePath('Secret', namespace),
        query: { labelSelector },
        accept: METADATA_ONLY
      })
    );
    return (list.items ?? []).map(item => ({ labels: item.metadata?.labels }));
  }

  async createPod(namespace: string, body: V1Pod): Promise<V1Pod> {
    return this.create('Pod', namespace, body);
  }

  /** The pod, or `undefined` when it does not exist. */
  async readPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return this.find('Pod', namespace, name);
  }

  /** Deletes the pod right away (no grace period); false when it was already gone. */
  async deletePod(namespace: string, name: string): Promise<boolean> {
    return this.remove('Pod', namespace, name, { query: { gracePeriodSeconds: 0 } });
  }

  async createConfigMap(namespace: string, body: V1ConfigMap): Promise<V1ConfigMap> {
    return this.create('ConfigMap', namespace, body);
  }

  /** The Secret, or `undefined` when it does not exist. */
  async findSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    return this.find('Secret', namespace, name);
  }

  /** Creates the Secret, or replaces the one read before (see `write`). */
  async writeSecret(namespace: string, body: V1Secret): Promise<V1Secret> {
    return this.write('Secret', namespace, body);
  }

  /** Deletes the Secret; false when it did not exist. */
  async deleteSecret(namespace: string, name: string): Promise<boolean> {
    return this.remove('Secret', namespace, name);
  }

  /** The ServiceAccount, or `undefined` when it does not exist (a new namespace's `default` is
   * made by the controller manager a moment after the namespace). */
  async findServiceAccount(namespace: string, name: string): Promise<V1ServiceAccount | undefined> {
    return this.find('ServiceAccount', namespace, name);
  }

  /** Creates the ServiceAccount, or replaces the one read before (see `write`). */
  async writeServiceAccount(namespace: string, body: V1ServiceAccount): Promise<V1ServiceAccount> {
    return this.write('ServiceAccount', namespace, body);
  }

  async deleteConfigMap(namespace: string, name: string): Promise<boolean> {
    return this.remove('ConfigMap', namespace, name);
  }

  /** The namespace's events, oldest first (diagnostics). */
  async listEvents(namespace: string): Promise<CoreV1Event[]> {
    const events = await this.list<CoreV1Event>('Event', namespace, { limit: 500 });
    return [...events].sort((a, b) => eventTime(a) - eventTime(b));
  }

  async listPods(namespace: string, labelSelector?: string): Promise<V1Pod[]> {
    return this.list<V1Pod>('Pod', namespace, { labelSelector });
  }

  /** The last lines of a container's log (`previous` for the crashed instance). */
  async podLogTail(
    namespace: string,
    pod: string,
    container: string,
    tailLines: number,
    previous = false
  ): Promise<string> {
    return this.call(operation('get', 'PodLog', namespace, pod), () =>
      apiText(this.target, {
        path: resourcePath('PodLog', namespace, pod, 'log'),
        query: { container, tailLines, previous },
        accept: '*/*'
      })
    );
  }

  /** The Service, or `undefined` when it does not exist. */
  async findService(namespace: string, name: string): Promise<V1Service | undefined> {
    return this.find('Service', namespace, name);
  }

  /** The Deployment, or `undefined` when it does not exist. */
  async findDeployment(namespace: string, name: string): Promise<V1Deployment | undefined> {
    return this.find('Deployment', namespace, name);
  }

  /** Ready and wanted replicas of a Deployment or StatefulSet, `undefined` when it is gone. */
  async workloadReadiness(
    kind: 'Deployment' | 'StatefulSet',
    namespace: string,
    name: string
  ): Promise<{ ready: number; wanted: number } | undefined> {
    const object = await this.find<V1Deployment | V1StatefulSet>(kind, namespace, name);
    if (!object) return undefined;
    return { ready: object.status?.readyReplicas ?? 0, wanted: object.spec?.replicas ?? 1 };
  }

  /** GET `path` from a Service port through the API server's service proxy (see proxy.ts). */
  proxyGet(
    namespace: string,
    service: string,
    port: number | string,
    path: string,
    timeoutMs: number
  ): Promise<ProxyResponse> {
    return proxyGet(this.target, { namespace, service, port, path, timeoutMs });
  }

  /** The namespaces matching `labelSelector` (a cluster-scoped list). */
  async listNamespaces(labelSelector: string): Promise<V1Namespace[]> {
    return this.list<V1Namespace>('Namespace', undefined, { labelSelector });
  }

  /**
   * Deletes the namespace; false when it did not exist. Deletion finishes asynchronously. With
   * `resourceVersion`, only the namespace as it was read: one changed since fails with 409.
   */
  async deleteNamespace(name: string, resourceVersion?: string): Promise<boolean> {
    const body = resourceVersion ? { preconditions: { resourceVersion } } : undefined;
    return this.remove('Namespace', undefined, name, { body });
  }
}

const METADATA_ONLY = 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io';

function eventTime(event: CoreV1Event): number {
  const stamp = event.lastTimestamp ?? event.eventTime ?? event.metadata.creationTimestamp;
  return stamp ? new Date(stamp).getTime() : 0;
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
