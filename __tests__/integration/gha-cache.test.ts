import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { callerRepository, readResult, runAct } from '../helpers/act.js';
import { startPrivateBuildkitd } from '../helpers/buildkit.js';
import { freeLoopbackPort } from '../helpers/ports.js';
import { MANIFEST_ACCEPT, registryRequest } from '../helpers/registry.js';
import { stackFact } from '../helpers/stack.js';

/**
 * BuildKit's `type=gha` cache against a real Actions cache service: act's own cache server (the
 * v1 protocol, which act and GHES speak), which scripts/act puts on loopback where the builders
 * reach it (buildkitd, not buildctl, talks to the cache service). Under act, buildpack-build
 * builds one context twice, each time on a fresh buildkitd with an empty root of its own: whatever
 * the second build does not run came from the Actions cache.
 */
const work = mkdtempSync(path.join(tmpdir(), 'slipway-gha-cache-'));
const builders: Array<ReturnType<typeof startPrivateBuildkitd>> = [];
const repos: string[] = [];

afterAll(async () => {
  for (const builder of builders) await builder.stop();
  for (const dir of [work, ...repos]) rmSync(dir, { recursive: true, force: true });
});

/** A fresh buildkitd on a unix socket, its root empty, for one build. */
async function freshBuilder(name: string): Promise<string> {
  const dir = path.join(work, name);
  mkdirSync(dir);
  const builder = startPrivateBuildkitd({
    root: path.join(dir, 'root'),
    addr: `unix://${path.join(dir, 'buildkitd.sock')}`
  });
  builders.push(builder);
  await builder.ready();
  return builder.addr;
}

/**
 * The build context: a static binary that waits a second and writes the time into the file it is
 * given, run by two RUN steps (exec form: no shell in a scratch image). A RUN that executes again
 * writes another time, so equal layers prove the step came from the cache.
 */
function writeStampContext(dir: string): void {
  const source = path.join(work, 'stamp-src');
  mkdirSync(source, { recursive: true });
  writeFileSync(path.join(source, 'go.mod'), 'module stamp\n\ngo 1.22\n');
  writeFileSync(
    path.join(source, 'main.go'),
    `package main

import (
\t"os"
\t"time"
)

func main() {
\ttime.Sleep(time.Second)
\tif err := os.WriteFile(os.Args[1], []byte(time.Now().Format(time.RFC3339Nano)), 0o644); err != nil {
\t\tpanic(err)
\t}
}
`
  );
  mkdirSync(dir, { recursive: true });
  execFileSync('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', path.join(dir, 'stamp'), '.'], {
    cwd: source,
    env: { ...process.env, CGO_ENABLED: '0' },
    stdio: 'ignore'
  });
  writeFileSync(
    path.join(dir, 'Dockerfile'),
    'FROM scratch\nCOPY stamp /stamp\nRUN ["/stamp", "/one"]\nRUN ["/stamp", "/two"]\n'
  );
}

/** The layers of repository:tag in the plain registry. */
async function layers(repository: string, tag: string): Promise<string[]> {
  const response = await registryRequest(
    stackFact('REGISTRY_PLAIN'),
    `/v2/${repository}/manifests/${tag}`,
    { accept: MANIFEST_ACCEPT }
  );
  expect(response.status).toBe(200);
  return (JSON.parse(response.body) as { layers: Array<{ digest: string }> }).layers.map(
    layer => layer.digest
  );
}

/** The log lines of one step of the act run (from its `⭐ Run Main <name>` to the next step). */
function stepLog(output: string, name: string): string {
  const start = output.indexOf(`⭐ Run Main ${name}`);
  expect(start).toBeGreaterThanOrEqual(0);
  const end = output.indexOf('⭐ Run', start + 1);
  return output.slice(start, end === -1 ? undefined : end);
}

function buildStep(name: string, id: string, addr: string, image: string, tag: string): string {
  return `      - name: ${name}
        id: ${id}
        uses: slipway/slipway/actions/buildpack-build@v0
        with:
          addr: ${addr}
          context: app
          image: ${image}
          tags: ${tag}
          provenance: 'false'
          cache-from: type=gha
          cache-to: type=gha,mode=max
`;
}

/** The caller's workflow: buildctl set up, `steps`, then `results` (name: expression) written
 * to RESULT_FILE. */
function workflow(steps: string, results: Record<string, string>): string {
  const names = Object.keys(results);
  const env = names.map((name, i) => `          V${i}: \${{ ${results[name]} }}`).join('\n');
  const printf = names.map(name => `${name}=%s`).join('\\n');
  const values = names.map((_, i) => `"$V${i}"`).join(' ');
  return `name: flow
on: workflow_dispatch
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - uses: slipway/slipway/actions/setup-buildctl@v0
        with:
          version: \${{ env.BUILDKIT_VERSION }}
          download-url: \${{ env.BUILDKIT_DOWNLOAD_URL }}
          addr: \${{ env.BUILDKIT_TCP_ADDR }}
${steps}      - env:
${env}
        run: printf '${printf}\\n' ${values} > "$RESULT_FILE"
`;
}

