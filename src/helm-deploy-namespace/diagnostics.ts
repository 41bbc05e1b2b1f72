import type { CoreV1Event, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { HistoryEntry, ManifestResource, ReleaseStatus } from '../lib/helm/index.js';
import type { KubeClient } from '../lib/kube/index.js';

/**
 * What to look at when a rollout fails, gathered in one report: the release's status and recent
 * history, the namespace's events, every pod that is not Ready with the reasons Kubernetes gives
 * (unschedulable, image pull, crash loop), and the last lines of failing containers' logs. Each
 * part is collected independently, so one forbidden or failing call leaves the rest. From the pods
 * and their events it also says, in one sentence per pod, why the pod is not Ready (`podCauses`):
 * that sentence goes first in the report and into the step's error.
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
      // A container that has exited and not restarted yet still has its own log; one that waits
      // to restart (CrashLoopBackOff) has only its previous run's.
      previous: status.restartCount > 0 && !status.state?.running && !status.state?.terminated
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

/** The pod's own events (by name, and by uid when both sides have one), oldest first. */
export function eventsOf(pod: V1Pod, events: CoreV1Event[]): CoreV1Event[] {
  const name = pod.metadata?.name;
  const uid = pod.metadata?.uid;
  return events.filter(
    event =>
      event.involvedObject.kind === 'Pod' &&
      event.involvedObject.name === name &&
      (!uid || !event.involvedObject.uid || event.involvedObject.uid === uid)
  );
}

const PULL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff']);
const START_REASONS = new Set([
  'CreateContainerConfigError',
  'CreateContainerError',
  'InvalidImageName',
  'RunContainerError',
  'StartError'
]);

/** The registry host of an image reference (`docker.io` when it names none). */
export function registryOf(image: string): string {
  const first = image.split('/')[0] ?? '';
  return image.includes('/') && (/[.:]/.test(first) || first === 'localhost') ? first : 'docker.io';
}

/**
 * What a kubelet's pull error means, for the image and the pod's pull secrets: the registry
 * refused (no or wrong credentials), the image does not exist, the node cannot trust or reach the
 * registry; empty when the message says none of these.
 */
export function explainPullError(message: string, image: string, pullSecrets: string[]): string {
  const registry = registryOf(image);
  if (
    /no basic auth credentials|authorization failed|\b401\b|unauthorized|\b403\b|forbidden|denied/i.test(
      message
    )
  ) {
    return pullSecrets.length === 0
      ? `the registry ${registry} refused the pull (unauthorized) and the pod has no image pull secret: set image-pull-secret (or the chart's imagePullSecrets)`
      : `the registry ${registry} refused the pull with the pod's image pull secret(s) ${pullSecrets.join(', ')}: check that they exist in the namespace and hold valid credentials for ${registry}`;
  }
  if (/not found|manifest unknown|NotFound/i.test(message)) {
    return `${registry} has no such image (not found): check the repository, tag or digest`;
  }
  if (/x509|certificate/i.test(message)) {
    return `the node does not trust the TLS certificate of ${registry}`;
  }
  if (/no such host|connection refused|i\/o timeout|network is unreachable/i.test(message)) {
    return `the node cannot reach ${registry}`;
  }
  return '';
}

/** A kubelet message without the prefixes that repeat what the sentence already says. */
function kubeletDetail(message: string): string {
  return message
    .replace(/^(Failed to pull image|Back-off pulling image) "[^"]*": /, '')
    .replace(/^ErrImagePull: /, '')
    .replace(/rpc error: code = \w+ desc = /g, '')
    .trim();
}

function latestMessage(events: CoreV1Event[], pattern: RegExp): CoreV1Event | undefined {
  return events.filter(event => pattern.test(event.message ?? '')).at(-1);
}

function times(event: CoreV1Event): string {
  return (event.count ?? 1) > 1 ? ` (x${event.count})` : '';
}

function memoryLimit(pod: V1Pod, container: string): string | undefined {
  const spec = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find(
    c => c.name === container
  );
  const limit = spec?.resources?.limits?.memory;
  return limit === undefined ? undefined : String(limit);
}

/** Why one container keeps its pod from being Ready, or undefined when it says nothing (yet). */
function containerCause(
  pod: V1Pod,
  status: V1ContainerStatus,
  podEvents: CoreV1Event[],
  lastLogLine: string | undefined
): string | undefined {
  const name = `container ${status.name}`;
  const waiting = status.state?.waiting;
  const image =
    [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find(
      c => c.name === status.name
    )?.image ?? status.image;
  const restarts = status.restartCount
    ? `, ${status.restartCount} restart${status.restartCount > 1 ? 's' : ''}`
    : '';
  if (waiting?.reason && PULL_REASONS.has(waiting.reason)) {
    // The pull events carry the registry's answer; the waiting message may only say "Back-off".
    const failed = latestMessage(podEvents, /^Failed to pull image/);
    const detail = kubeletDetail(failed?.message ?? waiting.message ?? '');
    const secrets = (pod.spec?.imagePullSecrets ?? []).map(s => s.name ?? '').filter(Boolean);
    const meaning = explainPullError(detail, image, secrets);
    return `image ${image} cannot be pulled (${waiting.reason})${meaning ? `: ${meaning}` : ''}${detail ? `. Kubelet: ${detail}` : ''}`;
  }
  if (waiting?.reason && START_REASONS.has(waiting.reason)) {
    return `${name} cannot start (${waiting.reason})${waiting.message ? `: ${waiting.message.trim()}` : ''}`;
  }
  const ended = status.state?.terminated ?? status.lastState?.terminated;
  if (status.state?.running && !status.ready) {
    const readiness = latestMessage(podEvents, /^Readiness probe failed/);
    const liveness = latestMessage(podEvents, /^Liveness probe failed/);
    const why = [readiness, liveness]
      .filter((event): event is CoreV1Event => event !== undefined)
      .map(event => `${(event.message ?? '').trim()}${times(event)}`);
    // Running again after a crash, with no probe complaint: the crash is the story.
    if (why.length > 0 || !ended) {
      return `${name} runs but never becomes Ready${restarts}: ${why.length ? why.join('; ') : 'no probe failure reported yet (a slow start, or a readiness probe with a long initial delay?)'}`;
    }
  }
  if (ended && (status.restartCount > 0 || status.state?.terminated)) {
    if (ended.reason === 'OOMKilled') {
      const limit = memoryLimit(pod, status.name);
      return `${name} was OOMKilled (exit ${ended.exitCode}${limit ? `, memory limit ${limit}` : ''})${restarts}: it needs more memory than its limit; raise resources.limits.memory or lower the app's use`;
    }
    const liveness = latestMessage(podEvents, /^Liveness probe failed/);
    const killed = liveness
      ? `; killed by its liveness probe: ${(liveness.message ?? '').trim()}`
      : '';
    const log = lastLogLine ? `; its last log line: ${lastLogLine}` : '';
    return `${name} exits with code ${ended.exitCode}${ended.reason ? ` (${ended.reason})` : ''}${waiting?.reason ? ` and waits in ${waiting.reason}` : ''}${restarts}${killed}${log}`;
  }
  return undefined;
}

/**
 * Why a pod is not Ready, one sentence per failing container (or one for the pod when it cannot
 * be scheduled), from its status, its events and its containers' last log lines; the pod's latest
 * Warning event when nothing more specific is known.
 */
export function podCauses(
  pod: V1Pod,
  events: CoreV1Event[],
  lastLogLines: ReadonlyMap<string, string> = new Map()
): string[] {
  const podEvents = eventsOf(pod, events);
  const unschedulable = (pod.status?.conditions ?? []).find(
    c => c.type === 'PodScheduled' && c.status === 'False'
  );
  if (unschedulable) {
    const scheduler =
      unschedulable.message ?? latestMessage(podEvents, /./)?.message ?? 'no reason given';
    return [
      `cannot be scheduled (${unschedulable.reason ?? 'Unschedulable'}): ${scheduler.replace(/ preemption: .*$/, '').trim()} Check nodeSelector, affinity, tolerations and resource requests.`
    ];
  }
  const causes = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? [])
  ]
    .map(status => containerCause(pod, status, podEvents, lastLogLines.get(status.name)))
    .filter((cause): cause is string => cause !== undefined);
  if (causes.length > 0) return causes;
  const warning = podEvents.filter(event => event.type === 'Warning').at(-1);
  return warning ? [`${warning.reason ?? 'Warning'}: ${(warning.message ?? '').trim()}`] : [];
}

