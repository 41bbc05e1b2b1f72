import * as core from '@actions/core';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_DOWNLOAD_URL,
  assetName,
  fetchBuildkitReleases,
  TLS_ENV,
  resolveRelease,
  type BuildkitTls,
  workerPlatforms,
  type ResolvedRelease
} from '../lib/buildkit.js';
import { SlipwayError } from '../lib/errors.js';
import { Buildctl } from '../lib/buildctl.js';
import { spawnDetached, stopProcess } from '../lib/exec.js';
import { Inputs } from '../lib/inputs.js';
import { tempDir } from '../lib/runner.js';
import { registerSecret } from '../lib/secrets.js';
import { STATE } from '../lib/state.js';
import { SummaryBuilder, formatDuration } from '../lib/summary.js';
import {
  installArchive,
  renderUrlTemplate,
  runnerPlatform,
  sidecarChecksum
} from '../lib/tools.js';
import { readConfig, type SetupConfig, type TlsInputs } from './config.js';
import { startKubernetesBuilder, stopKubernetesBuilder } from './kubernetes.js';

export { readConfig } from './config.js';

/** The builder a flow builds on next. */
export interface BuildkitSetup {
  version: string;
  addr: string;
}

/** The action's entry point: inputs checked, then the work. */
export async function main(inputs = new Inputs()): Promise<BuildkitSetup> {
  return run(readConfig(inputs));
}

/** Installs BuildKit and brings up (or checks) the builder; `config` is already checked. */
export async function run(config: SetupConfig): Promise<BuildkitSetup> {
  const started = Date.now();
  registerSecret(config.token);
  const { arch } = runnerPlatform();
  const release = await core.group('BuildKit version', () =>
    resolveRelease(
      config.version,
      arch,
      () => fetchBuildkitReleases(config.apiUrl, config.token),
      !config.checksum && !config.downloadUrl
    )
  );
  core.debug(`BuildKit ${release.version} (${release.source})`);
  const url = renderUrlTemplate(config.downloadUrl ?? DEFAULT_DOWNLOAD_URL, {
    version: release.version,
    os: 'linux',
    arch
  });
  const installed = await core.group(`Installing BuildKit ${release.version}`, () =>
    installArchive({
      tool: 'buildkit',
      version: release.version,
      arch,
      url,
      // Only a cache miss needs the checksum (which may cost a round trip to the mirror).
      sha256: () => expectedChecksum(config, release, url),
      auth:
        config.token && url.startsWith('https://github.com/') ? `token ${config.token}` : undefined,
      executables: ['bin/buildctl', 'bin/buildkitd']
    })
  );
  const binDir = path.join(installed.dir, 'bin');
  core.addPath(binDir);
  core.debug(`Builder address kind: ${config.address.kind}`);
  const addr =
    config.address.kind === 'local'
      ? await core.group('Starting buildkitd', () => startLocalBuilder(binDir, config))
      : config.address.kind === 'kubernetes'
        ? await core.group('Starting the builder pod', () =>
            startBuilderPod(config, release.version)
          )
        : config.address.addr;
  const tls = config.tls ? writeTlsFiles(config.tls) : undefined;
  const workers = await core.group(`Waiting for the builder at ${addr}`, () =>
    new Buildctl(path.join(binDir, 'buildctl'), addr, tls).waitForWorkers(config.timeoutMs)
  );
  const platforms = workerPlatforms(workers);
  core.exportVariable('BUILDKIT_HOST', addr);
  core.setOutput('version', release.version);
  core.setOutput('path', path.join(binDir, 'buildctl'));
  core.setOutput('addr', addr);
  core.setOutput('platforms', platforms.join(','));
  core.info(
    `BuildKit ${release.version} ready at ${addr}: ${workers.length} worker(s), platforms ${platforms.join(', ')}`
  );
  await new SummaryBuilder()
    .heading('setup-buildctl')
    .facts([
      [
        'BuildKit',
        `${release.version} (${release.source === 'github' ? 'GitHub releases' : release.source === 'pinned' ? 'pinned fallback' : 'as requested'})`
      ],
      ['Tool cache', installed.cacheHit ? 'hit' : 'miss (downloaded and verified)'],
      ['Builder', `${addr}${config.address.kind === 'remote' ? '' : ' (started by this action)'}`],
      [
        'TLS',
        tls
          ? `${tls.cert ? 'client certificate' : 'server verification'}${tls.serverName ? `, server name ${tls.serverName}` : ''}`
          : undefined
      ],
      ['Platforms', platforms.join(', ')],
      ['Duration', formatDuration(Date.now() - started)]
    ])
    .write();
  return { version: release.version, addr };
}

/** The checksum input, else GitHub's published asset digest, else the mirror's `.sha256` file. */
async function expectedChecksum(
  config: SetupConfig,
  release: ResolvedRelease,
  url: string
): Promise<string> {
  const sha256 =
    config.checksum ??
    release.sha256 ??
    (config.downloadUrl ? await sidecarChecksum(url) : undefined);
  if (sha256) return sha256;
  throw new SlipwayError(
    `No sha256 is known for ${assetName(release.version, runnerPlatform().arch)}, so it cannot be verified.`,
    {
      hint: 'Pass the checksum input, serve <url>.sha256 next to a mirror download, or let the action reach the GitHub API (github-token).'
    }
  );
}

