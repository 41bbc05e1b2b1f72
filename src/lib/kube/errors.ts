import { SlipwayError } from '../errors.js';
import { isTlsErrorCode, isTransientError, isTransientStatus } from '../retry.js';

/**
 * Every API failure mapped to a `SlipwayError` that names the server, the object and — for RBAC
 * denials — the Role rule that would grant the missing permission; and the table of the resources
 * Slipway touches, so each call names its operation in one line.
 */

/** The resources Slipway's actions use, as RBAC and messages name them. */
export const RESOURCES = {
  Secret: { resource: 'secrets', group: '', kind: 'Secret' },
  Namespace: { resource: 'namespaces', group: '', kind: 'Namespace' },
  Pod: { resource: 'pods', group: '', kind: 'Pod' },
  PodLog: { resource: 'pods/log', group: '', kind: 'Pod log' },
  ConfigMap: { resource: 'configmaps', group: '', kind: 'ConfigMap' },
  Service: { resource: 'services', group: '', kind: 'Service' },
  ServiceAccount: { resource: 'serviceaccounts', group: '', kind: 'ServiceAccount' },
  Event: { resource: 'events', group: '', kind: 'Event' },
  Deployment: { resource: 'deployments', group: 'apps', kind: 'Deployment' },
  StatefulSet: { resource: 'statefulsets', group: 'apps', kind: 'StatefulSet' },
  Lease: { resource: 'leases', group: 'coordination.k8s.io', kind: 'Lease' }
} as const;

export type ResourceType = keyof typeof RESOURCES;

/** `verb` on a resource of the table; cluster-scoped when `namespace` is undefined. */
export function operation(
  verb: KubeOperation['verb'],
  type: ResourceType,
  namespace: string | undefined,
  name?: string
): KubeOperation {
  return {
    verb,
    ...RESOURCES[type],
    ...(namespace === undefined ? {} : { namespace }),
    ...(name === undefined ? {} : { name })
  };
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
export interface ApiFailure {
  code: number;
  body?: unknown;
}

export function isApiFailure(error: unknown): error is ApiFailure {
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

export function errorCodes(error: unknown): string[] {
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
  const tlsCode = codes.find(isTlsErrorCode);
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

/**
 * undici reports network failures as "fetch failed" with the errno code two causes deep; the
 * retry log line shows only the message, so the code is lifted into it (the cause is kept).
 */
export function rethrowWithCode(error: unknown): never {
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
