// The whole flow: the root action (setup-buildctl → registry-login-from-secret → buildpack-build →
// helm-deploy-namespace, one step) against the seed's raw command sequence with the same work:
// `buildctl build … push=true` with a docker config already on disk, then `helm upgrade --install
// --rollback-on-failure --wait` pinning the pushed digest. Both build changed source (a fresh
// layer) and roll out a new ReplicaSet each time. Goal <= 1.05x plus a fixed cost that is reported.
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runProcess, sideBySide, stackFacts } from './lib.mjs';
import { medianPhases, profileRun } from './profile.mjs';

export const name = 'flow';

export default async function flow({ root, runs }) {
  const facts = stackFacts();
  const work = mkdtempSync(path.join(tmpdir(), 'bench-flow-'));
  const suffix = randomBytes(3).toString('hex');
  const namespaces = { action: `bench-flow-a-${suffix}`, raw: `bench-flow-r-${suffix}` };
  const secretNamespace = `bench-flow-s-${suffix}`;
  const kubectl = (args, input) =>
    runProcess('kubectl', ['--kubeconfig', facts.KUBECONFIG, ...args], {
      allowFailure: true,
      input
    });
  try {
    // Source: the sample app's Dockerfile and static binary, one copy per side.
    const binary = path.join(work, 'sample-app');
    await runProcess('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', binary, '.'], {
      cwd: path.join(root, 'examples', 'sample-app'),
      env: { ...process.env, CGO_ENABLED: '0' }
    });
    const contexts = {};
    for (const side of ['action', 'raw']) {
      contexts[side] = path.join(work, `context-${side}`);
      mkdirSync(contexts[side]);
      cpSync(
        path.join(root, 'examples', 'sample-app', 'Dockerfile'),
        path.join(contexts[side], 'Dockerfile')
      );
    }
    const changeSource = side => () => {
      copyFileSync(binary, path.join(contexts[side], 'sample-app'));
      writeFileSync(path.join(contexts[side], 'sample-app'), randomBytes(16), { flag: 'a' });
    };
    // Credentials: in a Secret for the action, in a docker config for the raw sequence.
    const password = readFileSync(facts.REGISTRY_PASSWORD_FILE, 'utf8').trim();
    const auth = Buffer.from(`${facts.REGISTRY_USER}:${password}`).toString('base64');
    const dockerconfig = JSON.stringify({ auths: { [facts.REGISTRY_TLS]: { auth } } });
    const dockerDir = path.join(work, 'docker');
    mkdirSync(dockerDir, { mode: 0o700 });
    writeFileSync(path.join(dockerDir, 'config.json'), dockerconfig, { mode: 0o600 });
    await kubectl(['create', 'namespace', secretNamespace]);
    const secretFile = path.join(work, 'secret.json');
    writeFileSync(
      secretFile,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/dockerconfigjson',
        metadata: { name: 'registry-credentials', namespace: secretNamespace },
        data: { '.dockerconfigjson': Buffer.from(dockerconfig).toString('base64') }
      }),
      { mode: 0o600 }
    );
    await kubectl(['apply', '-f', secretFile]);
    // What the action does in the target namespace (a pull secret from the login, so the node can
    // pull the private image), done the raw way on every run: kubectl apply of namespace + Secret,
    // and the chart pointed at it.
    const rawPullFile = path.join(work, 'raw-pull.json');
    writeFileSync(
      rawPullFile,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespaces.raw } },
          {
            apiVersion: 'v1',
            kind: 'Secret',
            type: 'kubernetes.io/dockerconfigjson',
            metadata: { name: 'registry-pull', namespace: namespaces.raw },
            data: { '.dockerconfigjson': Buffer.from(dockerconfig).toString('base64') }
          }
        ]
      }),
      { mode: 0o600 }
    );
    const chart = path.join(root, 'examples', 'charts', 'sample-app');
    const image = side => `${facts.REGISTRY_TLS}/slipway-bench/flow-${side}-${suffix}`;
    const helmEnv = {
      KUBECONFIG: facts.KUBECONFIG,
      PATH: `${path.dirname(facts.HELM4)}:${process.env.PATH}`
    };
    const runner = path.join(work, 'runner');

    const profiles = [];
    const action = async () => {
      const run = await profileRun(
        root,
        'slipway',
        {
          builder: facts.BUILDKIT_TCP_ADDR,
          'buildkit-version': facts.BUILDKIT_VERSION,
          'buildkit-download-url': facts.BUILDKIT_DOWNLOAD_URL,
          'secret-name': 'registry-credentials',
          'secret-namespace': secretNamespace,
          'registry-ca-file': facts.REGISTRY_CA,
          source: contexts.action,
          image: image('action'),
          tags: 'bench',
          chart,
          release: 'web',
          namespace: namespaces.action,
          'deploy-timeout': '2m',
          // The flow ends when the new pod answers: the action's smoke check, raw's request.
          'check-path': '/'
        },
        runner,
        helmEnv
      );
      if (run.code !== 0) throw new Error(`the root action failed (exit ${run.code})`);
      profiles.push(run.phases);
    };
    const raw = async () => {
      const metadata = path.join(work, 'metadata.json');
      await runProcess(
        facts.BUILDCTL,
        [
          '--addr',
          facts.BUILDKIT_TCP_ADDR,
          'build',
          '--progress=plain',
          '--metadata-file',
          metadata,
          '--frontend=dockerfile.v0',
          '--local',
          `context=${contexts.raw}`,
          '--local',
          `dockerfile=${contexts.raw}`,
          '--output',
          `type=image,name=${image('raw')}:bench,push=true`
        ],
        { env: { ...process.env, DOCKER_CONFIG: dockerDir } }
      );
      const digest = JSON.parse(readFileSync(metadata, 'utf8'))['containerimage.digest'];
      await runProcess('kubectl', ['--kubeconfig', facts.KUBECONFIG, 'apply', '-f', rawPullFile]);
      await runProcess(
        facts.HELM4,
        [
          'upgrade',
          '--install',
          'web',
          chart,
          '--namespace',
          namespaces.raw,
          '--create-namespace',
          '--set-string',
          `image.repository=${image('raw')}`,
          '--set-string',
          `image.digest=${digest}`,
          '--set-string',
          'imagePullSecrets[0].name=registry-pull',
          '--rollback-on-failure',
          '--wait=watcher',
          '--timeout',
          '2m'
        ],
        { env: { ...process.env, ...helmEnv } }
      );
      // The answer, through the API server's service proxy as the action's smoke check asks, and
      // retried as it retries: right after helm's wait the proxy can answer 503 "no endpoints
      // available" for a moment (100 ms doubling up to 2 s, for 30 s).
      for (let attempt = 1; ; attempt++) {
        try {
          await runProcess('kubectl', [
            '--kubeconfig',
            facts.KUBECONFIG,
            'get',
            '--raw',
            `/api/v1/namespaces/${namespaces.raw}/services/web-sample-app:80/proxy/`
          ]);
          break;
        } catch (error) {
          if (attempt >= 12) throw error;
          await sleep(Math.min(2000, 100 * 2 ** (attempt - 1)));
        }
      }
    };
    const result = await sideBySide({
      runs,
      a: { label: 'root action', fn: action, before: changeSource('action') },
      b: { label: 'raw buildctl + helm', fn: raw, before: changeSource('raw') }
    });
    return [
      {
        key: 'flow',
        overheadMs: Math.round(result.a.medianMs - result.b.medianMs),
        ...result,
        profile: medianPhases(profiles.slice(1))
      },
      // The same runs: source change -> new pod on the real node answering, both sides.
      { key: 'e2e_real_node', goal: 1.05, ...result }
    ];
  } finally {
    await kubectl([
      'delete',
      'namespace',
      namespaces.action,
      namespaces.raw,
      secretNamespace,
      '--wait=false'
    ]);
    rmSync(work, { recursive: true, force: true });
  }
}
