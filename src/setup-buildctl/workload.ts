import * as core from '@actions/core';
import type { V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import type { KubeWorkload } from '../lib/buildkit/index.js';
import { InputError } from '../lib/errors.js';
import { KubeClient } from '../lib/kube/index.js';
import { poll } from '../lib/retry.js';
import { formatDuration } from '../lib/summary.js';
import { isReady, kubePodAddress, podWaitReason } from './kubernetes.js';

/**
 * An existing in-cluster builder, as the seed runs it (a buildkitd Deployment behind a Service):
 * `kube-service://ns/name` or `kube-deployment://ns/name` resolved to one Ready pod behind it,
 * reached through `kube-pod://` (kubectl exec, as buildx's kubernetes driver does), so a workflow
 * needs no `kubectl port-forward &` and the builder needs no TLS.
 */

/** A label selector as the API's `labelSelector` parameter (pure). */
export function selectorString(selector: V1LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    if (operator === 'In') parts.push(`${key} in (${values.join(',')})`);
    else if (operator === 'NotIn') parts.push(`${key} notin (${values.join(',')})`);
    else if (operator === 'Exists') parts.push(key);
    else if (operator === 'DoesNotExist') parts.push(`!${key}`);
  }
  return parts.join(',');
}

/** The pod to build on: Ready and not being deleted, the oldest first, so steps agree (pure). */
export function pickReadyPod(pods: V1Pod[]): V1Pod | undefined {
  const created = (pod: V1Pod) => new Date(pod.metadata?.creationTimestamp ?? 0).getTime();
  return pods
    .filter(pod => isReady(pod) && !pod.metadata?.deletionTimestamp)
    .sort((a, b) => created(a) - created(b) || podName(a).localeCompare(podName(b)))[0];
}

/** Why no pod is Ready, pod by pod (pure). */
export function noReadyPodReason(pods: V1Pod[], selector: string): string {
  if (pods.length === 0) return `no pod matches its selector ${selector}`;
  return pods
    .slice(0, 5)
    .map(
      pod =>
        `pod ${podName(pod)}: ${pod.metadata?.deletionTimestamp ? 'terminating' : podWaitReason(pod)}`
    )
    .join('; ');
}

/** The container buildctl dials into: `buildkitd` when the pod has several, else the only one. */
export function builderContainer(pod: V1Pod): string | undefined {
  const containers = pod.spec?.containers ?? [];
  if (containers.length < 2) return undefined;
  return (containers.find(c => c.name === 'buildkitd') ?? containers[0])?.name;
}

function podName(pod: V1Pod): string {
  return pod.metadata?.name ?? '';
}

/** The workload's pod selector; a missing workload or one without a selector is the input's fault. */
async function workloadSelector(kube: KubeClient, workload: KubeWorkload): Promise<string> {
  const { kind, namespace, name } = workload;
  const object =
    kind === 'Service'
      ? await kube.findService(namespace, name)
      : await kube.findDeployment(namespace, name);
  if (!object) {
    throw new InputError(
      'addr',
      `is ${workload.addr}, but ${kind} ${namespace}/${name} does not exist.`,
      {
        hint: `Check the names: kubectl -n ${namespace} get ${kind.toLowerCase()}s`
      }
    );
  }
  const selector = selectorString(
    kind === 'Service'
      ? { matchLabels: object.spec?.selector as Record<string, string> | undefined }
      : ((object.spec?.selector as V1LabelSelector | undefined) ?? {})
  );
  if (!selector) {
    throw new InputError(
      'addr',
      `is ${workload.addr}, but ${kind} ${namespace}/${name} has no pod selector.`,
      {
        hint: 'Name the buildkitd Deployment (kube-deployment://ns/name) or its pod (kube-pod://pod?namespace=ns).'
      }
    );
  }
  return selector;
}

/**
 * The `kube-pod://` address of a Ready pod behind the workload, waiting up to `timeoutMs` for one
 * (a rollout in progress); the error names the input and why each pod is not Ready.
 */
export async function resolveWorkload(
  workload: KubeWorkload,
  options: { kubeconfig: string | undefined; context: string | undefined; timeoutMs: number }
): Promise<string> {
  const kube = await KubeClient.connect({
    kubeconfig: options.kubeconfig,
    context: options.context
  });
  const selector = await workloadSelector(kube, workload);
  const { kind, namespace, name } = workload;
  core.debug(`${kind} ${namespace}/${name} selects pods by ${selector}`);
  let pods: V1Pod[] = [];
  const pod = await poll(
    async () => pickReadyPod((pods = await kube.listPods(namespace, selector))),
    { timeoutMs: options.timeoutMs, intervalMs: 2000 }
  );
  if (!pod) {
    throw new InputError(
      'addr',
      `is ${workload.addr}, but no pod behind ${kind} ${namespace}/${name} became Ready within ${formatDuration(options.timeoutMs)}: ${noReadyPodReason(pods, selector)}.`,
      {
        hint: `Check the builder: kubectl -n ${namespace} describe pods -l '${selector}'`
      }
    );
  }
  core.info(`${kind} ${namespace}/${name}: builder pod ${podName(pod)} is Ready`);
  return kubePodAddress(podName(pod), namespace, options.context, builderContainer(pod));
}
