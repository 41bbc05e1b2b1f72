import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Buildctl } from '../../../src/lib/buildkit/buildctl.js';
import type { BuildSpec } from '../../../src/lib/buildkit/args.js';
import { parseImageReference } from '../../../src/lib/reference.js';
import { clearSecretsForTesting, redact } from '../../../src/lib/secrets.js';
import { stackFact } from '../../helpers/stack.js';

/** Buildctl with the stack's real buildctl against its real buildkitd and plain registry. */

let work: string;
let context: string;

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'buildctl-'));
  context = path.join(work, 'context');
  mkdirSync(context);
  writeFileSync(path.join(context, 'file'), `${Date.now()}-${Math.random()}\n`);
  writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY file /file\n');
  writeFileSync(path.join(context, 'Broken.Dockerfile'), 'FROM scratch\nCOPY missing /missing\n');
});

afterAll(() => {
  clearSecretsForTesting();
  rmSync(work, { recursive: true, force: true });
});

const buildctl = () => new Buildctl(stackFact('BUILDCTL'), stackFact('BUILDKIT_HOST'));

const spec = (extra: Partial<BuildSpec> = {}): Omit<BuildSpec, 'addr' | 'tls'> => ({
  context: { kind: 'local', dir: context },
  frontend: 'dockerfile',
  frontendImage: '',
  dockerfileDir: context,
  dockerfileName: 'Dockerfile',
  target: undefined,
  buildArgs: [],
  labels: [],
  platforms: [],
  secrets: [],
  frontendOpts: [],
  images: [],
  push: false,
  cacheFrom: [],
  cacheTo: [],
  provenance: undefined,
  sbom: undefined,
  metadataFile: path.join(work, `metadata-${Math.random()}.json`),
  ...extra
});

describe('Buildctl.globalArgs', () => {
  it('passes the address, and TLS files only for tcp:// builders', () => {
    const tls = { ca: '/ca.pem', cert: '/cert.pem', key: '/key.pem' };
    expect(new Buildctl('buildctl', 'unix:///run/b.sock', tls).globalArgs()).toEqual([
      '--addr',
      'unix:///run/b.sock'
    ]);
    expect(new Buildctl('buildctl', 'tcp://b:1234', tls).globalArgs()).toEqual(
      expect.arrayContaining(['--addr', 'tcp://b:1234', '--tlscacert', '/ca.pem'])
    );
    expect(new Buildctl('buildctl', undefined).globalArgs()).toEqual([]);
  });
});

describe('Buildctl.waitForWorkers', () => {
  it("lists the stack builder's workers and their platforms", async () => {
    const workers = await buildctl().waitForWorkers(30_000);
    expect(workers.length).toBeGreaterThan(0);
    expect(workers[0]?.id).toMatch(/\S/);
    expect(workers.flatMap(worker => worker.platforms)).toContain('linux/amd64');
  });

  it('fails naming the address, the wait and buildctl’s last error', async () => {
    const addr = `unix://${path.join(work, 'no-such.sock')}`;
    const started = Date.now();
    const failure = new Buildctl(stackFact('BUILDCTL'), addr).waitForWorkers(2_500);
    await expect(failure).rejects.toThrow(
      new RegExp(
        `^The BuildKit builder at ${addr.replace(/[.]/g, '\\.')} is not reachable after 2\\.5 s: .*no-such\\.sock`
      )
    );
    await expect(failure).rejects.toMatchObject({
      hint: expect.stringContaining('addr: local') as unknown
    });
    // Polled more than once, and gave up near the deadline.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);
});

describe('Buildctl.build', () => {
  it('builds and pushes a FROM scratch image, reading the digest back', async () => {
    const image = `${stackFact('REGISTRY_PLAIN')}/slipway/buildctl-unit:${Date.now()}`;
    const built = await buildctl().build(
      spec({ images: [parseImageReference('image', image)], push: true }),
      { timeoutMs: 120_000 }
    );
    expect(built.exitCode).toBe(0);
    expect(built.timedOut).toBe(false);
    expect(built.durationMs).toBeGreaterThan(0);
    expect(built.metadata?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(built.metadata?.imageNames).toEqual([image]);
    expect(built.progress.started).toBe(true);
    expect(built.progress.counts().executed + built.progress.counts().cached).toBeGreaterThan(0);
    // The registry serves the manifest buildctl reported.
    const response = await fetch(
      `http://${stackFact('REGISTRY_PLAIN')}/v2/slipway/buildctl-unit/manifests/${built.metadata?.digest}`,
      { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } }
    );
    expect(response.status).toBe(200);
  }, 150_000);

  it('reports a failed build with its output and no metadata', async () => {
    const built = await buildctl().build(spec({ dockerfileName: 'Broken.Dockerfile' }), {
      timeoutMs: 120_000
    });
    expect(built.exitCode).not.toBe(0);
    expect(built.timedOut).toBe(false);
    expect(built.metadata).toBeUndefined();
    expect(built.output).toMatch(/missing/);
  }, 150_000);

  it('stops a build that outlasts its timeout', async () => {
    // A frontend image on a "registry" that accepts connections and never answers.
    const sockets: Socket[] = [];
    const hang = createServer(socket => sockets.push(socket));
    await new Promise<void>(resolve => hang.listen(0, '127.0.0.1', resolve));
    const { port } = hang.address() as AddressInfo;
    writeFileSync(
      path.join(context, 'Hang.Dockerfile'),
      `# syntax=127.0.0.1:${port}/slipway/hang:1\nFROM scratch\n`
    );
    try {
      const started = Date.now();
      const built = await buildctl().build(spec({ dockerfileName: 'Hang.Dockerfile' }), {
        timeoutMs: 1_000
      });
      expect(built.timedOut).toBe(true);
      expect(built.exitCode).not.toBe(0);
      expect(built.metadata).toBeUndefined();
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>(resolve => hang.close(() => resolve()));
    }
  }, 60_000);

  it('reads no metadata file as empty metadata (a local-only output)', async () => {
    const dest = path.join(work, 'local-out');
    const metadataFile = path.join(work, 'never-written.json');
    const built = await buildctl().buildWithArgs(
      [
        '--addr',
        stackFact('BUILDKIT_HOST'),
        'build',
        '--progress=plain',
        '--frontend=dockerfile.v0',
        '--local',
        `context=${context}`,
        '--local',
        `dockerfile=${context}`,
        '--output',
        `type=local,dest=${dest}`
      ],
      metadataFile,
      { timeoutMs: 120_000 }
    );
    expect(built.exitCode).toBe(0);
    expect(existsSync(metadataFile)).toBe(false);
    expect(built.metadata).toEqual({ digest: undefined, imageNames: [], raw: {} });
    expect(readFileSync(path.join(dest, 'file'), 'utf8')).toMatch(/^\d+-/);
  }, 150_000);

  it('masks a gha cache token passed as an attribute', async () => {
    const token = 'unit-test-gha-cache-token-value';
    const built = await buildctl().buildWithArgs(
      [
        '--addr',
        stackFact('BUILDKIT_HOST'),
        'build',
        '--frontend=dockerfile.v0',
        '--local',
        `context=${context}`,
        '--local',
        `dockerfile=${context}`,
        '--export-cache',
        `type=gha,url=http://127.0.0.1:1/,token=${token},mode=max`
      ],
      path.join(work, 'unused.json'),
      { timeoutMs: 120_000 }
    );
    // buildctl refuses the token; what matters is that it never reaches a log or summary.
    expect(built.output).not.toContain(token);
    expect(redact(`token ${token}`)).not.toContain(token);
  }, 150_000);
});
