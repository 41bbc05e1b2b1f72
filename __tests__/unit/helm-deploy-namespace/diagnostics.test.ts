import { describe, expect, it } from '@jest/globals';
import type { CoreV1Event, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import {
  collectDiagnostics,
  describePod,
  eventsOf,
  explainPullError,
  failingContainers,
  formatEvents,
  groupCauses,
  isPodReady,
  lastLineOf,
  manifestNotes,
  podCauses,
  registryOf
} from '../../../src/helm-deploy-namespace/diagnostics.js';
import type { KubeClient } from '../../../src/lib/kube/index.js';

/**
 * Pods and events shaped as the stack's real node reported them (messages verbatim from kubelet
 * v1.37 and containerd v2.4), trimmed to the fields diagnostics read.
 */
const TLS_IMAGE =
  '127.0.0.1:25000/slipway/sample-app@sha256:13e22bede0dcfff1b981295eb12fccc2740307bacd1b12b529e5a6295f31c863';
const MISSING_TAG = '127.0.0.1:25001/slipway/sample-app:does-not-exist';
const AUTH_ERROR = `failed to pull and unpack image "${TLS_IMAGE}": failed to resolve image: pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials`;
const NOT_FOUND_ERROR = `rpc error: code = NotFound desc = failed to pull and unpack image "${MISSING_TAG}": failed to resolve image: ${MISSING_TAG}: not found`;
const UNSCHEDULABLE =
  "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) had untolerated taint(s). preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
const PROBE_REFUSED =
  'Readiness probe failed: Get "http://10.244.0.145:8080/healthz": dial tcp 10.244.0.145:8080: connect: connection refused';

function container(
  state: V1ContainerStatus['state'],
  extra: Partial<V1ContainerStatus> = {}
): V1ContainerStatus {
  return {
    name: 'app',
    image: TLS_IMAGE,
    imageID: '',
    ready: false,
    restartCount: 0,
    state,
    ...extra
  };
}

function pod(
  name: string,
  statuses: V1ContainerStatus[],
  spec: Partial<NonNullable<V1Pod['spec']>> = {},
  conditions: NonNullable<V1Pod['status']>['conditions'] = [
    {
      type: 'Ready',
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [app]'
    }
  ]
): V1Pod {
  return {
    metadata: { name, uid: `uid-${name}` },
    spec: { containers: [{ name: 'app', image: statuses[0]?.image ?? TLS_IMAGE }], ...spec },
    status: { phase: 'Pending', conditions, containerStatuses: statuses }
  };
}

function event(
  podName: string,
  reason: string,
  message: string,
  extra: Partial<CoreV1Event> = {}
): CoreV1Event {
  return {
    metadata: {},
    involvedObject: { kind: 'Pod', name: podName, uid: `uid-${podName}` },
    type: 'Warning',
    reason,
    message,
    ...extra
  };
}

const ready = (name: string): V1Pod => ({
  metadata: { name },
  status: {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'True' }],
    containerStatuses: [container({ running: {} }, { ready: true })]
  }
});

describe('formatEvents', () => {
  it('prints type, reason, object, count and message, keeping the last 25', () => {
    const events = Array.from({ length: 30 }, (_, i) =>
      event('web-1', 'BackOff', ` back-off ${i} `, { count: i })
    );
    const lines = formatEvents(events);
    expect(lines).toHaveLength(25);
    expect(lines[0]).toBe('Warning BackOff Pod/web-1 (x5): back-off 5');
    expect(formatEvents([{ metadata: {}, involvedObject: {} }])).toEqual(['Normal  /: ']);
  });
});

describe('isPodReady and describePod', () => {
  it('counts Ready and Succeeded pods as ready', () => {
    expect(isPodReady(ready('a'))).toBe(true);
    expect(isPodReady({ status: { phase: 'Succeeded' } })).toBe(true);
    expect(isPodReady(pod('b', [container({ running: {} })]))).toBe(false);
    expect(isPodReady({})).toBe(false);
  });

  it('lists failed conditions and each container state', () => {
    const lines = describePod(
      pod(
        'web-1',
        [
          container(
            { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } },
            { restartCount: 2 }
          ),
          container({ terminated: { reason: 'OOMKilled', exitCode: 137 } }, { name: 'side' }),
          container({ running: {} }, { name: 'probe' })
        ],
        {},
        [
          { type: 'PodScheduled', status: 'True' },
          { type: 'Ready', status: 'False', reason: 'ContainersNotReady' }
        ]
      )
    );
    expect(lines).toEqual([
      'Pod web-1: phase Pending',
      '  condition Ready=False (ContainersNotReady)',
      '  container app: waiting: CrashLoopBackOff (back-off 10s), 2 restart(s)',
      '  container side: terminated: OOMKilled exit 137',
      '  container probe: running, not ready (readiness probe failing?)'
    ]);
  });
});

