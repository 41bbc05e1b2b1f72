import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import type { HistoryEntry, ManifestResource, ReleaseStatus } from '../lib/helm/index.js';
import type { KubeClient } from '../lib/kube/index.js';

/**
 * What to look at when a rollout fails, gathered in one report: the release's status and recent
 * history, the namespace's events, every pod that is not Ready with the reasons Kubernetes gives
 * (unschedulable, image pull, crash loop), and the last lines of failing containers' logs. Each
 * part is collected independently, so one forbidden or failing call leaves the rest.
 */

const EVENT_LIMIT = 25;
const LOG_LINES = 20;
const LOG_CONTAINERS = 4;

export interface DiagnosticsInput {
  namespace: string;
  status: ReleaseStatus | undefined;
  history: HistoryEntry[];
  resources: ManifestResource[];
}

export function formatEvents(events: CoreV1Event[]): string[] {
  return events.slice(-EVENT_LIMIT).map(event => {
    const object = `${event.involvedObject.kind ?? ''}/${event.involvedObject.name ?? ''}`;
    const count = (event.count ?? 1) > 1 ? ` (x${event.count})` : '';
    return `${event.type ?? 'Normal'} ${event.reason ?? ''} ${object}${count}: ${(event.message ?? '').trim()}`;
  });
}

export function isPodReady(pod: V1Pod): boolean {
  return (
    pod.status?.phase === 'Succeeded' ||
    (pod.status?.conditions ?? []).some(c => c.type === 'Ready' && c.status === 'True')
  );
}

/** One line per fact: phase, failed conditions, and each container's waiting/terminated reason. */
export function describePod(pod: V1Pod): string[] {
  const name = pod.metadata?.name ?? '?';
  const lines = [`Pod ${name}: phase ${pod.status?.phase ?? 'Unknown'}`];
  for (const condition of pod.status?.conditions ?? []) {
    if (condition.status === 'True') continue;
    const why = [condition.reason, condition.message].filter(Boolean).join(': ');
    lines.push(`  condition ${condition.type}=${condition.status}${why ? ` (${why})` : ''}`);
  }
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? [])
  ];
  for (const status of statuses) {
    const state = status.state;
    let detail = 'ready';
    if (state?.waiting) {
      detail = `waiting: ${state.waiting.reason ?? ''}${state.waiting.message ? ` (${state.waiting.message})` : ''}`;
    } else if (state?.terminated) {
      detail = `terminated: ${state.terminated.reason ?? ''} exit ${state.terminated.exitCode}`;
    } else if (!status.ready) {
      detail = 'running, not ready (readiness probe failing?)';
    }
    const restarts = status.restartCount ? `, ${status.restartCount} restart(s)` : '';
    lines.push(`  container ${status.name}: ${detail}${restarts}`);
  }
  return lines;
}

/** Containers worth reading the log of: crashed, restarting, or running but never Ready. */
export function failingContainers(pod: V1Pod): Array<{ container: string; previous: boolean }> {
  return (pod.status?.containerStatuses ?? [])
    .filter(
      status =>
        !status.ready &&
        (status.state?.running || status.state?.terminated || status.restartCount > 0)
    )
    .map(status => ({
      container: status.name,
      previous: status.restartCount > 0 && !status.state?.running
    }));
}

/** Known ways a wait never ends that events do not explain. */
export function manifestNotes(resources: ManifestResource[]): string[] {
  return resources
    .filter(resource => resource.kind === 'Service' && resource.serviceType === 'LoadBalancer')
    .map(
      resource =>
        `Service ${resource.name} is type LoadBalancer: without a load-balancer controller (kind, bare metal) it never gets an address and --wait never finishes. Use ClusterIP/NodePort there or install MetalLB.`
    );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
}

/** The whole report as text, for the log group and the job summary. */
export async function collectDiagnostics(
  kube: KubeClient,
  input: DiagnosticsInput
): Promise<string> {
  const sections: string[] = [];
  if (input.status) {
    sections.push(
      `Release ${input.status.name}: ${input.status.status}, revision ${input.status.revision} (${input.status.chart})${input.status.description ? ` — ${input.status.description}` : ''}`
    );
  }
  if (input.history.length > 0) {
    sections.push(
      [
        'History:',
        ...input.history
          .slice(-5)
          .map(h => `  ${h.revision} ${h.status} ${h.chart}: ${h.description}`)
      ].join('\n')
    );
  }
  const notes = manifestNotes(input.resources);
  if (notes.length > 0) sections.push(notes.join('\n'));
  const [events, pods] = await Promise.allSettled([
    kube.listEvents(input.namespace),
    kube.listPods(input.namespace)
  ]);
  if (events.status === 'fulfilled') {
    const lines = formatEvents(events.value);
    sections.push(
      [`Events in ${input.namespace}:`, ...(lines.length ? lines : ['  (none)'])].join('\n')
    );
  } else {
    sections.push(`Events: could not be listed (${messageOf(events.reason)})`);
  }
  if (pods.status === 'fulfilled') {
    const notReady = pods.value.filter(pod => !isPodReady(pod) && !pod.metadata?.deletionTimestamp);
    sections.push(
      notReady.length
        ? ['Pods not Ready:', ...notReady.flatMap(describePod)].join('\n')
        : 'Pods not Ready: none'
    );
    sections.push(...(await logTails(kube, input.namespace, notReady)));
  } else {
    sections.push(`Pods: could not be listed (${messageOf(pods.reason)})`);
  }
  return sections.join('\n\n');
}

async function logTails(kube: KubeClient, namespace: string, pods: V1Pod[]): Promise<string[]> {
  const targets = pods
    .flatMap(pod =>
      failingContainers(pod).map(target => ({ pod: pod.metadata?.name ?? '', ...target }))
    )
    .slice(0, LOG_CONTAINERS);
  const tails = await Promise.all(
    targets.map(async ({ pod, container, previous }) => {
      const title = `Last ${LOG_LINES} log lines of ${pod}/${container}${previous ? ' (previous run)' : ''}:`;
      try {
        const log = await kube.podLogTail(namespace, pod, container, LOG_LINES, previous);
        return `${title}\n${log.trimEnd() || '(empty)'}`;
      } catch (error) {
        return `${title} unavailable (${messageOf(error)})`;
      }
    })
  );
  return tails;
}
