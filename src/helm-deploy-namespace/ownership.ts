/**
 * Marks on the objects Slipway creates (namespaces, pull secrets), so that `action: delete` and
 * later deploys know which ones they may change or remove; anything without them is left alone.
 */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'slipway';
/** On a namespace: the release it was created for. */
export const CREATED_FOR_ANNOTATION = 'slipway.dev/created-for-release';
/** On a pull secret: the releases that pull with it (comma-separated). */
export const USED_BY_ANNOTATION = 'slipway.dev/pull-secret-for';
/** On a namespace: when a sweep may delete it (RFC 3339, UTC), stamped by deploys with `ttl`. */
export const EXPIRES_AT_ANNOTATION = 'slipway.dev/expires-at';

/** Whether Slipway created the object (it carries the managed-by label). */
export function isManaged(object: { metadata?: { labels?: Record<string, string> } }): boolean {
  return object.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}
