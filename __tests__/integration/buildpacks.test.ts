import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  projectRoot,
  runMain,
  runPost,
  visibleText,
  type ActionRun
} from '../helpers/action-runner.js';
import {
  applyRegistrySecret,
  deleteNamespace,
  kubectl,
  readyPodImageDigests,
  uniqueName
} from '../helpers/kube.js';
import { pushSourceFiles } from '../helpers/git.js';
import {
  MANIFEST_ACCEPT,
  manifestDigest,
  registryRequest,
  writeDockerConfig
} from '../helpers/registry.js';
import { answerOf } from '../helpers/sample-app.js';
import { pathWithHelm, registryPassword, stackFact } from '../helpers/stack.js';

/**
 * frontend: buildpacks on the real stack, no Dockerfile and no Docker daemon: the CNB lifecycle
 * (built from its Go module) runs `creator` inside buildkitd from the stack's builder image
 * (components/65-buildpacks.sh: FROM scratch, with the stack's own Node.js and Procfile
 * buildpacks), pushes to the TLS + htpasswd registry itself, and the image runs on the real node
 * through helm-deploy-namespace. Apps: an Express app (Node.js and express from the npm registry at
 * build time), and the sample app as a prebuilt static binary with a Procfile (a Go toolchain in a
 * builder made here would be hundreds of megabytes).
 */
const suffix = Math.random().toString(36).slice(2, 8);
const work = mkdtempSync(path.join(tmpdir(), 'slipway-buildpacks-it-'));
const registry = stackFact('REGISTRY_TLS');
const repo = `slipway-it/buildpacks-${suffix}`;
const version = `bp-${suffix}`;
const builder = () => stackFact('CNB_BUILDER_IMAGE_TLS');
const namespaces: string[] = [];
let dockerConfig = '';
const durations: Record<string, number> = {};

function writeContext(name: string, files: { procfile?: boolean; dockerfile?: boolean }): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(path.join(work, 'sample-app'), path.join(dir, 'sample-app'));
  if (files.procfile) writeFileSync(path.join(dir, 'Procfile'), 'web: sample-app\n');
  if (files.dockerfile) {
    copyFileSync(
      path.join(projectRoot, 'examples/sample-app/Dockerfile'),
      path.join(dir, 'Dockerfile')
    );
  }
  return dir;
}

function build(
  inputs: Record<string, string>,
  login: () => string = () => dockerConfig
): Promise<ActionRun> {
  return runMain('buildpack-build', inputs, {
    env: {
      PATH: `${path.dirname(stackFact('BUILDCTL'))}:${process.env.PATH ?? ''}`,
      DOCKER_CONFIG: login(),
      BUILDKIT_HOST: stackFact('BUILDKIT_HOST'),
      // The action checks the lifecycle's digest against the registry, which has a private CA.
      NODE_EXTRA_CA_CERTS: stackFact('REGISTRY_CA')
    },
    timeoutMs: 240_000
  });
}

function expectSuccess(run: ActionRun): void {
  expect({ code: run.exitCode, log: run.exitCode ? run.stdout.slice(-4000) : '' }).toEqual({
    code: 0,
    log: ''
  });
  expect(visibleText(run)).not.toContain(registryPassword());
}

/**
 * Deploys `imageref` with helm-deploy-namespace into a new namespace (pull secret from the job's
 * login), checks the real node runs that digest, and returns the app's answer.
 */
async function deployAndAsk(prefix: string, imageref: string, message: string): Promise<string> {
  const namespace = uniqueName(prefix);
  namespaces.push(namespace);
  const deploy = await runMain(
    'helm-deploy-namespace',
    {
      release: 'web',
      namespace,
      chart: path.join(projectRoot, 'examples/charts/sample-app'),
      image: imageref,
      'image-pull-secret': 'pulls',
      set: `imagePullSecrets[0].name=pulls\nmessage=${message}`,
      timeout: '120s'
    },
    {
      env: {
        PATH: pathWithHelm(),
        KUBECONFIG: stackFact('KUBECONFIG'),
        DOCKER_CONFIG: dockerConfig
      }
    }
  );
  expect({
    code: deploy.exitCode,
    log: deploy.exitCode ? deploy.stdout.slice(-3000) : ''
  }).toEqual({ code: 0, log: '' });
  expect(await readyPodImageDigests(namespace)).toEqual([
    imageref.slice(imageref.indexOf('@') + 1)
  ]);
  return answerOf(kubectl, namespace, 'web-sample-app');
}