describe('failingContainers', () => {
  it('reads the previous run only of a container waiting to restart', () => {
    const p = pod('web-1', [
      container({ waiting: { reason: 'CrashLoopBackOff' } }, { name: 'loop', restartCount: 3 }),
      container({ terminated: { exitCode: 1 } }, { name: 'exited', restartCount: 1 }),
      container({ running: {} }, { name: 'unready' }),
      container({ running: {} }, { name: 'fine', ready: true }),
      container({ waiting: { reason: 'ErrImagePull' } }, { name: 'pull' })
    ]);
    expect(failingContainers(p)).toEqual([
      { container: 'loop', previous: true },
      { container: 'exited', previous: false },
      { container: 'unready', previous: false }
    ]);
  });
});

describe('registryOf and explainPullError', () => {
  it('finds the registry host of a reference', () => {
    expect(registryOf(TLS_IMAGE)).toBe('127.0.0.1:25000');
    expect(registryOf('ghcr.io/o/app:1')).toBe('ghcr.io');
    expect(registryOf('localhost/app')).toBe('localhost');
    expect(registryOf('library/nginx')).toBe('docker.io');
    expect(registryOf('nginx')).toBe('docker.io');
  });

  it('says the registry refused, and whether the pod had a pull secret', () => {
    expect(explainPullError(AUTH_ERROR, TLS_IMAGE, [])).toBe(
      "the registry 127.0.0.1:25000 refused the pull (unauthorized) and the pod has no image pull secret: set image-pull-secret (or the chart's imagePullSecrets)"
    );
    expect(explainPullError('401 Unauthorized', 'ghcr.io/o/app', ['regcred', 'other'])).toBe(
      "the registry ghcr.io refused the pull with the pod's image pull secret(s) regcred, other: check that they exist in the namespace and hold valid credentials for ghcr.io"
    );
    expect(explainPullError('403 Forbidden', 'ghcr.io/o/app', [])).toContain('refused the pull');
  });

  it('tells a missing image, an untrusted or unreachable registry, and nothing else', () => {
    expect(explainPullError(NOT_FOUND_ERROR, MISSING_TAG, [])).toBe(
      '127.0.0.1:25001 has no such image (not found): check the repository, tag or digest'
    );
    expect(explainPullError('manifest unknown', 'ghcr.io/o/app', [])).toContain('not found');
    expect(
      explainPullError('x509: certificate signed by unknown authority', 'r.example/a', [])
    ).toBe('the node does not trust the TLS certificate of r.example');
    expect(explainPullError('dial tcp: lookup r.example: no such host', 'r.example/a', [])).toBe(
      'the node cannot reach r.example'
    );
    expect(explainPullError('something else', 'r.example/a', [])).toBe('');
  });
});

