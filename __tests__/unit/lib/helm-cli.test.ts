import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Helm, detectHelm, type HelmBinary } from '../../../src/lib/helm/helm.js';
import { SlipwayError } from '../../../src/lib/errors.js';
import { deleteNamespace, kubectl, uniqueName } from '../../helpers/kube.js';
import { stackFact } from '../../helpers/stack.js';

/** The Helm class against the real helm 3 and 4 binaries, a local chart and the stack's cluster. */

const CHART = path.resolve('examples/charts/sample-app');

let work: string;

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'helm-cli-'));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** A stand-in helm: a shell script printing `body`'s output. */
function fakeHelm(name: string, body: string): string {
  const file = path.join(work, name, 'helm');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

/** A kubeconfig whose API server refuses connections. */
function unreachableKubeconfig(): string {
  const file = path.join(work, 'unreachable.kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: nobody, user: {token: x}}]',
      'contexts: [{name: nowhere, context: {cluster: nowhere, user: nobody}}]',
      'current-context: nowhere'
    ].join('\n')
  );
  return file;
}

describe('detectHelm (real binaries)', () => {
  it.each([
    ['HELM3', 3],
    ['HELM4', 4]
  ])('tells the version of %s', async (fact, major) => {
    const helmPath = stackFact(fact);
    const found = await detectHelm(helmPath);
    expect(found).toEqual({ path: helmPath, version: stackFact(`${fact}_VERSION`), major });
    // Asked once per path: the same answer comes back.
    expect(detectHelm(helmPath)).toBe(detectHelm(helmPath));
  });

  it('refuses Helm 2 and names the version', async () => {
    const helm2 = fakeHelm('helm2', 'echo v2.17.0+ga690bad');
    await expect(detectHelm(helm2)).rejects.toThrow(
      `${helm2} is Helm v2.17.0; Slipway supports Helm 3 and 4.`
    );
  });

  it('refuses a binary that cannot tell its version, and asks again next time', async () => {
    const broken = fakeHelm('broken', 'echo "Error: unknown flag" >&2; exit 1');
    const failure = detectHelm(broken);
    await expect(failure).rejects.toThrow(`Cannot tell the version of ${broken}.`);
    await expect(failure).rejects.toMatchObject({
      hint: 'Use the helm-version input to install a known Helm 3 or 4.'
    });
    // A failed detection is not cached: once the binary answers, it is detected.
    fakeHelm('broken', 'echo v3.17.3');
    await expect(detectHelm(broken)).resolves.toEqual({
      path: broken,
      version: 'v3.17.3',
      major: 3
    });
  });

  it('refuses a binary that prints no version', async () => {
    const noisy = fakeHelm('noisy', 'echo "Client: unknown"');
    await expect(detectHelm(noisy)).rejects.toBeInstanceOf(SlipwayError);
  });
});