/** `Pod a: cause`, with the pods that fail for the same reason named together. */
export function groupCauses(causes: Array<{ pod: string; cause: string }>): string[] {
  const pods = new Map<string, string[]>();
  for (const { pod, cause } of causes) pods.set(cause, [...(pods.get(cause) ?? []), pod]);
  return [...pods].map(
    ([cause, names]) => `${names.length > 1 ? 'Pods' : 'Pod'} ${names.join(', ')}: ${cause}`
  );
}

/** The last non-empty line of a log. */
export function lastLineOf(log: string): string | undefined {
  return log
    .split('\n')
    .map(line => line.trim())
    .filter(Boolean)
    .at(-1);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
}

export interface Diagnostics {
  /** The whole report as text, for the log group and the job summary. */
  report: string;
  /** Why pods are not Ready, one line per cause (empty when nothing is known). */
  causes: string[];
}

/** The report: the release, its history, why pods are not Ready, events, pods, log tails. */
export async function collectDiagnostics(
  kube: KubeClient,
  input: DiagnosticsInput
): Promise<Diagnostics> {
  const sections: string[] = [];
  if (input.status) {
    sections.push(
      `Release ${input.status.name}: ${input.status.status}, revision ${input.status.revision}${input.status.chart ? ` (${input.status.chart})` : ''}${input.status.description ? ` — ${input.status.description}` : ''}`
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
  const eventList = events.status === 'fulfilled' ? events.value : [];
  const details: string[] = [];
  if (events.status === 'fulfilled') {
    const lines = formatEvents(events.value);
    details.push(
      [`Events in ${input.namespace}:`, ...(lines.length ? lines : ['  (none)'])].join('\n')
    );
  } else {
    details.push(`Events: could not be listed (${messageOf(events.reason)})`);
  }
  let causes: string[] = [];
  if (pods.status === 'fulfilled') {
    const notReady = pods.value.filter(pod => !isPodReady(pod) && !pod.metadata?.deletionTimestamp);
    details.push(
      notReady.length
        ? ['Pods not Ready:', ...notReady.flatMap(describePod)].join('\n')
        : 'Pods not Ready: none'
    );
    const tails = await logTails(kube, input.namespace, notReady);
    details.push(...tails.map(tail => tail.text));
    causes = groupCauses(
      notReady.flatMap(pod => {
        const name = pod.metadata?.name ?? '?';
        const lastLines = new Map(
          tails.flatMap(tail =>
            tail.pod === name && tail.lastLine ? [[tail.container, tail.lastLine] as const] : []
          )
        );
        return podCauses(pod, eventList, lastLines).map(cause => ({ pod: name, cause }));
      })
    );
    if (causes.length > 0) sections.push(['Why pods are not Ready:', ...causes].join('\n'));
  } else {
    details.push(`Pods: could not be listed (${messageOf(pods.reason)})`);
  }
  return { report: [...sections, ...details].join('\n\n'), causes };
}

interface LogTail {
  pod: string;
  container: string;
  text: string;
  lastLine?: string | undefined;
}

async function logTails(kube: KubeClient, namespace: string, pods: V1Pod[]): Promise<LogTail[]> {
  const targets = pods
    .flatMap(pod =>
      failingContainers(pod).map(target => ({ pod: pod.metadata?.name ?? '', ...target }))
    )
    .slice(0, LOG_CONTAINERS);
  return Promise.all(
    targets.map(async ({ pod, container, previous }) => {
      const title = `Last ${LOG_LINES} log lines of ${pod}/${container}${previous ? ' (previous run)' : ''}:`;
      try {
        const log = await kube.podLogTail(namespace, pod, container, LOG_LINES, previous);
        return {
          pod,
          container,
          text: `${title}\n${log.trimEnd() || '(empty)'}`,
          lastLine: lastLineOf(log)
        };
      } catch (error) {
        return { pod, container, text: `${title} unavailable (${messageOf(error)})` };
      }
    })
  );
}
