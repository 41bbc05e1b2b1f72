import { chmodSync, mkdtempSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Paths that come from the runner's environment, each worked out here once: the job's temp
 * directory, the workspace, the docker config directory buildctl and helm read credentials from.
 */

/** Every directory Slipway creates under RUNNER_TEMP starts with this. */
export const TEMP_PREFIX = 'slipway-';

/** RUNNER_TEMP (emptied by the runner after each job), else the system temp directory. */
export function runnerTemp(env: Record<string, string | undefined> = process.env): string {
  return env.RUNNER_TEMP || tmpdir();
}

/**
 * A fresh private directory (0700) under RUNNER_TEMP, named `slipway-<prefix>-XXXXXX`: for files
 * that may hold credentials (docker config, kubeconfig, TLS keys) and for scratch files.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(runnerTemp(), `${TEMP_PREFIX}${prefix}-`));
  chmodSync(dir, 0o700);
  return dir;
}

/** Whether `dir` is one `tempDir(prefix)` made (a post step removes only those). */
export function isTempDir(dir: string, prefix: string): boolean {
  return path.basename(dir).startsWith(`${TEMP_PREFIX}${prefix}-`);
}

/** The checkout (GITHUB_WORKSPACE), against which relative path inputs are resolved. */
export function workspace(env: Record<string, string | undefined> = process.env): string {
  return env.GITHUB_WORKSPACE || process.cwd();
}

/** Where docker, buildctl and helm (oci://) read registry credentials right now. */
export function dockerConfigDir(env: Record<string, string | undefined> = process.env): string {
  return env.DOCKER_CONFIG || path.join(homedir(), '.docker');
}
