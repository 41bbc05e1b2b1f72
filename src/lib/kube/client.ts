import type {
  AppsV1Api,
  CoreV1Api,
  CoreV1Event,
  V1ConfigMap,
  V1Deployment,
  V1Namespace,
  V1Pod,
  V1Secret,
  V1Service,
  V1ServiceAccount
} from '@kubernetes/client-node';
import { withRetry, type RetryOptions } from '../retry.js';
import { apiGet, proxyGet, type ProxyResponse } from './proxy.js';
import {
  loadClientNode,
  loadKubeConfig,
  type KubeConfigOptions,
  type KubeTarget
} from './config.js';
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

type ClientNode = Awaited<ReturnType<typeof loadClientNode>>;

export interface KubeClientOptions extends KubeConfigOptions {
  /** Retries of transient failures (network errors, 429, 5xx). */
  retry?: Omit<RetryOptions, 'isTransient'>;
}

export type EnsureNamespaceResult = 'created' | 'updated' | 'unchanged';

/** An HTTP answer relayed by the API server's proxy: any status, the head of the body. */

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

  /** One object, or `undefined` when it does not exist. */
  private find<T>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    request: () => Promise<T>
  ): Promise<T | undefined> {
    return this.unlessNotFound(undefined, () =>
      this.call(operation('get', type, namespace, name), request)
    );
  }

  /** Deletes one object; false when it did not exist. */
  private remove(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    request: () => Promise<unknown>
  ): Promise<boolean> {
    return this.unlessNotFound(false, async () => {
      await this.call(operation('delete', type, namespace, name), request);
      return true;
    });
  }

  /**
   * Creates `body`, or replaces the object read before when `metadata.resourceVersion` is set
   * (a concurrent writer then makes this fail with 409 instead of being overwritten).
   */
  private write<T>(
    type: ResourceType,
    namespace: string,
    body: { metadata?: { name?: string; resourceVersion?: string } },
    requests: { create: () => Promise<T>; replace: (name: string) => Promise<T> }
  ): Promise<T> {
    const name = body.metadata?.name ?? '';
    return body.metadata?.resourceVersion
      ? this.call(operation('update', type, namespace, name), () => requests.replace(name))
      : this.call(operation('create', type, namespace, name), requests.create);
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
    return this.call(operation('get', 'Secret', namespace, name), () =>
      this.api.readNamespacedSecret({ namespace, name })
    );
  }

  /** The namespace, or `undefined` when it does not exist. */
  async readNamespace(name: string): Promise<V1Namespace | undefined> {
    return this.find('Namespace', undefined, name, () => this.api.readNamespace({ name }));
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
    await this.call(operation('patch', 'Namespace', undefined, name), () =>
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
      await this.call(operation('create', 'Namespace', undefined, name), () =>
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
    // Raw: client-node's typed list reads a PartialObjectMetadataList's items as null.
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets?labelSelector=${encodeURIComponent(labelSelector)}`;
    const list = await this.call(operation('list', 'Secret', namespace), async () => {
      const answer = await apiGet(this.target, path, {
        accept: METADATA_ONLY,
        timeoutMs: 30_000,
        limit: 8 * 1024 * 1024
      });
      if (answer.status !== 200)
        throw Object.assign(new Error(answer.body), { code: answer.status, body: answer.body });
      return JSON.parse(answer.body) as {
        items?: Array<{ metadata?: { labels?: Record<string, string> } }>;
      };
    });
    return (list.items ?? []).map(item => ({ labels: item.metadata?.labels }));
  }

  async createPod(namespace: string, body: V1Pod): Promise<V1Pod> {
    return this.call(operation('create', 'Pod', namespace, body.metadata?.name), () =>
      this.api.createNamespacedPod({ namespace, body })
    );
  }

  /** The pod, or `undefined` when it does not exist. */
  async readPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return this.find('Pod', namespace, name, () => this.api.readNamespacedPod({ namespace, name }));
  }

  /** Deletes the pod right away (no grace period); false when it was already gone. */
  async deletePod(namespace: string, name: string): Promise<boolean> {
    return this.remove('Pod', namespace, name, () =>
      this.api.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 })
    );
  }

  async createConfigMap(namespace: string, body: V1ConfigMap): Promise<V1ConfigMap> {
    return this.call(operation('create', 'ConfigMap', namespace, body.metadata?.name), () =>
      this.api.createNamespacedConfigMap({ namespace, body })
    );
  }

  /** The Secret, or `undefined` when it does not exist. */
  async findSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    return this.unlessNotFound(undefined, () => this.readSecret(namespace, name));
  }

  /** Creates the Secret, or replaces the one read before (see `write`). */
  async writeSecret(namespace: string, body: V1Secret): Promise<V1Secret> {
    return this.write('Secret', namespace, body, {
      create: () => this.api.createNamespacedSecret({ namespace, body }),
      replace: name => this.api.replaceNamespacedSecret({ namespace, name, body })
    });
  }

  /** Deletes the Secret; false when it did not exist. */
  async deleteSecret(namespace: string, name: string): Promise<boolean> {
    return this.remove('Secret', namespace, name, () =>
      this.api.deleteNamespacedSecret({ namespace, name })
    );
  }

  /** The ServiceAccount, or `undefined` when it does not exist (a new namespace's `default` is
   * made by the controller manager a moment after the namespace). */
  async findServiceAccount(namespace: string, name: string): Promise<V1ServiceAccount | undefined> {
    return this.find('ServiceAccount', namespace, name, () =>
      this.api.readNamespacedServiceAccount({ namespace, name })
    );
  }

  /** Creates the ServiceAccount, or replaces the one read before (see `write`). */
  async writeServiceAccount(namespace: string, body: V1ServiceAccount): Promise<V1ServiceAccount> {
    return this.write('ServiceAccount', namespace, body, {
      create: () => this.api.createNamespacedServiceAccount({ namespace, body }),
      replace: name => this.api.replaceNamespacedServiceAccount({ namespace, name, body })
    });
  }

  async deleteConfigMap(namespace: string, name: string): Promise<boolean> {
    return this.remove('ConfigMap', namespace, name, () =>
      this.api.deleteNamespacedConfigMap({ namespace, name })
    );
  }

  /** The namespace's events, oldest first (diagnostics). */
  async listEvents(namespace: string): Promise<CoreV1Event[]> {
    const list = await this.call(operation('list', 'Event', namespace), () =>
      this.api.listNamespacedEvent({ namespace, limit: 500 })
    );
    return [...list.items].sort((a, b) => eventTime(a) - eventTime(b));
  }

  async listPods(namespace: string, labelSelector?: string): Promise<V1Pod[]> {
    const list = await this.call(operation('list', 'Pod', namespace), () =>
      this.api.listNamespacedPod({ namespace, labelSelector })
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
    return this.call(operation('get', 'PodLog', namespace, pod), () =>
      this.api.readNamespacedPodLog({ namespace, name: pod, container, tailLines, previous })
    );
  }

  /** The Service, or `undefined` when it does not exist. */
  async findService(namespace: string, name: string): Promise<V1Service | undefined> {
    return this.find('Service', namespace, name, () =>
      this.api.readNamespacedService({ namespace, name })
    );
  }

  /** The Deployment, or `undefined` when it does not exist. */
  async findDeployment(namespace: string, name: string): Promise<V1Deployment | undefined> {
    const apps = (this.apps ??= this.target.config.makeApiClient(this.k8s.AppsV1Api));
    return this.find('Deployment', namespace, name, () =>
      apps.readNamespacedDeployment({ namespace, name })
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
    const object = await this.find(kind, namespace, name, () =>
      kind === 'Deployment'
        ? apps.readNamespacedDeployment({ namespace, name })
        : apps.readNamespacedStatefulSet({ namespace, name })
    );
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
    const list = await this.call(operation('list', 'Namespace', undefined), () =>
      this.api.listNamespace({ labelSelector })
    );
    return list.items;
  }

  /**
   * Deletes the namespace; false when it did not exist. Deletion finishes asynchronously. With
   * `resourceVersion`, only the namespace as it was read: one changed since fails with 409.
   */
  async deleteNamespace(name: string, resourceVersion?: string): Promise<boolean> {
    const body = resourceVersion ? { preconditions: { resourceVersion } } : undefined;
    return this.remove('Namespace', undefined, name, () =>
      this.api.deleteNamespace({ name, body })
    );
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
