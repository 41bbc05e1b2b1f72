import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../helpers/action-runner.js';
import { freeLoopbackPort } from '../helpers/ports.js';
import {
  MANIFEST_ACCEPT,
  catalogRepositories,
  copySampleApp,
  registryRequest,
  servePlainRegistry,
  writePlainRegistryConfig
} from '../helpers/registry.js';
import { stackFact } from '../helpers/stack.js';

/**
 * components/20-registry.sh prunes, before a registry starts, every repository but the stack's own
 * (STACK_REPOSITORIES in lib.sh) and the blobs only they referenced. Run against a real Debian
 * docker-registry in a private stack directory, holding real images copied from the stack.
 */
const stackDir = mkdtempSync(path.join(tmpdir(), 'slipway-prune-'));
const state = path.join(stackDir, 'registry');
const config = path.join(state, 'plain.yml');
const host = `127.0.0.1:${freeLoopbackPort()}`;
let registry: ChildProcess | undefined;

afterEach(stopRegistry);
afterAll(() => rmSync(stackDir, { recursive: true, force: true }));

async function startRegistry(): Promise<void> {
  registry = await servePlainRegistry(config, host);
  if (!registry) throw new Error(`the private registry could not start on ${host}`);
}

async function stopRegistry(): Promise<void> {
  const running = registry;
  registry = undefined;
  if (!running || running.exitCode !== null) return;
  running.kill('SIGTERM');
  await new Promise(resolve => running.once('exit', resolve));
}

function prune(): string {
  return execFileSync(
    'bash',
    [path.join(projectRoot, 'scripts/stack/components/20-registry.sh'), 'prune_pushed', 'plain'],
    {
      encoding: 'utf8',
      env: { ...process.env, SLIPWAY_STACK_DIR: stackDir, COMPONENT: 'registry' },
      stdio: ['ignore', 'pipe', 'pipe']
    }
  );
}

async function blobsOf(repository: string, reference: string): Promise<string[]> {
  const manifest = JSON.parse(
    (
      await registryRequest(host, `/v2/${repository}/manifests/${reference}`, {
        accept: MANIFEST_ACCEPT
      })
    ).body
  );
  return [
    manifest.config.digest,
    ...manifest.layers.map((layer: { digest: string }) => layer.digest)
  ];
}

/** Where the filesystem driver keeps a blob's bytes. */
function blobData(digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return path.join(
    state,
    'data-plain/docker/registry/v2/blobs/sha256',
    hex.slice(0, 2),
    hex,
    'data'
  );
}

async function blobStatus(repository: string, digest: string): Promise<number> {
  return (await registryRequest(host, `/v2/${repository}/blobs/${digest}`, { method: 'HEAD' }))
    .status;
}

describe('registry pruning before start (components/20-registry.sh prune_pushed)', () => {
  const pushed = `slipway/pushed-${randomBytes(3).toString('hex')}`;
  const nested = `ns-${randomBytes(3).toString('hex')}/team/app`;

  it('keeps the stack repositories and their blobs, removes pushed ones and their blobs', async () => {
    mkdirSync(state, { recursive: true });
    writePlainRegistryConfig(config, host, path.join(state, 'data-plain'), { deletable: true });
    await startRegistry();
    copySampleApp(stackFact('SAMPLE_APP_V1_DIGEST'), `${host}/slipway/sample-app:1.0.0`);
    copySampleApp(stackFact('SAMPLE_APP_V2_DIGEST'), `${host}/${pushed}:t`);
    copySampleApp(stackFact('SAMPLE_APP_V2_DIGEST'), `${host}/${nested}:t`);
    const kept = await blobsOf('slipway/sample-app', '1.0.0');
    const onlyPushed = (await blobsOf(pushed, 't')).filter(digest => !kept.includes(digest));
    expect(onlyPushed.length).toBeGreaterThan(0);
    // One repository a page: the listing follows the catalog's Link header (stack.test relies on it).
    expect((await catalogRepositories(host, 1)).sort()).toEqual(
      [nested, pushed, 'slipway/sample-app'].sort()
    );

    // A running registry is left alone: its pid file names the live docker-registry.
    mkdirSync(path.join(stackDir, 'pids'), { recursive: true });
    writeFileSync(path.join(stackDir, 'pids', 'registry-plain.pid'), String(registry?.pid));
    writeFileSync(path.join(stackDir, 'pids', 'registry-plain.cmd'), 'docker-registry');
    prune();
    expect(await catalogRepositories(host)).toHaveLength(3);
    await stopRegistry();

    prune();
    await startRegistry();
    expect(await catalogRepositories(host)).toEqual(['slipway/sample-app']);
    const manifest = await registryRequest(host, '/v2/slipway/sample-app/manifests/1.0.0', {
      method: 'HEAD',
      accept: MANIFEST_ACCEPT
    });
    expect(manifest.headers['docker-content-digest']).toBe(stackFact('SAMPLE_APP_V1_DIGEST'));
    for (const digest of kept) expect(await blobStatus('slipway/sample-app', digest)).toBe(200);
    // What only the pruned repositories referenced is gone from the disk, not just unlinked.
    expect(onlyPushed.filter(digest => existsSync(blobData(digest)))).toEqual([]);
    expect(kept.filter(digest => !existsSync(blobData(digest)))).toEqual([]);
  });
});