beforeAll(() => {
  dockerConfig = writeDockerConfig();
  execFileSync(
    'go',
    [
      'build',
      '-trimpath',
      `-ldflags=-s -w -X main.version=${version}`,
      '-o',
      path.join(work, 'sample-app'),
      '.'
    ],
    {
      cwd: path.join(projectRoot, 'examples/sample-app'),
      env: { ...process.env, CGO_ENABLED: '0' },
      stdio: 'pipe'
    }
  );
}, 120_000);

afterAll(() => {
  namespaces.forEach(deleteNamespace);
  rmSync(work, { recursive: true, force: true });
  rmSync(dockerConfig, { recursive: true, force: true });
  if (Object.keys(durations).length > 0) {
    process.stdout.write(`buildpacks build times (ms): ${JSON.stringify(durations)}\n`);
  }
});

describe('frontend: buildpacks (CNB lifecycle inside BuildKit)', () => {
  const context = () => writeContext('app', { procfile: true });
  let firstDigest = '';

  it('auto builds a context without a Dockerfile with buildpacks, pushes it, and the pod answers', async () => {
    const started = Date.now();
    const run = await build({
      context: context(),
      image: `${registry}/${repo}:1`,
      builder: builder()
    });
    durations.first = Date.now() - started;
    expectSuccess(run);
    expect(run.stdout).toContain('building with buildpacks');
    expect(run.stdout).toContain('===> EXPORTING');
    expect(run.outputs.frontend).toBe('buildpacks');
    firstDigest = run.outputs.digest ?? '';
    expect(firstDigest).toBe(await manifestDigest(registry, repo, '1'));
    expect(run.stdout).toContain(
      `Registry ${registry} serves ${registry}/${repo}:1 as ${firstDigest}`
    );
    expect(run.outputs.imageref).toBe(`${registry}/${repo}@${firstDigest}`);
    const metadata = JSON.parse(run.outputs.metadata ?? '{}');
    expect(metadata['buildpacks.report'].digest).toBe(firstDigest);

    expect(await deployAndAsk('bp-deploy', run.outputs.imageref ?? '', 'built by buildpacks')).toBe(
      `built by buildpacks (version ${version})\n`
    );
  }, 300_000);

  it('a rebuild of unchanged source reuses every layer of the previous image', async () => {
    const started = Date.now();
    const run = await build({
      context: context(),
      image: `${registry}/${repo}:1`,
      builder: builder(),
      frontend: 'buildpacks'
    });
    durations.rebuild = Date.now() - started;
    expectSuccess(run);
    expect(run.stdout).toContain(`Reusing layers from image '${registry}/${repo}@${firstDigest}'`);
    expect(run.stdout).toContain("Reusing layer 'slipway/procfile:processes'");
    expect(run.stdout).toContain('Reused 1/1 app layer(s)');
    const metadata = JSON.parse(run.outputs.metadata ?? '{}');
    expect(metadata['buildpacks.layers']).toEqual({ reused: expect.any(Number), added: 0 });
    // The lifecycle's images are reproducible: the same layers give the same manifest.
    expect(run.outputs.digest).toBe(firstDigest);
  }, 240_000);

  it('fails naming the buildpacks tried when none detects the app', async () => {
    const run = await build({
      context: writeContext('no-procfile', {}),
      image: `${registry}/${repo}:none`,
      builder: builder()
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      `No buildpack of the builder ${builder()} detected this app (tried: fail: slipway/nodejs@0.1.0, fail: slipway/procfile@0.1.0)`
    );
    expect(run.stdout).toContain('Node.js: package.json');
  }, 120_000);

  it('auto picks the Dockerfile when the context has one', async () => {
    const run = await build({
      context: writeContext('with-dockerfile', { procfile: true, dockerfile: true }),
      image: `${registry}/${repo}:dockerfile`,
      builder: builder()
    });
    expectSuccess(run);
    expect(run.outputs.frontend).toBe('dockerfile');
    expect(run.stdout).not.toContain('===> EXPORTING');
    expect(run.outputs.digest).toBe(await manifestDigest(registry, repo, 'dockerfile'));
  }, 120_000);

  it('fails clearly when the builder image cannot be pulled', async () => {
    const run = await build({
      context: context(),
      image: `${registry}/${repo}:nobuilder`,
      builder: `${registry}/slipway-it/no-such-builder:1`,
      frontend: 'buildpacks'
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      `The builder image ${registry}/slipway-it/no-such-builder:1 could not be pulled`
    );
  }, 120_000);

  it('names the lifecycle phase and points at the registry login when the push target refuses it', async () => {
    const noLogin = mkdtempSync(path.join(work, 'no-login-'));
    const run = await build(
      {
        context: context(),
        image: `${registry}/${repo}:nologin`,
        builder: stackFact('CNB_BUILDER_IMAGE_PLAIN'),
        frontend: 'buildpacks'
      },
      () => noLogin
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      'The buildpacks build failed in the analyze phase (lifecycle exit code 1): failed to initialize analyzer: validating registry read access'
    );
    expect(run.stdout).toContain('401 Unauthorized');
    expect(run.stdout).toContain(
      "The lifecycle reads the previous image and pushes with the job's registry login"
    );
  }, 120_000);

  it('takes buildpacks, buildpack-env and a run image, and pushes to a plain-HTTP registry', async () => {
    const plain = stackFact('REGISTRY_PLAIN');
    const run = await build({
      context: context(),
      image: `${plain}/${repo}:plain`,
      builder: builder(),
      frontend: 'buildpacks',
      buildpacks: stackFact('CNB_BUILDPACK'),
      'buildpack-env': 'BP_LOG_LEVEL=DEBUG',
      'run-image': stackFact('CNB_RUN_IMAGE_PLAIN'),
      'insecure-registries': plain
    });
    expectSuccess(run);
    expect(run.stdout).toContain(`Registry ${plain} serves ${plain}/${repo}:plain as`);
    expect(run.outputs.digest).toBe(await manifestDigest(plain, repo, 'plain'));
  }, 120_000);

  it('refuses labels (which the lifecycle would drop) before buildctl runs', async () => {
    const run = await build({
      context: context(),
      image: `${registry}/${repo}:labels`,
      builder: builder(),
      labels: 'org.opencontainers.image.revision=abc'
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      '::error::Input "labels" is not applied by frontend: buildpacks: the CNB lifecycle writes and pushes the image, not BuildKit.'
    );
    expect(run.stdout).toContain('BP_IMAGE_LABELS');
    expect(run.stdout).not.toContain('[command]');
    expect(run.stdout).not.toContain('building with buildpacks');
    const head = await registryRequest(registry, `/v2/${repo}/manifests/labels`, {
      method: 'HEAD',
      accept: MANIFEST_ACCEPT
    });
    expect(head.status).toBe(404);
  }, 60_000);
});

/** An Express app with no Dockerfile: Node.js and express come from the npm registry at build time. */
function writeNodeApp(name: string): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'bp-express',
      version: '1.0.0',
      private: true,
      scripts: { start: 'node server.js' },
      dependencies: { express: '^5.1.0' }
    })
  );
  writeFileSync(
    path.join(dir, 'server.js'),
    [
      "const express = require('express');",
      'const app = express();',
      "const message = process.env.MESSAGE || 'Hello';",
      "app.get('/healthz', (req, res) => res.type('text/plain').send('ok\\n'));",
      `app.get('/', (req, res) => res.type('text/plain').send(\`\${message} (express \${require('express/package.json').version}, node \${process.version}, ${version})\\n\`));`,
      'app.listen(8080);',
      ''
    ].join('\n')
  );
  return dir;
}

