import * as core from '@actions/core';
import path from 'node:path';
import {
  Buildctl,
  DEFAULT_DOWNLOAD_URL,
  assetName,
  fetchBuildkitReleases,
  resolveRelease,
  workerPlatforms,
  type ResolvedRelease
} from '../lib/buildkit/index.js';
import { SlipwayError } from '../lib/errors.js';
import { Inputs } from '../lib/inputs.js';
import { registerSecret } from '../lib/secrets.js';
import { STATE } from '../lib/state.js';
import { SummaryBuilder, formatDuration } from '../lib/summary.js';
import {
  installArchive,
  renderUrlTemplate,
  runnerPlatform,
  sidecarChecksum
} from '../lib/tools.js';
import {
  findWorkloadPod,
  startBuilderPod,
  startLocalBuilder,
  stopBuilder,
  writeTlsFiles
} from './builder.js';
import { readConfig, type SetupConfig } from './config.js';
import { describeMode, type LocalBuilder, type LocalMode } from './local.js';

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
      // buildkitd only for a builder started on the runner: for any other the client alone is
      // extracted (buildctl comes first in the archive, so the rest is never decompressed).
      ...(config.address.kind === 'local'
        ? { executables: ['bin/buildctl', 'bin/buildkitd'] }
        : { executables: ['bin/buildctl'], executablesOnly: true })
    })
  );
  const binDir = path.join(installed.dir, 'bin');
  core.addPath(binDir);
  core.debug(`Builder address kind: ${config.address.kind}`);
  const { addr, local } = await reachBuilder(config, binDir, release.version);
  const tls = config.tls ? writeTlsFiles(config.tls) : undefined;
  const workers = await core.group(`Waiting for the builder at ${addr}`, () =>
    new Buildctl(path.join(binDir, 'buildctl'), addr, tls).waitForWorkers(
      config.timeoutMs,
      local?.failure
    )
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
      ['Builder', `${addr}${builderOrigin(config, local?.mode)}`],
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

/** Starts the builder `addr` asks for, or finds it: the address buildctl dials. */
async function reachBuilder(
  config: SetupConfig,
  binDir: string,
  version: string
): Promise<{ addr: string; local?: LocalBuilder }> {
  const address = config.address;
  switch (address.kind) {
    case 'local': {
      const local = await core.group('Starting buildkitd', () => startLocalBuilder(binDir, config));
      return { addr: local.addr, local };
    }
    case 'kubernetes':
      return {
        addr: await core.group('Starting the builder pod', () => startBuilderPod(config, version))
      };
    case 'kube-workload':
      return {
        addr: await core.group(`Finding a Ready pod behind ${address.workload.addr}`, () =>
          findWorkloadPod(config, address.workload)
        )
      };
    default:
      return { addr: address.addr };
  }
}

function builderOrigin(config: SetupConfig, mode: LocalMode | undefined): string {
  const address = config.address;
  if (address.kind === 'remote') return '';
  if (address.kind === 'kube-workload') return ` (a Ready pod behind ${address.workload.addr})`;
  return mode ? ` (started by this action, ${describeMode(mode)})` : ' (started by this action)';
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

/** Stops the buildkitd this action started and removes its directory. */
export async function post(): Promise<void> {
  const started = [STATE.setup.buildkitdPid, STATE.setup.kubeBuilder, STATE.setup.buildkitdDir];
  if (started.some(key => key.get() !== undefined) || STATE.setup.tlsDir.get()) {
    await core.group('Stopping the builder', stopBuilder);
  }
}