describe('type=gha build cache under act (act’s Actions cache server)', () => {
  const repository = `slipway/gha-cache-${process.pid}`;
  const image = `${stackFact('REGISTRY_PLAIN')}/${repository}`;

  beforeAll(() => writeStampContext(path.join(work, 'context')));

  async function repositoryWith(workflowText: string): Promise<string> {
    const repo = await callerRepository(workflowText, dir =>
      execFileSync('cp', ['-R', path.join(work, 'context'), path.join(dir, 'app')])
    );
    repos.push(repo);
    return repo;
  }

  it('a second build on another fresh builder takes every step from the Actions cache', async () => {
    const [first, second] = [await freshBuilder('first'), await freshBuilder('second')];
    const repo = await repositoryWith(
      workflow(
        buildStep('First build', 'first', first, image, 'first') +
          buildStep('Second build', 'second', second, image, 'second'),
        {
          'first-hits': 'steps.first.outputs.cache-hits',
          'first-misses': 'steps.first.outputs.cache-misses',
          'second-hits': 'steps.second.outputs.cache-hits',
          'second-misses': 'steps.second.outputs.cache-misses'
        }
      )
    );
    const resultFile = path.join(work, 'hit.result');
    const cacheDir = path.join(work, 'actcache');
    const act = await runAct(repo, [
      '--env',
      `RESULT_FILE=${resultFile}`,
      '--cache-server-path',
      cacheDir
    ]);
    expect({ code: act.code, tail: act.code === 0 ? '' : act.output.slice(-4000) }).toEqual({
      code: 0,
      tail: ''
    });

    const firstLog = stepLog(act.output, 'First build');
    const secondLog = stepLog(act.output, 'Second build');
    // First build: nothing cached, both RUN steps executed and exported to the cache service.
    expect(firstLog).toMatch(/#\d+ \[2\/3\] RUN \["\/stamp", "\/one"\]\n.*#\d+ DONE/);
    expect(firstLog).toContain('exporting to GitHub Actions Cache');
    // Second build, on an empty builder: every step CACHED, from the imported gha cache.
    expect(secondLog).toMatch(/#(\d+) \[2\/3\] RUN \["\/stamp", "\/one"\]\n.*#\1 CACHED/);
    expect(secondLog).toMatch(/#(\d+) \[3\/3\] RUN \["\/stamp", "\/two"\]\n.*#\1 CACHED/);
    const result = readResult(resultFile);
    expect(result).toEqual({
      'first-hits': '0',
      'first-misses': '3',
      'second-hits': '3',
      'second-misses': '0'
    });
    // The default scope: the image repository and the ref (the caller repository's branch).
    const scope = `scope=${image}@main`;
    const pattern = scope.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    for (const log of [firstLog, secondLog]) {
      // v1 at ACTIONS_CACHE_URL (act's ACTIONS_RESULTS_URL is its artifact server, not a cache).
      expect(log).toMatch(
        new RegExp(
          `--import-cache type=gha,${pattern},url=http://127\\.0\\.0\\.1:\\d+/\\w+/,version=1,token=\\*\\*\\* `
        )
      );
      expect(log).toContain(`--export-cache type=gha,mode=max,${scope},ignore-error=true,url=`);
      expect(log).not.toMatch(/url_v2|Build cache not used/);
    }
    // The RUN steps write the time: equal layers mean they did not run again.
    expect(await layers(repository, 'second')).toEqual(await layers(repository, 'first'));
    // act's cache server holds the blobs and the index BuildKit wrote.
    expect(readdirSync(path.join(cacheDir, 'cache'), { recursive: true }).length).toBeGreaterThan(
      3
    );
  }, 600_000);

  it('an unreachable cache service warns and the build succeeds', async () => {
    const builder = await freshBuilder('fault');
    const repo = await repositoryWith(
      workflow(buildStep('Build', 'build', builder, image, 'fault'), {
        digest: 'steps.build.outputs.digest',
        'cache-misses': 'steps.build.outputs.cache-misses'
      })
    );
    const resultFile = path.join(work, 'fault.result');
    // act starts no cache server of its own when ACTIONS_CACHE_URL is given.
    const url = `http://127.0.0.1:${freeLoopbackPort()}/`;
    const act = await runAct(repo, [
      '--env',
      `RESULT_FILE=${resultFile}`,
      '--env',
      `ACTIONS_CACHE_URL=${url}`
    ]);
    expect({ code: act.code, tail: act.code === 0 ? '' : act.output.slice(-4000) }).toEqual({
      code: 0,
      tail: ''
    });
    const log = stepLog(act.output, 'Build');
    expect(log).toMatch(
      /::warning title=Build cache not used::importing cache manifest from gha:\d+ failed, the build went on without it: .*connection refused/
    );
    expect(log).toMatch(
      /::warning title=Build cache not used::exporting to GitHub Actions Cache failed, the build went on without it: .*connection refused/
    );
    const result = readResult(resultFile);
    expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result['cache-misses']).toBe('3');
  }, 600_000);
});
