import * as core from '@actions/core';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildpacksArgs,
  buildpacksDockerfile,
  cnbRegistryAuth,
  imageName,
  lifecycleExit,
  parseReport,
  platformFiles,
  summarizeLifecycle,
  type Buildctl,
  type BuildpacksSpec,
  type BuildRun
} from '../lib/buildkit/index.js';
import { SlipwayError } from '../lib/errors.js';
import { formatGoDuration } from '../lib/inputs.js';
import { parseImageReference } from '../lib/reference.js';
import {
  basicAuth,
  nodeHttpSend,
  parseDockerConfig,
  registryManifestDigest,
  type RegistryCredential
} from '../lib/registry/index.js';
import { builtin } from '../lib/builtins.js';
import { dockerConfigDir, tempDir } from '../lib/runner.js';
import { registerSecret } from '../lib/secrets.js';
import type { BuildConfig } from './config.js';
import { BuildFailure, describeFailure } from './failure.js';
import type { BuildResult } from './report.js';

/**
 * frontend: buildpacks. One `buildctl build` of a generated Dockerfile whose RUN step is the CNB
 * lifecycle's creator in the builder image; the creator pushes the image and writes report.toml,
 * which is BuildKit's only output. The digest it reports is checked against the registry.
 */
export async function buildpacksOnce(
  config: BuildConfig,
  buildctl: Buildctl,
  deadline: number,
  attempt: number
): Promise<BuildResult> {
  // The directory holds the registry credentials (CNB_REGISTRY_AUTH): removed whatever happens.
  const work = tempDir('buildpacks');
  try {
    return await buildIn(work, config, buildctl, deadline, attempt);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function buildIn(
  work: string,
  config: BuildConfig,
  buildctl: Buildctl,
  deadline: number,
  attempt: number
): Promise<BuildResult> {
  const spec = buildpacksSpec(config);
  const dirs = {
    dockerfileDir: path.join(work, 'definition'),
    platformDir: path.join(work, 'platform'),
    outputDir: path.join(work, 'out')
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  const dockerfile = buildpacksDockerfile(spec, config.context.kind);
  core.debug(`Generated build definition:\n${dockerfile}`);
  writeFileSync(path.join(dirs.dockerfileDir, 'Dockerfile'), dockerfile);
  for (const [name, content] of platformFiles(spec)) {
    mkdirSync(path.dirname(path.join(dirs.platformDir, name)), { recursive: true });
    writeFileSync(path.join(dirs.platformDir, name), content);
  }
  const credentials = jobCredentials();
  const authFile = path.join(work, 'cnb-registry-auth.json');
  writeFileSync(authFile, JSON.stringify(cnbRegistryAuth(authMap(credentials), registries(spec))), {
    mode: 0o600
  });
  const run = await buildctl.buildWithArgs(
    buildpacksArgs({
      addr: config.addr,
      tls: config.tls,
      context: config.context,
      ...dirs,
      authFile,
      metadataFile: path.join(work, 'metadata.json'),
      // node:crypto loaded here rather than at start-up (≈ 5 ms in Node 24, before the build).
      nonce: builtin.crypto().randomUUID()
    }),
    path.join(work, 'metadata.json'),
    { timeoutMs: Math.max(1000, deadline - Date.now()) }
  );
  if (run.timedOut) {
    throw new SlipwayError(
      `The buildpacks build did not finish within the timeout (${formatGoDuration(config.timeoutMs)}) and was stopped.`,
      { hint: 'Raise the "timeout" input.' }
    );
  }
  if (run.exitCode !== 0) throw describeBuildpacksFailure(config, spec, run);
  const lifecycle = summarizeLifecycle(run.output);
  const reportFile = path.join(dirs.outputDir, 'report.toml');
  if (!existsSync(reportFile)) {
    throw new SlipwayError('The lifecycle wrote no report.toml: the image digest is unknown.', {
      hint: 'Check the build log: the builder image must hold a CNB lifecycle (/cnb/lifecycle/creator).'
    });
  }
  const report = parseReport(readFileSync(reportFile, 'utf8'));
  await checkDigest(config, report.digest, credentials);
  core.info(
    `Lifecycle: ${lifecycle.reusedLayers} layer(s) reused from the previous image, ${lifecycle.addedLayers} added.`
  );
  return {
    metadata: {
      digest: report.digest,
      imageNames: config.images.map(imageName),
      raw: {
        ...run.metadata?.raw,
        'containerimage.digest': report.digest,
        'image.name': config.images.map(imageName).join(','),
        'buildpacks.report': report,
        'buildpacks.builder': spec.builder,
        'buildpacks.layers': { reused: lifecycle.reusedLayers, added: lifecycle.addedLayers }
      }
    },
    steps: run.progress.counts(),
    durationMs: run.durationMs,
    attempts: attempt,
    lifecycle
  };
}

function buildpacksSpec(config: BuildConfig): BuildpacksSpec {
  if (!config.buildpacks) throw new SlipwayError('frontend: buildpacks has no settings.');
  return { ...config.buildpacks, images: config.images };
}

/** The registries the lifecycle talks to: the image's, and the run image's when given. */
function registries(spec: BuildpacksSpec): string[] {
  const names = spec.images.map(image => image.domain);
  if (spec.runImage) names.push(parseImageReference('run-image', spec.runImage).domain);
  return [...new Set(names)];
}

/** The job's registry login ($DOCKER_CONFIG/config.json), if any. */
function jobCredentials(): RegistryCredential[] {
  const file = path.join(dockerConfigDir(), 'config.json');
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  if (!/"auths"\s*:\s*\{\s*"/.test(text)) return [];
  const credentials = parseDockerConfig(text, file);
  for (const credential of credentials) registerSecret(credential.password);
  return credentials;
}

function authMap(credentials: RegistryCredential[]): Map<string, string> {
  return new Map(
    credentials.map(credential => {
      const auth = basicAuth(credential.username, credential.password);
      registerSecret(auth);
      return [credential.registry, auth];
    })
  );
}

/** The registry must serve the digest the lifecycle reported, else the outputs would lie. */
async function checkDigest(
  config: BuildConfig,
  digest: string | undefined,
  credentials: RegistryCredential[]
): Promise<void> {
  const first = config.images[0];
  if (!first || !digest) return;
  let served: string | undefined;
  try {
    served = await registryManifestDigest(
      first,
      credentials.find(credential => credential.registry === first.domain),
      {
        send: nodeHttpSend(),
        plainHttp: config.buildpacks?.insecureRegistries.includes(first.domain)
      }
    );
  } catch (error) {
    core.warning(
      `Could not check the digest against ${first.domain}: ${(error as Error).message} (NODE_EXTRA_CA_CERTS names a private CA).`
    );
    return;
  }
  if (served !== digest) {
    throw new SlipwayError(
      `The lifecycle reported ${digest} for ${imageName(first)}, but the registry serves ${served ?? 'no such tag'}.`,
      { hint: 'Another push may have moved the tag; build again, or deploy by a unique tag.' }
    );
  }
  core.info(`Registry ${first.domain} serves ${imageName(first)} as ${digest}.`);
}

const REGISTRY_HINT =
  "The lifecycle reads the previous image and pushes with the job's registry login ($DOCKER_CONFIG, e.g. from registry-login-from-secret) for the image's and the run image's registries; a plain-HTTP registry needs \"insecure-registries\".";
const PHASE_HINTS: Record<string, string> = {
  analyze: REGISTRY_HINT,
  restore: 'The CNB cache could not be restored; build again (the cache is an optimisation).',
  build:
    'A buildpack failed: its output is above. Check the app (dependencies, versions) and buildpack-env.',
  export: REGISTRY_HINT
};

/** Detection failed: which buildpacks ran and what they looked for; else the usual reading. */
function describeBuildpacksFailure(
  config: BuildConfig,
  spec: BuildpacksSpec,
  run: BuildRun
): BuildFailure {
  const lifecycle = summarizeLifecycle(run.output);
  if (lifecycle.detectFailed) {
    const tried = lifecycle.detectResults.join(', ') || 'none';
    return new BuildFailure(
      'build',
      `No buildpack of the builder ${spec.builder} detected this app (tried: ${tried}).`,
      run.output,
      run.progress,
      'Each buildpack looks for its own files (Node.js: package.json; Java: pom.xml or build.gradle; Procfile: a Procfile). Add them, pick buildpacks with the "buildpacks" input, use another builder, or add a Dockerfile.'
    );
  }
  const exit = lifecycleExit(run.output);
  if (exit) {
    const errors = lifecycle.errors.join('; ') || `exit code ${exit.code}`;
    const tail = run.progress.failedStep()?.log;
    return new BuildFailure(
      'build',
      `The buildpacks build failed in the ${exit.phase} phase (lifecycle exit code ${exit.code}): ${errors}${tail ? `\n--- last lines of the lifecycle ---\n${tail}` : ''}`,
      run.output,
      run.progress,
      PHASE_HINTS[exit.phase]
    );
  }
  const failure = describeFailure(config, run.output, run.progress);
  if (failure.kind === 'build' && /failed to resolve source metadata/.test(run.output)) {
    return new BuildFailure(
      'build',
      `The builder image ${spec.builder} could not be pulled: ${failure.message}`,
      run.output,
      run.progress,
      'Check "builder": the image must exist in a registry the BuildKit daemon can reach, with credentials in the job (registry-login-from-secret).'
    );
  }
  return failure;
}
