import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BuildFailure, main } from '../../../src/buildpack-build/main.js';
import { clearSecretsForTesting } from '../../../src/lib/secrets.js';
import { parseFileCommands } from '../../helpers/action-runner.js';
import { captureStdout } from '../../helpers/capture.js';

/**
 * The action's control flow against a scripted stand-in for buildctl (the real builder is covered
 * by the integration tests): retries only for transient errors, the 401 hint, the failing step's
 * log, and the digest that must never be silently empty.
 */
const root = mkdtempSync(path.join(tmpdir(), 'slipway-build-main-'));
const bin = path.join(root, 'bin');
const context = path.join(root, 'context');
const attemptsFile = path.join(root, 'attempts');
const argsFile = path.join(root, 'args');
mkdirSync(bin);
mkdirSync(context);
writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY app /app\n');

const DIGEST = `sha256:${'c'.repeat(64)}`;
const FAKE_BUILDCTL = `#!/bin/bash
echo x >> "${attemptsFile}"
printf '%s\\n' "$@" > "${argsFile}"
metadata=""
while [ $# -gt 0 ]; do
  if [ "$1" = --metadata-file ]; then metadata="$2"; fi
  if [ "$1" = --output ]; then out="$2"; fi
  shift
done
attempt=$(wc -l < "${attemptsFile}")
case "$FAKE_SCENARIO" in
  ok|flaky)
    if [ "$FAKE_SCENARIO" = flaky ] && [ "$attempt" -lt 2 ]; then
      echo "#1 [internal] load build definition from Dockerfile" >&2
      echo "#1 DONE 0.0s" >&2
      echo "error: failed to solve: failed to push: unexpected status from PUT request: 503 Service Unavailable" >&2
      exit 1
    fi
    echo "#1 [internal] load build definition from Dockerfile" >&2
    echo "#1 DONE 0.0s" >&2
    echo "#2 [1/2] COPY app /app" >&2
    echo "#2 CACHED" >&2
    echo "#3 [2/2] COPY cfg /cfg" >&2
    echo "#3 DONE 0.1s" >&2
    printf '{"containerimage.digest":"%s","image.name":"r.io/team/app:1"}' "$FAKE_DIGEST" > "$metadata"
    case "$out" in type=local,dest=*)
      echo "#4 0.100 \x1b[36m===> DETECTING\x1b[0m" >&2
      echo "#4 0.200 slipway/procfile 0.1.0" >&2
      echo "#4 0.300 Reusing layer 'slipway/procfile:processes'" >&2
      echo "#4 0.400 Added 1/1 app layer(s)" >&2
      printf '[image]\n  tags = ["x"]\n  digest = "%s"\n  manifest-size = 9\n' "$FAKE_DIGEST" > "\${out#type=local,dest=}/report.toml"
    esac
    ;;
  no-detect)
    echo "#4 0.371 ======== Results ========" >&2
    echo "#4 0.371 fail: slipway/procfile@0.1.0" >&2
    echo "#4 0.371 ERROR: No buildpack groups passed detection." >&2
    echo '#4 ERROR: process "/cnb/lifecycle/creator" did not complete successfully: exit code: 20' >&2
    exit 1
    ;;
  step-fails)
    echo "#2 [2/2] RUN make" >&2
    echo "#2 0.100 compiling" >&2
    echo "#2 0.200 make: *** [all] Error 2" >&2
    echo '#2 ERROR: process "/bin/sh -c make" did not complete successfully: exit code: 2' >&2
    echo "Dockerfile:2" >&2
    echo 'error: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2' >&2
    exit 1
    ;;
  hang)
    exec sleep 30
    ;;
  unauthorized)
    echo "#5 exporting to image" >&2
    echo "#5 ERROR: failed to push r.io/team/app:1: 401 Unauthorized" >&2
    echo "error: failed to solve: failed to push r.io/team/app:1: 401 Unauthorized" >&2
    exit 1
    ;;
esac
`;
writeFileSync(path.join(bin, 'buildctl'), FAKE_BUILDCTL);
chmodSync(path.join(bin, 'buildctl'), 0o755);

const savedEnv = { ...process.env };
let outputFile = '';

beforeEach(() => {
  rmSync(attemptsFile, { force: true });
  outputFile = path.join(root, `output-${Date.now()}`);
  writeFileSync(outputFile, '');
  Object.assign(process.env, {
    PATH: `${bin}:${savedEnv.PATH ?? ''}`,
    RUNNER_TEMP: root,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: path.join(root, 'summary'),
    INPUT_CONTEXT: context,
    INPUT_IMAGE: 'r.io/team/app:1',
    INPUT_ADDR: 'tcp://127.0.0.1:25234',
    FAKE_DIGEST: DIGEST
  });
  writeFileSync(path.join(root, 'summary'), '');
});

afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  clearSecretsForTesting();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function attempts(): number {
  return readFileSync(attemptsFile, 'utf8').trim().split('\n').length;
}

function outputs(): string {
  return readFileSync(outputFile, 'utf8');
}

function outputValue(name: string): string | undefined {
  return parseFileCommands(outputs())[name];
}

async function failure(): Promise<BuildFailure & { log: string }> {
  let caught: unknown;
  const { output } = await captureStdout(async () => {
    try {
      await main();
    } catch (error) {
      caught = error;
    }
  });
  expect(caught).toBeInstanceOf(BuildFailure);
  return Object.assign(caught as BuildFailure, { log: output });
}

