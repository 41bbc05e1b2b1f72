import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stackFact } from './stack.js';

export interface RawPush {
  status: number | null;
  stderr: string;
  /** `containerimage.digest` from buildctl's metadata file, when the push succeeded. */
  digest: string | undefined;
}

/**
 * Builds a one-file `FROM scratch` image with the stack's buildctl (no Slipway code involved) and
 * pushes it as `image`, reading registry auth from `dockerConfig` as buildctl does client-side.
 */
export function pushScratchImage(
  image: string,
  dockerConfig: string,
  content = `${Date.now()}-${Math.random()}`
): RawPush {
  const context = mkdtempSync(path.join(tmpdir(), 'scratch-context-'));
  try {
    writeFileSync(path.join(context, 'file'), content);
    writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY file /file\n');
    const metadata = path.join(context, 'metadata.json');
    const result = spawnSync(
      stackFact('BUILDCTL'),
      [
        '--addr',
        stackFact('BUILDKIT_HOST'),
        'build',
        '--progress=quiet',
        '--frontend',
        'dockerfile.v0',
        '--local',
        `context=${context}`,
        '--local',
        `dockerfile=${context}`,
        '--output',
        `type=image,name=${image},push=true`,
        '--metadata-file',
        metadata
      ],
      { encoding: 'utf8', env: { ...process.env, DOCKER_CONFIG: dockerConfig }, timeout: 120_000 }
    );
    const digest =
      result.status === 0 && existsSync(metadata)
        ? JSON.parse(readFileSync(metadata, 'utf8'))['containerimage.digest']
        : undefined;
    return { status: result.status, stderr: result.stderr, digest };
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/**
 * A second buildkitd (the stack's binary and config, its own root) on a random loopback port or
 * at `addr` (e.g. a unix socket), optionally requiring TLS client certificates; `ready` waits until
 * it answers, `stop` kills it.
 */
export function startPrivateBuildkitd(options: {
  root: string;
  addr?: string;
  tls?: { ca: string; cert: string; key: string };
}): {
  addr: string;
  daemon: import('node:child_process').ChildProcess;
  ready: () => Promise<void>;
  stop: () => Promise<void>;
} {
  const addr = options.addr ?? `tcp://127.0.0.1:${25300 + Math.floor(Math.random() * 600)}`;
  const config = path.join(
    path.dirname(stackFact('BUILDKIT_HOST').replace('unix://', '')),
    'buildkitd.toml'
  );
  const tlsArgs = options.tls
    ? ['--tlscacert', options.tls.ca, '--tlscert', options.tls.cert, '--tlskey', options.tls.key]
    : [];
  const daemon = spawn(
    stackFact('BUILDKITD'),
    ['--config', config, '--root', options.root, '--addr', addr, ...tlsArgs],
    { stdio: 'ignore' }
  );
  return {
    addr,
    daemon,
    ready: async () => {
      for (let attempt = 0; attempt < 100; attempt++) {
        const up = spawnSync(stackFact('BUILDCTL'), ['--addr', addr, 'debug', 'workers'], {
          stdio: 'ignore'
        });
        if (up.status === 0) return;
        await new Promise(resolve => setTimeout(resolve, 200));
      }
      throw new Error(`the private buildkitd at ${addr} did not answer within 20 s`);
    },
    stop: async () => {
      daemon.kill('SIGKILL');
      await new Promise(resolve => setTimeout(resolve, 300));
    }
  };
}
