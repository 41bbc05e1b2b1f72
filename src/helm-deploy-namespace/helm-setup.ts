import * as core from '@actions/core';
import { describeHelm, Helm, startHelmSetup } from '../lib/helm/index.js';
import type { DeployConfig } from './config.js';

/** Helm once it is set up: its group is printed when it is first needed. */
export type HelmWhenReady = () => Promise<Helm>;

/**
 * Starts finding (or installing) helm now. `background`: all it does is ask a helm on PATH for its
 * version, so the caller goes on with the cluster work and awaits `whenReady` only when it needs
 * helm; otherwise (a version to match, the tool cache, a download) the caller awaits it before
 * changing the cluster, so that a failed download leaves the cluster untouched.
 */
export function startHelm(
  config: DeployConfig,
  workDir: string
): { whenReady: HelmWhenReady; background: boolean } {
  const setup = startHelmSetup({
    spec: config.helmVersion,
    downloadUrl: config.helmDownloadUrl,
    token: config.token,
    apiUrl: config.apiUrl
  });
  let helm: Promise<Helm> | undefined;
  const whenReady = () =>
    (helm ??= core
      .group('Helm', async () => {
        const binary = await setup.ready;
        core.info(describeHelm(binary));
        return binary;
      })
      .then(binary => new Helm(binary, workDir)));
  return { whenReady, background: setup.background };
}
