import * as core from '@actions/core';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadKubeConfigModule } from '../lib/kube/index.js';
import { tempDir } from '../lib/runner.js';
import { STATE } from '../lib/state.js';
import type { Context } from './context.js';

/**
 * A copy of the kubeconfig whose current context points at the namespace (kubectl config
 * set-context --current --namespace), exported as KUBECONFIG for later steps. It holds
 * credentials, so it is private and the post step removes it.
 */
export async function writeNamespacedKubeconfig(ctx: Context): Promise<string> {
  const k8s = await loadKubeConfigModule();
  const source = ctx.kube.target.config;
  const copy = new k8s.KubeConfig();
  copy.loadFromOptions({
    clusters: source.clusters,
    users: source.users,
    contexts: source.contexts.map(context =>
      context.name === ctx.kube.target.context
        ? { ...context, namespace: ctx.config.namespace }
        : context
    ),
    currentContext: ctx.kube.target.context
  });
  const dir = tempDir('kubeconfig');
  STATE.deploy.kubeconfigDir.save(dir);
  const file = path.join(dir, 'config');
  writeFileSync(file, copy.exportConfig(), { mode: 0o600 });
  core.exportVariable('KUBECONFIG', file);
  core.info(
    `KUBECONFIG for later steps: ${file} (context ${ctx.kube.target.context}, namespace ${ctx.config.namespace})`
  );
  return file;
}

/** Removes the namespaced kubeconfig copy. */
export async function removeNamespacedKubeconfig(): Promise<void> {
  const dir = STATE.deploy.kubeconfigDir.get();
  if (dir) {
    rmSync(dir, { recursive: true, force: true });
    core.info(`Removed ${dir}`);
  }
}