describe.each(['HELM3', 'HELM4'])('Helm class with %s (no cluster)', fact => {
  let helm: Helm;

  beforeAll(async () => {
    // Queries retry a refused connection: 4 attempts, 1 ms apart here.
    helm = new Helm(await detectHelm(stackFact(fact)), work, { baseDelayMs: 1 });
  });

  it('exposes the binary version and major', () => {
    expect(helm.version).toBe(stackFact(`${fact}_VERSION`));
    expect(helm.major).toBe(fact === 'HELM3' ? 3 : 4);
  });

  it('reads a local chart’s default values', async () => {
    const values = await helm.showValues({ chart: CHART });
    expect(values).toMatchObject({
      replicaCount: 1,
      message: 'Hello from Slipway',
      image: { repository: '127.0.0.1:25000/slipway/sample-app', tag: 'latest' },
      service: { type: 'ClusterIP', port: 80 }
    });
  });

  it('answers {} for a chart whose values.yaml is empty', async () => {
    const chart = path.join(work, `empty-values-${fact}`);
    mkdirSync(path.join(chart, 'templates'), { recursive: true });
    writeFileSync(path.join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: empty\nversion: 0.1.0\n');
    writeFileSync(path.join(chart, 'values.yaml'), '');
    await expect(helm.showValues({ chart })).resolves.toEqual({});
  });

  it('answers undefined when helm cannot read the chart', async () => {
    await expect(helm.showValues({ chart: path.join(work, 'no-such-chart') })).resolves.toBe(
      undefined
    );
  });

  describe('against an unreachable API server', () => {
    const target = () => ({
      release: 'app',
      namespace: 'default',
      kubeconfig: unreachableKubeconfig()
    });

    it('status fails naming the release and helm’s last error line', async () => {
      const error = await helm.status(target()).then(
        () => undefined,
        (e: unknown) => e
      );
      expect(error).toBeInstanceOf(SlipwayError);
      expect((error as Error).message).toMatch(/^helm status app failed: .*127\.0\.0\.1:1/);
      expect((error as Error).message).toContain('connection refused');
    });

    it('history is empty when helm cannot tell', async () => {
      await expect(helm.history(target())).resolves.toEqual([]);
    });

    it('list fails rather than answering "no releases"', async () => {
      await expect(helm.list(target())).rejects.toThrow(
        /^helm list in default failed: .*connection refused/
      );
    });
  });
});

describe('Helm queries while the API server is unreachable (a stand-in helm)', () => {
  /** A helm that fails `failures` times with `error`, then prints a release; counts its runs. */
  function flakyHelm(
    name: string,
    failures: number,
    error: string
  ): { helm: Helm; runs: () => number } {
    const counter = path.join(work, `${name}.runs`);
    writeFileSync(counter, '');
    const release = JSON.stringify({
      name: 'app',
      namespace: 'ns',
      version: 2,
      info: { status: 'deployed' }
    });
    const stub = fakeHelm(
      name,
      [
        `echo x >> '${counter}'`,
        `if [ "$(wc -l < '${counter}')" -le ${failures} ]; then echo '${error}' >&2; exit 1; fi`,
        `echo '${release}'`
      ].join('\n')
    );
    const sleeps: number[] = [];
    const helm = new Helm({ path: stub, version: 'v4.1.4', major: 4 }, work, {
      sleep: async ms => {
        sleeps.push(ms);
      }
    });
    return { helm, runs: () => readFileSync(counter, 'utf8').split('\n').filter(Boolean).length };
  }
  const target = { release: 'app', namespace: 'ns' };

  it('retries a refused or reset connection, then answers', async () => {
    const refused = flakyHelm(
      'refused',
      2,
      'Error: Kubernetes cluster unreachable: Get "https://127.0.0.1:25729/version": dial tcp 127.0.0.1:25729: connect: connection refused'
    );
    await expect(refused.helm.status(target)).resolves.toMatchObject({
      revision: 2,
      status: 'deployed'
    });
    expect(refused.runs()).toBe(3);
    const reset = flakyHelm(
      'reset',
      1,
      'Error: read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer'
    );
    await expect(reset.helm.status(target)).resolves.toMatchObject({ revision: 2 });
    expect(reset.runs()).toBe(2);
  });

  it('gives up after 4 attempts with helm’s error', async () => {
    const down = flakyHelm(
      'down',
      99,
      'Error: Get "https://127.0.0.1:1/version": dial tcp 127.0.0.1:1: connect: connection refused'
    );
    await expect(down.helm.status(target)).rejects.toThrow(
      /^helm status app failed: .*connection refused/
    );
    expect(down.runs()).toBe(4);
  });

  it('does not retry what another try cannot change (certificate, not found)', async () => {
    const x509 = flakyHelm(
      'x509',
      99,
      'Error: Kubernetes cluster unreachable: Get "https://127.0.0.1:1/version": tls: failed to verify certificate: x509: certificate signed by unknown authority'
    );
    await expect(x509.helm.status(target)).rejects.toThrow(/x509/);
    expect(x509.runs()).toBe(1);
    const missing = flakyHelm('missing', 99, 'Error: release: not found');
    await expect(missing.helm.status(target)).resolves.toBeUndefined();
    expect(missing.runs()).toBe(1);
  });
});

describe('Helm.showValues (a chart repository answering non-YAML)', () => {
  it('answers undefined when helm prints something that is not YAML', async () => {
    const stub = fakeHelm('bad-yaml', 'printf "key: [unclosed\\n"');
    const helm = new Helm({ path: stub, version: 'v4.1.4', major: 4 }, work);
    await expect(helm.showValues({ chart: CHART })).resolves.toBeUndefined();
  });

  it('answers {} when the values are a list, not a mapping', async () => {
    const stub = fakeHelm('list-yaml', 'printf -- "- a\\n- b\\n"');
    const helm = new Helm({ path: stub, version: 'v4.1.4', major: 4 }, work);
    await expect(helm.showValues({ chart: CHART })).resolves.toEqual({});
  });

  it('passes helm’s discovery cache to a private directory under the work dir', async () => {
    const stub = fakeHelm('env', 'echo "cache: $KUBECACHEDIR"');
    const helm = new Helm({ path: stub, version: 'v4.1.4', major: 4 }, work);
    await expect(helm.showValues({ chart: CHART })).resolves.toEqual({
      cache: path.join(work, 'kube-cache')
    });
  });
});

describe('Helm environment for oci:// charts', () => {
  const saved = process.env.DOCKER_CONFIG;
  afterAll(() => {
    if (saved === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = saved;
  });

  it('leaves DOCKER_CONFIG out for an oci:// chart (its --registry-config is the one source), not for others', async () => {
    process.env.DOCKER_CONFIG = path.join(work, 'docker-config');
    const stub = fakeHelm('docker-env', 'echo "docker: ${DOCKER_CONFIG-unset}"');
    const helm = new Helm({ path: stub, version: 'v4.1.4', major: 4 }, work);
    await expect(
      helm.showValues({ chart: 'oci://registry.example/charts/app', registryConfig: '/x.json' })
    ).resolves.toEqual({ docker: 'unset' });
    await expect(helm.showValues({ chart: 'oci://registry.example/charts/app' })).resolves.toEqual({
      docker: 'unset'
    });
    await expect(helm.showValues({ chart: CHART })).resolves.toEqual({
      docker: path.join(work, 'docker-config')
    });
  });
});

describe.each(['HELM3', 'HELM4'])('Helm class with %s against the stack cluster', fact => {
  let helm: Helm;
  let binary: HelmBinary;
  let namespace: string;
  let valuesFile: string;
  const release = 'app';
  const target = () => ({ release, namespace, kubeconfig: stackFact('KUBECONFIG') });

  beforeAll(async () => {
    binary = await detectHelm(stackFact(fact));
    helm = new Helm(binary, work);
    namespace = uniqueName(`helm-cli-${binary.major}`);
    kubectl(['create', 'namespace', namespace]);
    valuesFile = path.join(work, `values-${fact}.yaml`);
    writeFileSync(
      valuesFile,
      [
        'image:',
        `  repository: ${stackFact('SAMPLE_APP_IMAGE_PLAIN')}`,
        `  digest: "${stackFact('SAMPLE_APP_V1_DIGEST')}"`,
        'message: revision-one'
      ].join('\n')
    );
  });

  afterAll(() => {
    try {
      kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
    } catch {
      deleteNamespace(namespace);
    }
  });

  const plan = (extra: Partial<Parameters<Helm['upgrade']>[0]> = {}) => ({
    ...target(),
    chart: CHART,
    valuesFiles: [valuesFile],
    atomic: false,
    wait: false,
    timeoutMs: 60_000,
    force: false,
    ...extra
  });

  it('a release that does not exist has no status, history or listing', async () => {
    await expect(helm.status(target())).resolves.toBeUndefined();
    await expect(helm.history(target())).resolves.toEqual([]);
    await expect(helm.list(target())).resolves.toEqual([]);
  });

  it('renders the chart with a client dry run, installing nothing', async () => {
    const result = await helm.upgrade(plan({ dryRun: 'client', atomic: true, wait: true }));
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('kind: Deployment');
    expect(result.stdout).toContain(`NAMESPACE: ${namespace}`);
    expect(result.stdout).toContain(stackFact('SAMPLE_APP_V1_DIGEST'));
    await expect(helm.status(target())).resolves.toBeUndefined();
  });

  it('installs, then reads status, history and the listing back', async () => {
    const installed = await helm.upgrade(plan());
    expect(installed.exitCode).toBe(0);

    const status = await helm.status(target());
    expect(status).toMatchObject({
      name: release,
      namespace,
      revision: 1,
      status: 'deployed'
    });
    expect(status?.manifest).toContain(
      `${stackFact('SAMPLE_APP_IMAGE_PLAIN')}@${stackFact('SAMPLE_APP_V1_DIGEST')}`
    );
    expect(await helm.history(target())).toEqual([
      expect.objectContaining({ revision: 1, status: 'deployed', chart: 'sample-app-0.1.0' })
    ]);
    expect(await helm.list(target())).toEqual([release]);
  });

  it('upgrades, and rolls back to an earlier revision', async () => {
    expect((await helm.upgrade(plan())).exitCode).toBe(0);
    expect((await helm.status(target()))?.revision).toBe(2);

    const rolledBack = await helm.rollback({ ...target(), timeoutMs: 120_000 }, 1);
    expect(rolledBack.exitCode).toBe(0);
    const status = await helm.status(target());
    expect(status).toMatchObject({ revision: 3, status: 'deployed' });
    expect((await helm.history(target())).map(entry => entry.revision)).toEqual([1, 2, 3]);
  }, 180_000);

  it('fails an upgrade whose rollout outlasts helm’s --timeout, and rolls back when atomic', async () => {
    const stuck = path.join(work, `stuck-${fact}.yaml`);
    writeFileSync(stuck, 'nodeSelector:\n  slipway.test/none: "true"\n');
    const started = Date.now();
    const result = await helm.upgrade(
      plan({ valuesFiles: [valuesFile, stuck], atomic: true, timeoutMs: 3_000 })
    );
    expect(result.exitCode).not.toBe(0);
    expect(`${result.stdout}\n${result.stderr}`).toMatch(/context deadline exceeded|timed out/);
    expect(Date.now() - started).toBeLessThan(60_000);
    // The atomic failure put the release back on a deployed revision.
    const status = await helm.status(target());
    expect(status?.status).toBe('deployed');
    expect(status?.revision).toBe(5);
  }, 120_000);

  it('uninstalls the release', async () => {
    const result = await helm.uninstall({ ...target(), timeoutMs: 60_000, wait: true });
    expect(result.exitCode).toBe(0);
    await expect(helm.status(target())).resolves.toBeUndefined();
    await expect(helm.list(target())).resolves.toEqual([]);
  }, 120_000);
});