describe('a Node.js app (package.json with express, a start script, no Dockerfile)', () => {
  const nodeRepo = `${repo}-node`;
  let firstDigest = '';
  /** The same source every time, Node.js 24 asked for through buildpack-env; timed. */
  async function buildNodeApp(timing: string): Promise<ActionRun> {
    const started = Date.now();
    const run = await build({
      context: writeNodeApp('node-app'),
      image: `${registry}/${nodeRepo}:1`,
      builder: builder(),
      'buildpack-env': 'BP_NODE_VERSION=24'
    });
    durations[timing] = Date.now() - started;
    expectSuccess(run);
    return run;
  }

  it('builds with Node.js and express from the npm registry, deploys, and answers HTTP', async () => {
    const run = await buildNodeApp('nodeFirst');
    expect(run.outputs.frontend).toBe('buildpacks');
    expect(run.stdout).toMatch(
      /slipway\/nodejs: Node\.js 24\.\d+\.\d+ from https:\/\/registry\.npmjs\.org/
    );
    expect(run.stdout).toContain('npm install --omit=dev');
    firstDigest = run.outputs.digest ?? '';
    expect(firstDigest).toBe(await manifestDigest(registry, nodeRepo, '1'));

    expect(
      await deployAndAsk('bp-node', run.outputs.imageref ?? '', 'express by buildpacks')
    ).toMatch(
      new RegExp(
        `^express by buildpacks \\(express 5\\.\\d+\\.\\d+, node v24\\.\\d+\\.\\d+, ${version}\\)\\n$`
      )
    );
  }, 300_000);

  it('a rebuild of unchanged source downloads nothing and reuses the runtime and node_modules layers', async () => {
    const run = await buildNodeApp('nodeRebuild');
    expect(run.stdout).toMatch(/Node\.js 24\.\d+\.\d+ \(from the cache\)/);
    expect(run.stdout).toContain('node_modules unchanged');
    expect(run.stdout).not.toContain('npm install --omit=dev');
    expect(run.stdout).toContain("Reusing layer 'slipway/nodejs:node'");
    expect(run.stdout).toContain("Reusing layer 'slipway/nodejs:modules'");
    expect(run.outputs.digest).toBe(firstDigest);
  }, 240_000);
});

