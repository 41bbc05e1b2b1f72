import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stackFact } from './stack.js';
import { freeLoopbackPort } from './ports.js';

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
 * A second buildkitd (the stack's binary and config, its own root) on a free loopback port or
 * at `addr` (e.g. a unix socket), optionally requiring TLS client certificates or with its own
 * environment; `ready` waits until it answers, `stop` kills it.
 */
export function startPrivateBuildkitd(options: {
  root: string;
  addr?: string;
  tls?: { ca: string; cert: string; key: string };
  /** Its environment on top of the test's, e.g. a PATH without git. */
  env?: Record<string, string>;
}): {
  addr: string;
  daemon: import('node:child_process').ChildProcess;
  ready: () => Promise<void>;
  stop: () => Promise<void>;
} {
  const addr = options.addr ?? `tcp://127.0.0.1:${freeLoopbackPort()}`;
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
    { stdio: 'ignore', env: { ...process.env, ...options.env } }
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

const STEP_TOOL_SOURCE = `package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// step digest <file> <out>: writes "sha256=<hex> bytes=<n>" of <file> to <out> (what a RUN step saw).
// step wait <seconds>: prints "step started", then sleeps.
func main() {
	switch os.Args[1] {
	case "digest":
		data, err := os.ReadFile(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.MkdirAll(filepath.Dir(os.Args[3]), 0o755)
		proof := fmt.Sprintf("sha256=%x bytes=%d\\n", sha256.Sum256(data), len(data))
		if err := os.WriteFile(os.Args[3], []byte(proof), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	case "wait":
		seconds, _ := strconv.Atoi(os.Args[2])
		fmt.Println("step started")
		time.Sleep(time.Duration(seconds) * time.Second)
	}
}
`;

/**
 * A static binary for RUN steps in `FROM scratch` images (exec form, no shell): `step digest
 * <file> <out>` records the sha256 and length of a file the step can read (a secret mount),
 * `step wait <seconds>` prints "step started" and sleeps. Built into `dir/step`.
 */
export function buildStepTool(dir: string): string {
  const src = mkdtempSync(path.join(tmpdir(), 'step-tool-'));
  try {
    writeFileSync(path.join(src, 'go.mod'), 'module step\n\ngo 1.22\n');
    writeFileSync(path.join(src, 'main.go'), STEP_TOOL_SOURCE);
    const out = path.join(dir, 'step');
    execFileSync('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', out, '.'], {
      cwd: src,
      env: { ...process.env, CGO_ENABLED: '0' },
      stdio: 'pipe'
    });
    return out;
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

/**
 * What a buildkitd killed with SIGKILL leaves behind: the RUN step still running (found by its
 * exact command line, `argv`) is killed, and the mounts of its root (`dir`: under it, or a
 * temporary mount of a snapshot in it) are unmounted, deepest first, so that `dir` can be removed.
 */
export function cleanUpKilledBuildkitd(dir: string, argv: string[]): void {
  for (const pid of readdirSync('/proc').filter(name => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
      if (cmdline.join('\0') === argv.join('\0')) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(line => line.includes(dir))
    .map(line => line.split(' ')[4] ?? '')
    .filter(point => point.startsWith(dir) || /^\/tmp\/(buildkit|containerd)-mount\d+$/.test(point))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) spawnSync('umount', [point]);
}
