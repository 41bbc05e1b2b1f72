import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { projectRoot, runMain, runPost } from '../helpers/action-runner.js';
import { applyRegistrySecret, deleteNamespace, kubectl, uniqueName } from '../helpers/kube.js';
import { manifestDigest } from '../helpers/registry.js';
import { pathWithHelm, stackFact } from '../helpers/stack.js';

/**
 * Load: 8 whole pipelines (the root action: builder check, login from the Secret, build and push,
 * helm deploy) at once into 8 namespaces on the local stack, against one pipeline alone. Every one
 * must succeed with its own digest deployed; the wall times are printed and written to
 * bench/results.load.json.
 */
const secretNamespace = uniqueName('load-secret');
const created: string[] = [secretNamespace];
let work: string;
let binary: string;

beforeAll(() => {
  kubectl(['create', 'namespace', secretNamespace]);
  applyRegistrySecret(secretNamespace);
  work = mkdtempSync(path.join(tmpdir(), 'load-'));
  binary = path.join(work, 'sample-app');
  execFileSync('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', binary, '.'], {
    cwd: path.join(projectRoot, 'examples/sample-app'),
    env: { ...process.env, CGO_ENABLED: '0' },
    stdio: 'ignore'
  });
});
afterAll(() => {
  created.forEach(deleteNamespace);
  rmSync(work, { recursive: true, force: true });
});

/** One pipeline with its own source (a distinct binary), image and namespace. */
async function pipeline(name: string): Promise<void> {
  const source = path.join(work, name);
  mkdirSync(source);
  copyFileSync(
    path.join(projectRoot, 'examples/sample-app/Dockerfile'),
    path.join(source, 'Dockerfile')
  );
  copyFileSync(binary, path.join(source, 'sample-app'));
  writeFileSync(path.join(source, 'sample-app'), randomBytes(16), { flag: 'a' });
  const target = uniqueName(name);
  created.push(target);
  const repository = `slipway/load-${target}`;
  const main = await runMain(
    'slipway',
    {
      builder: stackFact('BUILDKIT_TCP_ADDR'),
      'buildkit-version': stackFact('BUILDKIT_VERSION'),
      'buildkit-download-url': stackFact('BUILDKIT_DOWNLOAD_URL'),
      'secret-name': 'registry-credentials',
      'secret-namespace': secretNamespace,
      'registry-ca-file': stackFact('REGISTRY_CA'),
      source,
      image: `${stackFact('REGISTRY_TLS')}/${repository}`,
      tags: 'load',
      chart: path.join(projectRoot, 'examples/charts/sample-app'),
      release: 'web',
      namespace: target,
      'deploy-timeout': '3m'
    },
    {
      env: {
        KUBECONFIG: stackFact('KUBECONFIG'),
        PATH: pathWithHelm()
      }
    }
  );
  expect({ name, code: main.exitCode, log: main.exitCode ? main.stdout.slice(-3000) : '' }).toEqual(
    {
      name,
      code: 0,
      log: ''
    }
  );
  expect(main.outputs.digest).toBe(
    await manifestDigest(stackFact('REGISTRY_TLS'), repository, 'load')
  );
  const image = kubectl([
    'get',
    'deployment',
    'web-sample-app',
    '-n',
    target,
    '-o',
    'jsonpath={.spec.template.spec.containers[0].image}'
  ]);
  expect(image).toBe(`${stackFact('REGISTRY_TLS')}/${repository}@${main.outputs.digest}`);
  expect((await runPost('slipway', main)).exitCode).toBe(0);
}

describe('load', () => {
  it('8 concurrent pipelines into 8 namespaces all succeed', async () => {
    const singleStart = Date.now();
    await pipeline('load-single');
    const single = Date.now() - singleStart;
    const concurrentStart = Date.now();
    await Promise.all(Array.from({ length: 8 }, (_, i) => pipeline(`load-${i}`)));
    const concurrent = Date.now() - concurrentStart;
    const figures = {
      singleMs: single,
      eightConcurrentMs: concurrent,
      ratio: Number((concurrent / single).toFixed(2)),
      date: new Date().toISOString()
    };
    console.log(
      `load: one pipeline ${single} ms, eight concurrent ${concurrent} ms (${figures.ratio}x)`
    );
    writeFileSync(
      path.join(projectRoot, 'bench', 'results.load.json'),
      `${JSON.stringify(figures, null, 2)}\n`
    );
  }, 600_000);
});