describe('podCauses', () => {
  it('ErrImagePull without a pull secret: the image, the refusal and the kubelet words', () => {
    const p = pod('web-1', [
      container({ waiting: { reason: 'ErrImagePull', message: AUTH_ERROR } })
    ]);
    expect(podCauses(p, [])).toEqual([
      `image ${TLS_IMAGE} cannot be pulled (ErrImagePull): the registry 127.0.0.1:25000 refused the pull (unauthorized) and the pod has no image pull secret: set image-pull-secret (or the chart's imagePullSecrets). Kubelet: ${AUTH_ERROR}`
    ]);
  });

  it('ImagePullBackOff: the registry answer comes from the pull event, not the back-off', () => {
    const p = pod(
      'web-1',
      [
        container({
          waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${TLS_IMAGE}"` }
        })
      ],
      { imagePullSecrets: [{ name: 'regcred' }] }
    );
    const events = [
      event('web-1', 'Failed', `Failed to pull image "${TLS_IMAGE}": ${AUTH_ERROR}`),
      event('web-1', 'Failed', 'Error: ImagePullBackOff'),
      event('web-2', 'Failed', `Failed to pull image "x": not found`)
    ];
    const [cause] = podCauses(p, events);
    expect(cause).toContain(`image ${TLS_IMAGE} cannot be pulled (ImagePullBackOff)`);
    expect(cause).toContain("with the pod's image pull secret(s) regcred");
    expect(cause).toContain(`. Kubelet: ${AUTH_ERROR}`);
  });

  it('a missing tag: not found, without the rpc wrapper', () => {
    const p = pod('web-1', [
      container({ waiting: { reason: 'ErrImagePull', message: NOT_FOUND_ERROR } }, {})
    ]);
    p.spec!.containers[0]!.image = MISSING_TAG;
    expect(podCauses(p, [])).toEqual([
      `image ${MISSING_TAG} cannot be pulled (ErrImagePull): 127.0.0.1:25001 has no such image (not found): check the repository, tag or digest. Kubelet: failed to pull and unpack image "${MISSING_TAG}": failed to resolve image: ${MISSING_TAG}: not found`
    ]);
  });

  it('CrashLoopBackOff: the exit code of the last run and its last log line', () => {
    const p = pod('web-1', [
      container(
        { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting' } },
        { restartCount: 1, lastState: { terminated: { exitCode: 1, reason: 'Error' } } }
      )
    ]);
    const log = new Map([
      ['app', '2026/12/07 06:04:44 listen tcp: address bad: missing port in address']
    ]);
    expect(podCauses(p, [], log)).toEqual([
      'container app exits with code 1 (Error) and waits in CrashLoopBackOff, 1 restart; its last log line: 2026/12/07 06:04:44 listen tcp: address bad: missing port in address'
    ]);
  });

  it('a container that just exited, and one killed by its liveness probe', () => {
    const exited = pod('web-1', [
      container({ terminated: { exitCode: 2, reason: 'Error' } }, { restartCount: 0 })
    ]);
    expect(podCauses(exited, [])).toEqual(['container app exits with code 2 (Error)']);
    const killed = pod('web-2', [
      container(
        { waiting: { reason: 'CrashLoopBackOff' } },
        { restartCount: 3, lastState: { terminated: { exitCode: 2, reason: 'Error' } } }
      )
    ]);
    const events = [event('web-2', 'Unhealthy', 'Liveness probe failed: HTTP probe failed')];
    expect(podCauses(killed, events)[0]).toBe(
      'container app exits with code 2 (Error) and waits in CrashLoopBackOff, 3 restarts; killed by its liveness probe: Liveness probe failed: HTTP probe failed'
    );
  });

  it('OOMKilled: the exit code and the memory limit', () => {
    const p = pod(
      'web-1',
      [
        container(
          { waiting: { reason: 'CrashLoopBackOff' } },
          { restartCount: 2, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }
        )
      ],
      { containers: [{ name: 'app', resources: { limits: { memory: '32Mi' } } }] }
    );
    expect(podCauses(p, [])).toEqual([
      "container app was OOMKilled (exit 137, memory limit 32Mi), 2 restarts: it needs more memory than its limit; raise resources.limits.memory or lower the app's use"
    ]);
    const noLimit = pod('web-2', [
      container({ terminated: { exitCode: 137, reason: 'OOMKilled' } }, { restartCount: 1 })
    ]);
    expect(podCauses(noLimit, [])[0]).toMatch(
      /^container app was OOMKilled \(exit 137\), 1 restart:/
    );
  });

  it('a readiness probe that never passes: the latest probe failure and its count', () => {
    const p = pod('web-1', [container({ running: {} })]);
    const events = [
      event('web-1', 'Unhealthy', 'Readiness probe failed: older', { count: 1 }),
      event('web-1', 'Unhealthy', PROBE_REFUSED, { count: 4 })
    ];
    expect(podCauses(p, events)).toEqual([
      `container app runs but never becomes Ready: ${PROBE_REFUSED} (x4)`
    ]);
    expect(podCauses(p, [])).toEqual([
      'container app runs but never becomes Ready: no probe failure reported yet (a slow start, or a readiness probe with a long initial delay?)'
    ]);
  });

  it('running again after a crash without a probe complaint: the crash', () => {
    const p = pod('web-1', [
      container(
        { running: {} },
        { restartCount: 1, lastState: { terminated: { exitCode: 1, reason: 'Error' } } }
      )
    ]);
    expect(podCauses(p, [])).toEqual(['container app exits with code 1 (Error), 1 restart']);
  });

  it('Pending: the scheduler reason without the preemption tail', () => {
    const p: V1Pod = {
      metadata: { name: 'web-1' },
      status: {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: UNSCHEDULABLE
          }
        ]
      }
    };
    expect(podCauses(p, [])).toEqual([
      "cannot be scheduled (Unschedulable): 0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) had untolerated taint(s). Check nodeSelector, affinity, tolerations and resource requests."
    ]);
  });

  it('a container that cannot start, and the latest Warning when nothing else is known', () => {
    const config = pod('web-1', [
      container({
        waiting: {
          reason: 'CreateContainerConfigError',
          message: 'secret "db" not found'
        }
      })
    ]);
    expect(podCauses(config, [])).toEqual([
      'container app cannot start (CreateContainerConfigError): secret "db" not found'
    ]);
    const creating = pod('web-2', [container({ waiting: { reason: 'ContainerCreating' } })]);
    const events = [
      event('web-2', 'FailedMount', 'MountVolume.SetUp failed: configmap "x" not found'),
      event('web-2', 'Scheduled', 'assigned', { type: 'Normal' })
    ];
    expect(podCauses(creating, events)).toEqual([
      'FailedMount: MountVolume.SetUp failed: configmap "x" not found'
    ]);
    expect(podCauses(creating, [])).toEqual([]);
  });

  it('init containers are diagnosed too', () => {
    const p: V1Pod = {
      metadata: { name: 'web-1' },
      spec: { containers: [], initContainers: [{ name: 'migrate', image: 'r.example/m:1' }] },
      status: {
        initContainerStatuses: [
          container(
            { waiting: { reason: 'CrashLoopBackOff' } },
            {
              name: 'migrate',
              restartCount: 4,
              lastState: { terminated: { exitCode: 3, reason: 'Error' } }
            }
          )
        ]
      }
    };
    expect(podCauses(p, [])[0]).toMatch(/^container migrate exits with code 3 \(Error\)/);
  });
});

