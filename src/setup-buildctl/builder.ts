import * as core from '@actions/core';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TLS_ENV, type BuildkitTls, type KubeWorkload } from '../lib/buildkit/index.js';
import { tempDir } from '../lib/runner.js';
import { registerSecret } from '../lib/secrets.js';
import { STATE } from '../lib/state.js';
import type { SetupConfig, TlsInputs } from './config.js';
import { startKubernetesBuilder, stopKubernetesBuilder } from './kubernetes.js';
import { stopLocalBuilder } from './local.js';
import { resolveWorkload } from './workload.js';

export { startLocalBuilder } from './local.js';

/**
 * The builder's life: buildkitd started on the runner or as a pod, the TLS files for a remote
 * one, each recorded in the state before it can fail, and all of it undone by the post step.
 */

/**
 * Starts buildkitd as a pod in the cluster (the seed's in-cluster builder), by default the
 * `moby/buildkit` image of the same version as the buildctl just installed, and returns its
 * kube-pod:// address. The post step deletes the pod.
 */
export async function startBuilderPod(config: SetupConfig, version: string): Promise<string> {
  const { kubeconfig, context } = config.kubernetes;
  const builder = await startKubernetesBuilder(
    {
      namespace: config.kubernetes.namespace,
      image: config.kubernetes.image ?? `docker.io/moby/buildkit:${version}`,
      flags: config.buildkitdFlags,
      config: config.buildkitdConfig,
      registryCa: config.kubernetes.registryCa,
      kubeconfig,
      context,
      timeoutMs: config.timeoutMs
    },
    created => STATE.setup.kubeBuilder.save({ ...created, kubeconfig, context })
  );
  // buildctl reaches kube-pod:// through kubectl, which reads KUBECONFIG.
  if (kubeconfig) core.exportVariable('KUBECONFIG', kubeconfig);
  return builder.addr;
}

/**
 * An existing in-cluster builder (`kube-service://`, `kube-deployment://`): the kube-pod://
 * address of a Ready pod behind it. Nothing is started, so the post step has nothing to undo.
 */
export async function findWorkloadPod(
  config: SetupConfig,
  workload: KubeWorkload
): Promise<string> {
  const { kubeconfig, context } = config.kubernetes;
  const addr = await resolveWorkload(workload, {
    kubeconfig,
    context,
    timeoutMs: config.timeoutMs
  });
  // buildctl reaches kube-pod:// through kubectl, which reads KUBECONFIG.
  if (kubeconfig) core.exportVariable('KUBECONFIG', kubeconfig);
  return addr;
}

/**
 * Writes the TLS material to a private directory (0700, files 0600) under RUNNER_TEMP and exports
 * the paths (BUILDKIT_TLS_*) for the buildctl calls of later steps; the post step removes it.
 */
export function writeTlsFiles(inputs: TlsInputs): BuildkitTls {
  registerSecret(inputs.key);
  const dir = tempDir('buildkit-tls');
  STATE.setup.tlsDir.save(dir);
  const write = (name: string, pem: string | undefined): string | undefined => {
    if (!pem) return undefined;
    const file = path.join(dir, name);
    writeFileSync(file, pem, { mode: 0o600 });
    return file;
  };
  const tls: BuildkitTls = {
    ca: write('ca.pem', inputs.ca),
    cert: write('cert.pem', inputs.cert),
    key: write('key.pem', inputs.key),
    serverName: inputs.serverName
  };
  for (const [field, variable] of Object.entries(TLS_ENV)) {
    const value = tls[field as keyof BuildkitTls];
    if (value) core.exportVariable(variable, value);
  }
  return tls;
}

/** Stops the buildkitd this action started and removes its directory. */
export async function stopBuilder(): Promise<void> {
  await stopLocalBuilder();
  const builder = STATE.setup.kubeBuilder.get();
  if (builder) {
    const { namespace, pod, configMap, kubeconfig, context } = builder;
    await stopKubernetesBuilder({ namespace, pod, configMap }, { kubeconfig, context });
  }
  const dir = STATE.setup.tlsDir.get();
  if (dir) {
    rmSync(dir, { recursive: true, force: true });
    core.info(`Removed ${dir}`);
  }
}
