import * as core from '@actions/core';
import type { V1Pod } from '@kubernetes/client-node';
import { SlipwayError } from '../lib/errors.js';
import { KubeClient } from '../lib/kube/index.js';
import { poll } from '../lib/retry.js';
import { formatDuration } from '../lib/summary.js';
import { builtin } from '../lib/builtins.js';

/**
 * `addr: kubernetes`: buildkitd as a pod in the cluster the runner is connected to — the seed's
 * in-cluster builder — reached with buildctl's `kube-pod://` transport (kubectl exec, so no
 * Service, port or TLS is needed). The pod is privileged (rootful buildkitd, as the seed runs it)
 * and labelled so the post step, or an operator, can find and delete it.
 */
export const BUILDER_LABEL = 'slipway.dev/builder';
const CONFIG_MOUNT = '/etc/buildkit';

export interface KubernetesBuilderOptions {
  namespace: string | undefined;
  image: string;
  flags: string[];
  config: string | undefined;
  /** PEM for registries, next to the config in its ConfigMap (`registry-ca.pem`). */
  registryCa: string | undefined;
  kubeconfig: string | undefined;
  context: string | undefined;
  timeoutMs: number;
}

export interface KubernetesBuilder {
  namespace: string;
  pod: string;
  configMap: string | undefined;
  addr: string;
}

/** The builder pod's manifest (pure, unit-tested). */
export function builderPod(
  name: string,
  image: string,
  flags: string[],
  configMap: string | undefined
): V1Pod {
  const labels = {
    'app.kubernetes.io/name': 'buildkitd',
    'app.kubernetes.io/managed-by': 'slipway',
    [BUILDER_LABEL]: name
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'buildkitd',
          image,
          args: [
            '--addr',
            'unix:///run/buildkit/buildkitd.sock',
            ...(configMap ? ['--config', `${CONFIG_MOUNT}/buildkitd.toml`] : []),
            ...flags
          ],
          securityContext: { privileged: true },
          readinessProbe: {
            exec: { command: ['buildctl', 'debug', 'workers'] },
            initialDelaySeconds: 2,
            periodSeconds: 3
          },
          volumeMounts: configMap ? [{ name: 'config', mountPath: CONFIG_MOUNT }] : []
        }
      ],
      volumes: configMap ? [{ name: 'config', configMap: { name: configMap } }] : []
    }
  };
}

/** `kube-pod://pod?namespace=ns[&context=c][&container=c]`, dialled through kubectl exec. */
export function kubePodAddress(
  pod: string,
  namespace: string,
  context: string | undefined,
  container?: string
): string {
  return `kube-pod://${pod}?namespace=${namespace}${context ? `&context=${context}` : ''}${container ? `&container=${container}` : ''}`;
}

/** Why a pod is not Ready yet, from its container states (ImagePullBackOff, CrashLoopBackOff…). */
export function podWaitReason(pod: V1Pod | undefined): string {
  if (!pod) return 'the pod is gone';
  const status = pod.status?.containerStatuses?.[0];
  const waiting = status?.state?.waiting;
  if (waiting?.reason) return `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`;
  const terminated = status?.state?.terminated;
  if (terminated) return `terminated (${terminated.reason ?? 'exit'} ${terminated.exitCode})`;
  const unscheduled = pod.status?.conditions?.find(
    c => c.type === 'PodScheduled' && c.status === 'False'
  );
  if (unscheduled) return `not scheduled: ${unscheduled.message ?? unscheduled.reason ?? ''}`;
  return `phase ${pod.status?.phase ?? 'Pending'}`;
}

export function isReady(pod: V1Pod | undefined): boolean {
  return (pod?.status?.conditions ?? []).some(c => c.type === 'Ready' && c.status === 'True');
}

/**
 * Creates the builder (config map first, when a config is given) and waits until the pod is
 * Ready. `onCreated` runs as soon as something exists, so the post step can clean up even when the
 * wait fails.
 */
export async function startKubernetesBuilder(
  options: KubernetesBuilderOptions,
  onCreated: (builder: KubernetesBuilder) => void
): Promise<KubernetesBuilder> {
  const kube = await KubeClient.connect({
    kubeconfig: options.kubeconfig,
    context: options.context
  });
  const namespace = options.namespace ?? kube.target.namespace;
  const name = `slipway-buildkitd-${builtin.crypto().randomBytes(4).toString('hex')}`;
  const configMap = options.config ? name : undefined;
  const builder: KubernetesBuilder = {
    namespace,
    pod: name,
    configMap,
    addr: kubePodAddress(name, namespace, options.context)
  };
  if (configMap) {
    await kube.createConfigMap(namespace, {
      metadata: {
        name: configMap,
        labels: { 'app.kubernetes.io/managed-by': 'slipway', [BUILDER_LABEL]: name }
      },
      data: {
        'buildkitd.toml': options.config ?? '',
        ...(options.registryCa ? { 'registry-ca.pem': options.registryCa } : {})
      }
    });
    onCreated(builder);
  }
  await kube.createPod(namespace, builderPod(name, options.image, options.flags, configMap));
  onCreated(builder);
  core.info(
    `Created builder pod ${namespace}/${name} (${options.image}); waiting until it is Ready`
  );
  let pod: V1Pod | undefined;
  const outcome = await poll(
    async () => {
      pod = await kube.readPod(namespace, name);
      if (isReady(pod)) return 'ready';
      const phase = pod?.status?.phase;
      return phase === 'Failed' || phase === 'Succeeded' ? 'stopped' : undefined;
    },
    { timeoutMs: options.timeoutMs }
  );
  core.debug(`Builder pod ${namespace}/${name}: ${outcome ?? 'timed out'}`);
  if (outcome === 'ready') return builder;
  throw new SlipwayError(
    `The builder pod ${namespace}/${name} did not become Ready within ${formatDuration(options.timeoutMs)}: ${podWaitReason(pod)}.`,
    {
      hint: 'Check that the cluster can pull builder-image and allows privileged pods in that namespace, or raise timeout.'
    }
  );
}

/** Deletes the builder pod and its config map; a builder already gone is fine. */
export async function stopKubernetesBuilder(
  builder: Pick<KubernetesBuilder, 'namespace' | 'pod' | 'configMap'>,
  options: { kubeconfig: string | undefined; context: string | undefined }
): Promise<void> {
  const kube = await KubeClient.connect(options);
  await kube.deletePod(builder.namespace, builder.pod);
  if (builder.configMap) await kube.deleteConfigMap(builder.namespace, builder.configMap);
  core.info(`Deleted builder pod ${builder.namespace}/${builder.pod}`);
}