describe('eventsOf, groupCauses, lastLineOf, manifestNotes', () => {
  it("keeps a pod's own events, telling a recreated pod of the same name by uid", () => {
    const p = pod('web-1', []);
    const own = event('web-1', 'Failed', 'x');
    const older = event('web-1', 'Failed', 'y', {
      involvedObject: { kind: 'Pod', name: 'web-1', uid: 'uid-old' }
    });
    const noUid = event('web-1', 'Failed', 'z', { involvedObject: { kind: 'Pod', name: 'web-1' } });
    const replicaSet = event('web-1', 'Failed', 'w', {
      involvedObject: { kind: 'ReplicaSet', name: 'web-1' }
    });
    expect(eventsOf(p, [own, older, noUid, replicaSet])).toEqual([own, noUid]);
  });

  it('names pods failing for the same reason together', () => {
    expect(
      groupCauses([
        { pod: 'a', cause: 'x' },
        { pod: 'b', cause: 'y' },
        { pod: 'c', cause: 'x' }
      ])
    ).toEqual(['Pods a, c: x', 'Pod b: y']);
  });

  it('takes the last non-empty log line', () => {
    expect(lastLineOf('one\ntwo  \n\n')).toBe('two');
    expect(lastLineOf('')).toBeUndefined();
  });

  it('warns about LoadBalancer Services only', () => {
    expect(
      manifestNotes([
        { apiVersion: 'v1', kind: 'Service', name: 'lb', serviceType: 'LoadBalancer' },
        { apiVersion: 'v1', kind: 'Service', name: 'ip', serviceType: 'ClusterIP' }
      ])
    ).toEqual([expect.stringMatching(/^Service lb is type LoadBalancer/)]);
  });
});