/**
 * Starts buildkitd on the runner: rootful with runc when running as root, else under rootlesskit.
 * Its root, socket, config and log live in a private directory under RUNNER_TEMP; the post step
 * stops it and removes the directory.
 */
async function startLocalBuilder(binDir: string, config: SetupConfig): Promise<string> {
  const dir = tempDir('buildkitd');
  STATE.setup.buildkitdDir.save(dir);
  const socket = path.join(dir, 'buildkitd.sock');
  const args = ['--root', path.join(dir, 'root'), '--addr', `unix://${socket}`];
  if (config.buildkitdConfig) {
    writeFileSync(path.join(dir, 'buildkitd.toml'), config.buildkitdConfig, { mode: 0o600 });
    args.push('--config', path.join(dir, 'buildkitd.toml'));
  }
  args.push(...config.buildkitdFlags);
  const buildkitd = path.join(binDir, 'buildkitd');
  const rootful = process.getuid?.() === 0;
  const pid = rootful
    ? await spawnDetached(buildkitd, args, path.join(dir, 'buildkitd.log'))
    : await spawnDetached('rootlesskit', [buildkitd, ...args], path.join(dir, 'buildkitd.log'));
  STATE.setup.buildkitdPid.save(pid);
  core.info(
    `Started buildkitd (${rootful ? 'rootful' : 'rootless'}, pid ${pid}); log: ${path.join(dir, 'buildkitd.log')}`
  );
  return `unix://${socket}`;
}

/**
 * Starts buildkitd as a pod in the cluster (the seed's in-cluster builder), by default the
 * `moby/buildkit` image of the same version as the buildctl just installed, and returns its
 * kube-pod:// address. The post step deletes the pod.
 */
async function startBuilderPod(config: SetupConfig, version: string): Promise<string> {
  const { kubeconfig, context } = config.kubernetes;
  const builder = await startKubernetesBuilder(
    {
      namespace: config.kubernetes.namespace,
      image: config.kubernetes.image ?? `docker.io/moby/buildkit:${version}`,
      flags: config.buildkitdFlags,
      config: config.buildkitdConfig,
      kubeconfig,
      context,
      timeoutMs: config.timeoutMs
    },
    created => STATE.setup.kubeBuilder.save({ ...created, kubeconfig, context })
  );
  // buildctl reaches kube-pod:// through kubectl, which reads KUBECONFIG.
  if (kubeconfig) core.exportVariable('KUBECONFIG', kubeconfig);
  return builder.addr;
}

/**
 * Writes the TLS material to a private directory (0700, files 0600) under RUNNER_TEMP and exports
 * the paths (BUILDKIT_TLS_*) for the buildctl calls of later steps; the post step removes it.
 */
function writeTlsFiles(inputs: TlsInputs): BuildkitTls {
  registerSecret(inputs.key);
  const dir = tempDir('buildkit-tls');
  STATE.setup.tlsDir.save(dir);
  const write = (name: string, pem: string | undefined): string | undefined => {
    if (!pem) return undefined;
    const file = path.join(dir, name);
    writeFileSync(file, pem, { mode: 0o600 });
    return file;
  };
  const tls: BuildkitTls = {
    ca: write('ca.pem', inputs.ca),
    cert: write('cert.pem', inputs.cert),
    key: write('key.pem', inputs.key),
    serverName: inputs.serverName
  };
  for (const [field, variable] of Object.entries(TLS_ENV)) {
    const value = tls[field as keyof BuildkitTls];
    if (value) core.exportVariable(variable, value);
  }
  return tls;
}

/** Stops the buildkitd this action started and removes its directory. */
export async function post(): Promise<void> {
  const started = [STATE.setup.buildkitdPid, STATE.setup.kubeBuilder, STATE.setup.buildkitdDir];
  if (started.some(key => key.get() !== undefined) || STATE.setup.tlsDir.get()) {
    await core.group('Stopping the builder', stopBuilder);
  }
}

async function stopBuilder(): Promise<void> {
  const pid = STATE.setup.buildkitdPid.get() ?? 0;
  if (pid > 0) {
    const stopped = await stopProcess(pid);
    core.info(stopped ? `Stopped buildkitd (pid ${pid})` : `buildkitd (pid ${pid}) did not stop`);
  }
  const builder = STATE.setup.kubeBuilder.get();
  if (builder) {
    const { namespace, pod, configMap, kubeconfig, context } = builder;
    await stopKubernetesBuilder({ namespace, pod, configMap }, { kubeconfig, context });
  }
  for (const dir of [STATE.setup.buildkitdDir.get(), STATE.setup.tlsDir.get()]) {
    if (!dir) continue;
    rmSync(dir, { recursive: true, force: true });
    core.info(`Removed ${dir}`);
  }
}