describe('root action with frontend: buildpacks', () => {
  const secrets = uniqueName('bp-root');
  const target = uniqueName('bp-root-app');
  beforeAll(() => {
    kubectl(['create', 'namespace', secrets]);
    applyRegistrySecret(secrets);
    namespaces.push(secrets, target);
  });

  it('builds a source without a Dockerfile, pushes it and deploys it; the pod answers', async () => {
    const started = Date.now();
    const run = await runMain(
      'slipway',
      {
        builder: stackFact('BUILDKIT_TCP_ADDR'),
        'buildkit-version': stackFact('BUILDKIT_VERSION'),
        'buildkit-download-url': stackFact('BUILDKIT_DOWNLOAD_URL'),
        'secret-name': 'registry-credentials',
        'secret-namespace': secrets,
        'registry-ca-file': stackFact('REGISTRY_CA'),
        source: writeContext('root', { procfile: true }),
        'buildpacks-builder': builder(),
        image: `${registry}/${repo}-root`,
        tags: '1',
        chart: path.join(projectRoot, 'examples/charts/sample-app'),
        release: 'sample-app',
        namespace: target,
        set: 'message=root action\\, buildpacks',
        'deploy-timeout': '2m'
      },
      {
        env: {
          KUBECONFIG: stackFact('KUBECONFIG'),
          PATH: pathWithHelm(),
          NODE_EXTRA_CA_CERTS: stackFact('REGISTRY_CA')
        },
        timeoutMs: 280_000
      }
    );
    durations.rootFlow = Date.now() - started;
    expect({
      exitCode: run.exitCode,
      errors: run.stdout.split('\n').filter(line => line.startsWith('::error'))
    }).toEqual({ exitCode: 0, errors: [] });
    expect(run.stdout).toContain('building with buildpacks');
    const digest = await manifestDigest(registry, `${repo}-root`, '1');
    expect(run.outputs.digest).toBe(digest);
    expect(await readyPodImageDigests(target)).toEqual([digest]);
    expect(await answerOf(kubectl, target, 'sample-app')).toBe(
      `root action, buildpacks (version ${version})\n`
    );
    expect(visibleText(run)).not.toContain(registryPassword());
    expect((await runPost('slipway', run)).exitCode).toBe(0);
  }, 300_000);
});