describe('collectDiagnostics', () => {
  const crashing = pod('web-2', [
    container(
      { waiting: { reason: 'CrashLoopBackOff' } },
      { restartCount: 1, lastState: { terminated: { exitCode: 1, reason: 'Error' } } }
    )
  ]);

  function fakeKube(options: {
    pods?: V1Pod[] | Error;
    events?: CoreV1Event[] | Error;
    log?: string | Error;
  }): { kube: KubeClient; logCalls: unknown[][] } {
    const logCalls: unknown[][] = [];
    const answer = <T>(value: T | Error | undefined, fallback: T) =>
      value instanceof Error ? Promise.reject(value) : Promise.resolve(value ?? fallback);
    const kube = {
      listPods: () => answer(options.pods, []),
      listEvents: () => answer(options.events, []),
      podLogTail: (...args: unknown[]) => {
        logCalls.push(args);
        return answer(options.log, '');
      }
    } as unknown as KubeClient;
    return { kube, logCalls };
  }

  const input = {
    namespace: 'ns',
    status: {
      name: 'web',
      namespace: 'ns',
      revision: 2,
      status: 'failed',
      chart: 'sample-app-0.1.0',
      description: 'Upgrade "web" failed: context deadline exceeded',
      manifest: ''
    },
    history: [
      {
        revision: 1,
        status: 'deployed',
        chart: 'sample-app-0.1.0',
        description: 'Install complete'
      },
      { revision: 2, status: 'failed', chart: 'sample-app-0.1.0', description: 'Upgrade failed' }
    ],
    resources: []
  };

  it('puts the causes first, then events, pods and the previous run’s log', async () => {
    const { kube, logCalls } = fakeKube({
      pods: [ready('web-1'), crashing],
      events: [event('web-2', 'BackOff', 'Back-off restarting failed container app')],
      log: 'sample-app listening on bad\nlisten tcp: address bad: missing port in address\n'
    });
    const { report, causes } = await collectDiagnostics(kube, input);
    expect(causes).toEqual([
      'Pod web-2: container app exits with code 1 (Error) and waits in CrashLoopBackOff, 1 restart; its last log line: listen tcp: address bad: missing port in address'
    ]);
    expect(logCalls).toEqual([['ns', 'web-2', 'app', 20, true]]);
    const order = [
      'Release web: failed, revision 2 (sample-app-0.1.0) — Upgrade "web" failed',
      'History:\n  1 deployed',
      `Why pods are not Ready:\n${causes[0]}`,
      'Events in ns:\nWarning BackOff Pod/web-2',
      'Pods not Ready:\nPod web-2: phase Pending',
      'Last 20 log lines of web-2/app (previous run):\nsample-app listening on bad'
    ].map(text => {
      const at = report.indexOf(text);
      expect({ text, found: at >= 0 }).toEqual({ text, found: true });
      return at;
    });
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(report).not.toContain('web-1');
  });

  it('says "none" and gives no cause when every pod is Ready', async () => {
    const { kube } = fakeKube({ pods: [ready('web-1')] });
    // Helm 4's status JSON names no chart: no empty parentheses.
    const status = { ...input.status, chart: '' };
    const { report, causes } = await collectDiagnostics(kube, { ...input, status, history: [] });
    expect(report).toMatch(/^Release web: failed, revision 2 — Upgrade/);
    expect(causes).toEqual([]);
    expect(report).toContain('Pods not Ready: none');
    expect(report).toContain('Events in ns:\n  (none)');
    expect(report).not.toContain('Why pods are not Ready');
  });

  it('keeps going when events, pods or logs cannot be read', async () => {
    const denied = new Error('events is forbidden: User "ci" cannot list\nmore');
    const partial = await collectDiagnostics(
      fakeKube({ pods: [crashing], events: denied, log: new Error('log gone') }).kube,
      input
    );
    expect(partial.report).toContain(
      'Events: could not be listed (events is forbidden: User "ci" cannot list)'
    );
    expect(partial.report).toContain(
      'Last 20 log lines of web-2/app (previous run): unavailable (log gone)'
    );
    expect(partial.causes).toEqual([
      'Pod web-2: container app exits with code 1 (Error) and waits in CrashLoopBackOff, 1 restart'
    ]);
    const noPods = await collectDiagnostics(fakeKube({ pods: new Error('nope') }).kube, input);
    expect(noPods.report).toContain('Pods: could not be listed (nope)');
    expect(noPods.causes).toEqual([]);
  });
});
