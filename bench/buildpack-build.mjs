// buildpack-build against the local stack (registry with TLS+auth, buildkitd), two figures:
//  - buildpack_build_overhead: the action vs raw `buildctl build` with the same arguments, each
//    building changed source (a fresh layer, pushed). Goal <= 1.05x.
//  - buildpack_build_cached: the action rebuilding unchanged source vs building changed source.
//    Goal <= 0.3x.
// The build is the sample app FROM scratch: small, so fixed costs (node start) weigh heavily.
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { runProcess, sideBySide } from './lib.mjs';
import { medianPhases, profileRun } from './profile.mjs';

export const name = 'buildpack-build';

function stackEnv() {
  const dir =
    process.env.SLIPWAY_STACK_DIR ??
    path.join(process.env.SLIPWAY_CACHE ?? path.join(homedir(), '.cache', 'slipway'), 'stack');
  const env = {};
  for (const line of readFileSync(path.join(dir, 'stack.env'), 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

export default async function buildpackBuild({ root, runs }) {
  const stack = stackEnv();
  const work = mkdtempSync(path.join(tmpdir(), 'bench-build-'));
  try {
    const context = path.join(work, 'context');
    mkdirSync(context);
    for (const file of ['Dockerfile', 'go.mod', 'main.go'])
      cpSync(path.join(root, 'examples', 'sample-app', file), path.join(context, file));
    const binary = path.join(work, 'sample-app');
    await runProcess('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', binary, '.'], {
      cwd: context,
      env: { ...process.env, CGO_ENABLED: '0' }
    });
    const dockerConfig = path.join(work, 'docker-config');
    mkdirSync(dockerConfig, { mode: 0o700 });
    const password = readFileSync(stack.REGISTRY_PASSWORD_FILE, 'utf8').trim();
    const auth = Buffer.from(`${stack.REGISTRY_USER}:${password}`).toString('base64');
    writeFileSync(
      path.join(dockerConfig, 'config.json'),
      JSON.stringify({ auths: { [stack.REGISTRY_TLS]: { auth } } }),
      { mode: 0o600 }
    );
    const image = `${stack.REGISTRY_TLS}/slipway-bench/sample-app:bench-${process.pid}`;
    const buildctl = stack.BUILDCTL;
    const env = {
      ...process.env,
      DOCKER_CONFIG: dockerConfig,
      PATH: `${path.dirname(buildctl)}:${process.env.PATH}`
    };
    // Changed source: the binary with a few random bytes appended, so its layer is new each time.
    const changeSource = () => {
      copyFileSync(binary, path.join(context, 'sample-app'));
      writeFileSync(path.join(context, 'sample-app'), randomBytes(16), { flag: 'a' });
    };
    // The action as the runner starts it, its stdout timed line by line: the per-phase profile of
    // its changed-source builds (bench/profile.mjs).
    const profiles = [];
    const action = async (profiled = false) => {
      const result = await profileRun(
        root,
        'buildpack-build',
        { context, image, addr: stack.BUILDKIT_TCP_ADDR, push: 'true' },
        path.join(work, 'runner'),
        { DOCKER_CONFIG: dockerConfig, PATH: env.PATH, GITHUB_WORKSPACE: work }
      );
      if (result.code !== 0) throw new Error(`the action failed (exit ${result.code})`);
      if (profiled) profiles.push(result.phases);
    };
    // Exactly the arguments the action passes (see its `[command]` log line).
    const raw = () =>
      runProcess(
        buildctl,
        [
          '--addr',
          stack.BUILDKIT_TCP_ADDR,
          'build',
          '--progress=plain',
          '--metadata-file',
          path.join(work, 'metadata.json'),
          '--frontend=dockerfile.v0',
          '--local',
          `context=${context}`,
          '--local',
          `dockerfile=${context}`,
          '--opt',
          'filename=Dockerfile',
          '--output',
          `type=image,name=${image},push=true`
        ],
        { env }
      );
    changeSource();
    const overhead = await sideBySide({
      runs,
      a: { label: 'action, changed source', fn: () => action(true), before: changeSource },
      b: { label: 'raw buildctl, changed source', fn: raw, before: changeSource }
    });
    const cached = await sideBySide({
      runs,
      a: { label: 'action, unchanged source', fn: action },
      b: { label: 'action, changed source', fn: action, before: changeSource }
    });
    return [
      {
        key: 'build',
        overheadMs: Math.round(overhead.a.medianMs - overhead.b.medianMs),
        ...overhead,
        // Where the action's time goes (the warm-up run left out).
        profile: medianPhases(profiles.slice(1))
      },
      { key: 'rebuild_cache', goal: 0.3, ...cached }
    ];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
