import * as core from '@actions/core';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SlipwayError } from '../lib/errors.js';
import { mergeDockerConfig, type DockerConfig } from '../lib/registry/index.js';
import { dockerConfigDir, isTempDir, tempDir } from '../lib/runner.js';
import { STATE, UNSET_DOCKER_CONFIG } from '../lib/state.js';
import type { ExtractedCredentials } from './credentials.js';

/**
 * The private DOCKER_CONFIG: the runner's current config.json plus the Secret's credentials,
 * written to a 0700 directory and exported; the post step removes it and restores the old value.
 */

const DIR_PREFIX = 'docker-config';

function readExistingConfig(dir: string): DockerConfig {
  const file = path.join(dir, 'config.json');
  if (!existsSync(file)) {
    core.debug(`No ${file}: starting from an empty docker config`);
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as DockerConfig;
    }
  } catch {
    // Fall through: an unreadable config is not ours to repair.
  }
  core.warning(`Ignoring ${file}: it is not a JSON object; its entries are not carried over.`);
  return {};
}

/** A fresh private directory with config.json = the current config plus the new credentials. */
export function writeDockerConfig(extracted: ExtractedCredentials): string {
  const previous = process.env.DOCKER_CONFIG;
  const existing = readExistingConfig(dockerConfigDir());
  const merged = mergeDockerConfig(existing, extracted.credentials);
  if (merged.replaced.length > 0) {
    core.info(`Replacing existing entries for ${merged.replaced.join(', ')}`);
  }
  if (merged.droppedCredsStore) {
    core.warning(
      `Dropped "credsStore": "${merged.droppedCredsStore}" from the copied docker config: a credentials store would hide the written credentials.`
    );
  }
  const dir = tempDir(DIR_PREFIX);
  // Record the directory before anything else can fail, so the post step always removes it.
  STATE.login.dockerConfigDir.save(dir);
  STATE.login.previousDockerConfig.save(previous ?? UNSET_DOCKER_CONFIG);
  writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify(merged.config, null, 2)}\n`, {
    mode: 0o600
  });
  core.exportVariable('DOCKER_CONFIG', dir);
  core.info(
    `Wrote ${extracted.credentials.map(c => c.registry).join(', ')} to ${dir}/config.json and exported DOCKER_CONFIG.`
  );
  return dir;
}

export async function removeCredentials(dir: string): Promise<void> {
  if (!isTempDir(dir, DIR_PREFIX)) {
    throw new SlipwayError(`Refusing to remove ${dir}: it is not a directory this action created.`);
  }
  rmSync(dir, { recursive: true, force: true });
  const previous = STATE.login.previousDockerConfig.get();
  // Later steps of the job see only exported values, so the old value (or empty) is exported.
  core.exportVariable('DOCKER_CONFIG', previous === UNSET_DOCKER_CONFIG ? '' : (previous ?? ''));
  core.info(`Removed ${dir} and restored DOCKER_CONFIG.`);
}