describe('main', () => {
  it('sets the digest outputs and the cache counts', async () => {
    process.env.FAKE_SCENARIO = 'ok';
    const { output } = await captureStdout(() => main());
    expect(attempts()).toBe(1);
    expect(outputs()).toContain(DIGEST);
    expect(outputs()).toContain(`r.io/team/app@${DIGEST}`);
    expect(outputValue('cache-hits')).toBe('1');
    expect(outputValue('cache-misses')).toBe('1');
    expect(output).toContain('::group::Building r.io/team/app:1 (dockerfile Dockerfile)');
    expect(readFileSync(path.join(root, 'summary'), 'utf8')).toContain('1 step cached, 1 executed');
    expect(readFileSync(argsFile, 'utf8')).toContain('--addr\ntcp://127.0.0.1:25234\nbuild');
  });

  it('builds with the gateway frontend when asked', async () => {
    process.env.FAKE_SCENARIO = 'ok';
    process.env.INPUT_FRONTEND = 'gateway';
    await captureStdout(() => main());
    const args = readFileSync(argsFile, 'utf8').split('\n');
    expect(args).toContain('--frontend=gateway.v0');
    expect(args).toContain('source=docker.io/kiamol/buildkit-buildpacks:latest');
    expect(outputValue('frontend')).toBe('gateway');
  });

  it('builds with buildpacks when there is no Dockerfile: digest from the report', async () => {
    process.env.FAKE_SCENARIO = 'ok';
    const bare = path.join(root, 'bare');
    mkdirSync(bare, { recursive: true });
    Object.assign(process.env, { INPUT_CONTEXT: bare, INPUT_IMAGE: '127.0.0.1:1/team/app:1' });
    const { output } = await captureStdout(() => main());
    expect(output).toContain(`No Dockerfile in ${bare}: building with buildpacks`);
    const args = readFileSync(argsFile, 'utf8').split('\n');
    expect(args).toContain('--frontend=dockerfile.v0');
    expect(args).toContain('context:cnb-platform=local:cnb-platform');
    expect(args.some(arg => /^id=cnb-registry-auth,src=/.test(arg))).toBe(true);
    expect(output).toContain('1 layer(s) reused from the previous image, 1 added');
    expect(output).toContain('Could not check the digest against 127.0.0.1:1');
    expect(outputValue('frontend')).toBe('buildpacks');
    expect(outputs()).toContain(`127.0.0.1:1/team/app@${DIGEST}`);
    // The private directory with the CNB_REGISTRY_AUTH file is gone.
    expect(readdirSync(root).filter(name => name.startsWith('slipway-buildpacks-'))).toEqual([]);
  });

  it('names the buildpacks tried when none detects the app', async () => {
    process.env.FAKE_SCENARIO = 'no-detect';
    process.env.INPUT_FRONTEND = 'buildpacks';
    const error = await failure();
    expect(attempts()).toBe(1);
    expect(error.message).toContain(
      'No buildpack of the builder docker.io/paketobuildpacks/ubuntu-noble-builder:latest detected this app (tried: fail: slipway/procfile@0.1.0)'
    );
  });

  it('fails instead of outputting an empty digest after a push', async () => {
    process.env.FAKE_SCENARIO = 'ok';
    process.env.FAKE_DIGEST = '';
    await expect(captureStdout(() => main())).rejects.toThrow(/no image digest/);
    expect(outputs()).not.toContain('digest');
  });

  it('retries a registry 5xx and then succeeds', async () => {
    process.env.FAKE_SCENARIO = 'flaky';
    const { output } = await captureStdout(() => main());
    expect(attempts()).toBe(2);
    expect(output).toContain('Transient failure running buildctl build (attempt 1/3)');
    expect(outputs()).toContain(DIGEST);
  }, 15_000);

  it('never retries a failed build step, and shows its log and an annotation', async () => {
    process.env.FAKE_SCENARIO = 'step-fails';
    const error = await failure();
    const output = error.log;
    expect(attempts()).toBe(1);
    expect(error.kind).toBe('build');
    expect(error.message).toContain('The build failed at step [2/2] RUN make');
    expect(error.message).toContain('make: *** [all] Error 2');
    expect(output).toMatch(
      // The Dockerfile is outside the working directory, so the annotation names no file.
      /::error title=Build failed at step \[2\/2\] RUN make::failed to solve/
    );
    expect(readFileSync(path.join(root, 'summary'), 'utf8')).toContain('Build failed');
  });

  it('stops buildctl at the timeout and says so', async () => {
    process.env.FAKE_SCENARIO = 'hang';
    process.env.INPUT_TIMEOUT = '1s';
    const started = Date.now();
    await expect(captureStdout(() => main())).rejects.toThrow(
      /did not finish within the timeout \(1s\)/
    );
    expect(Date.now() - started).toBeLessThan(8000);
    expect(attempts()).toBe(1);
  }, 15_000);

  it('points a push 401 at registry-login-from-secret', async () => {
    process.env.FAKE_SCENARIO = 'unauthorized';
    const error = await failure();
    expect(attempts()).toBe(1);
    expect(error.kind).toBe('unauthorized');
    expect(error.hint).toContain('registry-login-from-secret');
    expect(error.hint).toContain('config.json');
  });
});