describe('frontend: buildpacks from a git context', () => {
  const branch = `bp-git-${suffix}`;
  let deleteBranch: () => void = () => undefined;
  beforeAll(() => {
    deleteBranch = pushSourceFiles(branch, 'bp', {
      Procfile: 'web: sample-app\n',
      'sample-app': readFileSync(path.join(work, 'sample-app'))
    });
  });
  afterAll(() => deleteBranch());

  it('BuildKit fetches the git source, the lifecycle builds it with no Dockerfile, pushes, and the pod answers', async () => {
    const started = Date.now();
    const run = await build({
      context: `${stackFact('SAMPLE_APP_GIT')}#${branch}:bp`,
      image: `${registry}/${repo}-git:1`,
      builder: builder(),
      frontend: 'buildpacks'
    });
    durations.git = Date.now() - started;
    expectSuccess(run);
    expect(run.stdout).toContain('===> EXPORTING');
    expect(run.stdout).toContain("Adding layer 'slipway/procfile:processes'");
    expect(run.outputs.digest).toBe(await manifestDigest(registry, `${repo}-git`, '1'));
    expect(await deployAndAsk('bp-git', run.outputs.imageref ?? '', 'from git')).toBe(
      `from git (version ${version})\n`
    );
  }, 300_000);
});

/**
 * The stack's builder pod image (components/60-images.sh: buildkitd, buildctl and runc FROM
 * scratch) has no git, so BuildKit in the pod refuses git sources ("unknown scheme git"): the
 * in-cluster build takes a local source, which buildctl sends to the pod.
 */
describe('frontend: buildpacks in a builder pod (builder: kubernetes)', () => {
  it('root action: the lifecycle runs in the builder pod, pushes by the in-cluster name, deploys, and the pod answers', async () => {
    const inCluster = stackFact('REGISTRY_TLS_IN_CLUSTER');
    const secrets = uniqueName('bp-git-k8s');
    const target = uniqueName('bp-git-k8s-app');
    namespaces.push(secrets, target);
    kubectl(['create', 'namespace', secrets]);
    applyRegistrySecret(secrets, { server: inCluster });
    const env = {
      KUBECONFIG: stackFact('KUBECONFIG'),
      PATH: pathWithHelm(),
      NODE_EXTRA_CA_CERTS: stackFact('REGISTRY_CA')
    };
    // Pods reach the stack's registry by its in-cluster name only.
    const byInClusterName = (image: string) => image.replace(registry, inCluster);
    const started = Date.now();
    const main = await runMain(
      'slipway',
      {
        builder: 'kubernetes',
        'builder-namespace': secrets,
        'builder-image': stackFact('BUILDKIT_IMAGE'),
        'buildkitd-config': `[registry."${inCluster}"]\n  ca = ["/etc/buildkit/registry-ca.pem"]\n`,
        'builder-registry-ca': readFileSync(stackFact('REGISTRY_CA'), 'utf8'),
        'buildkit-version': stackFact('BUILDKIT_VERSION'),
        'buildkit-download-url': stackFact('BUILDKIT_DOWNLOAD_URL'),
        'secret-name': 'registry-credentials',
        'secret-namespace': secrets,
        'registry-verify': 'false',
        source: writeContext('in-cluster', { procfile: true }),
        frontend: 'buildpacks',
        'buildpacks-builder': byInClusterName(builder()),
        'run-image': byInClusterName(stackFact('CNB_RUN_IMAGE_TLS')),
        image: `${inCluster}/${repo}-git-k8s`,
        tags: '1',
        chart: path.join(projectRoot, 'examples/charts/sample-app'),
        release: 'web',
        namespace: target,
        set: 'message=buildpacks in the cluster',
        'deploy-timeout': '2m'
      },
      { env, timeoutMs: 280_000 }
    );
    durations.inCluster = Date.now() - started;
    const addr = main.exportedEnv.BUILDKIT_HOST ?? '';
    try {
      expect({
        code: main.exitCode,
        errors: main.stdout.split('\n').filter(line => line.startsWith('::error'))
      }).toEqual({ code: 0, errors: [] });
      expect(addr).toMatch(/^kube-pod:\/\/slipway-buildkitd-/);
      expect(main.stdout).toContain('===> EXPORTING');
      const digest = await manifestDigest(registry, `${repo}-git-k8s`, '1');
      expect(main.outputs.imageref).toBe(`${inCluster}/${repo}-git-k8s@${digest}`);
      expect(await readyPodImageDigests(target)).toEqual([digest]);
      expect(await answerOf(kubectl, target, 'web-sample-app')).toBe(
        `buildpacks in the cluster (version ${version})\n`
      );
      expect(visibleText(main)).not.toContain(registryPassword());
    } finally {
      expect((await runPost('slipway', main, {}, { env })).exitCode).toBe(0);
    }
  }, 300_000);
});
