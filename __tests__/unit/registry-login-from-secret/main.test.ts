import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { STATE } from '../../../src/lib/state.js';
import { main, post } from '../../../src/registry-login-from-secret/main.js';
import { fileCommandEntries } from '../../helpers/action-runner.js';
import { captureStdout } from '../../helpers/capture.js';

/**
 * The post step's guard and restore, and main's validation before any cluster call (the full flow
 * runs against the real stack in the integration test).
 */
const root = mkdtempSync(path.join(tmpdir(), 'slipway-rl-main-'));
const envFile = path.join(root, 'github-env');
const saved = { ...process.env };

beforeEach(() => {
  writeFileSync(envFile, '');
  process.env.GITHUB_ENV = envFile;
});

afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

const STATE_DIR = STATE.login.dockerConfigDir.name;
const STATE_PREVIOUS = STATE.login.previousDockerConfig.name;

function setState(name: string, value: string): void {
  process.env[`STATE_${name}`] = value;
}

describe('post', () => {
  it('removes the config directory and restores the previous DOCKER_CONFIG', async () => {
    const dir = mkdtempSync(path.join(root, 'slipway-docker-config-'));
    writeFileSync(path.join(dir, 'config.json'), '{}');
    setState(STATE_DIR, dir);
    setState(STATE_PREVIOUS, '/home/runner/.docker-custom');
    const { output } = await captureStdout(post);
    expect(existsSync(dir)).toBe(false);
    expect(fileCommandEntries(readFileSync(envFile, 'utf8'))).toEqual([
      { name: 'DOCKER_CONFIG', value: '/home/runner/.docker-custom', form: 'line' }
    ]);
    expect(output).toContain(`Removed ${dir} and restored DOCKER_CONFIG.`);
  });

  it('exports an empty DOCKER_CONFIG when none was set before', async () => {
    setState(STATE_DIR, mkdtempSync(path.join(root, 'slipway-docker-config-')));
    setState(STATE_PREVIOUS, '<unset>');
    await captureStdout(post);
    expect(fileCommandEntries(readFileSync(envFile, 'utf8'))).toEqual([
      { name: 'DOCKER_CONFIG', value: '', form: 'line' }
    ]);
  });

  it('refuses to delete a directory it did not create', async () => {
    const other = path.join(root, 'precious');
    mkdirSync(other);
    setState(STATE_DIR, other);
    await expect(post()).rejects.toThrow(
      `Refusing to remove ${other}: it is not a directory this action created.`
    );
    expect(existsSync(other)).toBe(true);
  });

  it('does nothing when main never wrote a config', async () => {
    const { output } = await captureStdout(post);
    expect(output).toBe('');
    expect(readFileSync(envFile, 'utf8')).toBe('');
  });
});

describe('main', () => {
  it('rejects a missing ca-file before contacting any cluster', async () => {
    process.env['INPUT_SECRET-NAME'] = 'creds';
    process.env['INPUT_CA-FILE'] = path.join(root, 'missing.pem');
    process.env.KUBECONFIG = path.join(root, 'no-such-kubeconfig');
    await expect(main()).rejects.toThrow(
      `Input "ca-file" names a file that does not exist: ${path.join(root, 'missing.pem')}.`
    );
  });

  it('rejects a ca-file without certificates', async () => {
    const pem = path.join(root, 'empty.pem');
    writeFileSync(pem, 'nothing here');
    process.env['INPUT_SECRET-NAME'] = 'creds';
    process.env['INPUT_CA-FILE'] = pem;
    await expect(main()).rejects.toThrow('Input "ca-file" must be a PEM file');
  });
});
