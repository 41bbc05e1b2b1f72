import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_BUILDER,
  DEFAULT_FRONTEND_IMAGE,
  FRONTEND_MODES,
  cacheRefs,
  expandImageNames,
  isGitContext,
  parseCacheSpec,
  parseGitContext,
  parseRemoteBuildkitAddr,
  parseBuildpackEnv,
  parseBuildpackRef,
  parseDockerfileImage,
  parseSecretSpec,
  selectFrontend,
  tlsFromEnv,
  withGhaScopes,
  type BuildContext,
  type BuildSpec,
  type BuildpacksSpec,
  type FrontendMode,
  type SecretSpec
} from '../lib/buildkit/index.js';
import { InputError } from '../lib/errors.js';
import { quoteValue, resolveLocalPath, type Inputs } from '../lib/inputs.js';
import { parseImageReference } from '../lib/reference.js';

/**
 * Everything the build needs, validated before buildctl runs: the buildctl argument spec (minus
 * the per-run metadata file) plus what only the action uses.
 */
export interface BuildConfig extends Omit<BuildSpec, 'metadataFile'> {
  /** The frontend input as given (`auto` picks one: the log says which). */
  frontendMode: FrontendMode;
  /** The Dockerfile as the user would recognise it (for annotations and the summary). */
  dockerfileDisplay: string | undefined;
  /** frontend: buildpacks — the CNB lifecycle in the builder image (images filled in by run). */
  buildpacks: Omit<BuildpacksSpec, 'images'> | undefined;
  timeoutMs: number;
}

const REGISTRY_HOST = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?$/;
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;
const BUILD_ARG_KEY = { pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, description: 'a variable name' };
const OPT_KEY = { pattern: /^[A-Za-z0-9:._/-]+$/, description: 'a frontend option name' };
/** File secrets larger than this are not read for masking (certificates, keystores). */
const MAX_MASKED_SECRET_FILE = 64 * 1024;

export function readConfig(
  inputs: Inputs,
  env: Record<string, string | undefined> = process.env
): BuildConfig {
  const context = readContext(inputs);
  const mode = inputs.enum('frontend', FRONTEND_MODES, 'auto');
  const dockerfile = readDockerfile(inputs, context);
  const frontend = selectFrontend(mode, context, dockerfile.exists);
  if (frontend === 'dockerfile' && context.kind === 'local' && !dockerfile.exists) {
    throw new InputError('dockerfile', `names no file: ${dockerfile.display} does not exist.`, {
      hint:
        mode === 'dockerfile'
          ? 'Add a Dockerfile, point "dockerfile" at it, or use frontend: auto / gateway to build with the buildpacks frontend.'
          : 'Point "dockerfile" at an existing file.'
    });
  }
  const frontendImage = inputs.string('frontend-image', { default: DEFAULT_FRONTEND_IMAGE });
  parseImageReference('frontend-image', frontendImage);
  const rawAddr = inputs.string('addr') || env.BUILDKIT_HOST?.trim() || '';
  const push = inputs.boolean('push', true);
  const images = expandImageNames(
    'image',
    'tags',
    inputs.list('image', { commas: true }),
    inputs.list('tags', { commas: true }),
    env
  );
  const target = inputs.optionalString('target');
  const platforms = readPlatforms(inputs);
  // type=gha without a scope: one per image and ref (withGhaScopes), read from the base branch too.
  const scope = { images, target, platforms };
  const refs = cacheRefs(env);
  return {
    addr: rawAddr
      ? parseRemoteBuildkitAddr(inputs.string('addr') ? 'addr' : 'addr (BUILDKIT_HOST)', rawAddr)
      : undefined,
    tls: tlsFromEnv(env),
    context,
    frontend,
    frontendMode: mode,
    frontendImage,
    dockerfileDir: dockerfile.dir,
    dockerfileName: dockerfile.exists || context.kind === 'git' ? dockerfile.name : undefined,
    dockerfileDisplay: dockerfile.exists || context.kind === 'git' ? dockerfile.display : undefined,
    target,
    buildArgs: inputs.keyValues('build-args', { key: BUILD_ARG_KEY }),
    labels: inputs.keyValues('labels'),
    platforms,
    secrets: readSecrets(inputs, env),
    frontendOpts: inputs.keyValues('frontend-opts', { key: OPT_KEY }),
    images,
    push,
    cacheFrom: withGhaScopes(
      inputs.list('cache-from').map(line => parseCacheSpec('cache-from', line)),
      'import',
      scope,
      refs
    ),
    cacheTo: withGhaScopes(
      inputs.list('cache-to').map(line => parseCacheSpec('cache-to', line)),
      'export',
      scope,
      refs
    ),
    provenance: readAttestation(inputs, 'provenance', 'mode=min'),
    sbom: readAttestation(inputs, 'sbom', ''),
    buildpacks: frontend === 'buildpacks' ? readBuildpacks(inputs, push) : undefined,
    timeoutMs: inputs.duration('timeout', '30m')
  };
}

/**
 * BuildKit image settings that a buildpacks build would silently drop (the lifecycle exports the
 * image; BuildKit's output is only report.toml), with what to use instead.
 */
const NOT_WITH_BUILDPACKS: Record<string, string> = {
  labels:
    'Labels come from buildpacks: with the Paketo builder, set BP_IMAGE_LABELS (key=value pairs) or BP_OCI_* in buildpack-env (paketo-buildpacks/image-labels).',
  provenance:
    'BuildKit attestations do not cover a lifecycle build. Sign or attest the pushed digest in a later step (e.g. cosign attest with the "digest" output).',
  sbom: 'The lifecycle stores the buildpacks\' SBOMs in the image itself (Paketo buildpacks write CycloneDX and Syft SBOMs; read them with `pack sbom download`). Remove "sbom".',
  'cache-from':
    'Buildpacks reuse layers from the previous image (the first image name) and keep their cache in a BuildKit cache mount on the builder. Remove "cache-from", or keep a long-lived builder (setup-buildctl) so the cache survives.',
  'cache-to':
    'Buildpacks reuse layers from the previous image (the first image name) and keep their cache in a BuildKit cache mount on the builder. Remove "cache-to", or keep a long-lived builder (setup-buildctl) so the cache survives.'
};

/**
 * The buildpacks frontend's inputs. The lifecycle exports (pushes) the image itself and builds
 * for the builder's platform from the builder's order, so the Dockerfile-only inputs are refused.
 */
function readBuildpacks(inputs: Inputs, push: boolean): Omit<BuildpacksSpec, 'images'> {
  for (const name of ['build-args', 'target', 'platforms', 'frontend-opts']) {
    if (inputs.string(name)) {
      throw new InputError(
        name,
        'applies to Dockerfile builds only, not to frontend: buildpacks.',
        {
          hint: 'Buildpacks take build-time settings from buildpack-env (BP_* variables).'
        }
      );
    }
  }
  for (const [name, hint] of Object.entries(NOT_WITH_BUILDPACKS)) {
    const value = inputs.string(name);
    // provenance/sbom: false says "none", which is what a buildpacks build does anyway.
    if (value && !/^(false|False|FALSE)$/.test(value)) {
      throw new InputError(
        name,
        'is not applied by frontend: buildpacks: the CNB lifecycle writes and pushes the image, not BuildKit.',
        { hint }
      );
    }
  }
  if (!push) {
    throw new InputError('push', 'must be true with frontend: buildpacks.', {
      hint: 'The CNB lifecycle exports the image straight to the registry; there is no local image.'
    });
  }
  const runImage = inputs.optionalString('run-image');
  const env = inputs.keyValues('buildpack-env');
  parseBuildpackEnv('buildpack-env', env);
  return {
    builder: parseDockerfileImage(
      'builder',
      inputs.string('builder', { default: DEFAULT_BUILDER })
    ),
    runImage: runImage === undefined ? undefined : parseDockerfileImage('run-image', runImage),
    buildpacks: inputs.list('buildpacks').map(line => parseBuildpackRef('buildpacks', line)),
    env,
    insecureRegistries: inputs.list('insecure-registries', { commas: true }).map(registry => {
      if (!REGISTRY_HOST.test(registry)) {
        throw new InputError(
          'insecure-registries',
          `has an invalid host[:port] ${quoteValue(registry)}.`
        );
      }
      return registry;
    })
  };
}

function readContext(inputs: Inputs): BuildContext {
  const raw = inputs.string('context', { default: '.' });
  if (isGitContext(raw)) return parseGitContext('context', raw);
  const dir = resolveLocalPath('context', raw, process.cwd());
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new InputError('context', `names no directory: ${dir} does not exist.`, {
      hint: 'Check out the repository first (actions/checkout), or give a git URL ending in .git.'
    });
  }
  return { kind: 'local', dir };
}

interface DockerfileLocation {
  exists: boolean;
  dir: string | undefined;
  name: string;
  display: string;
}

/**
 * Local contexts: `dockerfile` is a path from the working directory (default
 * `<context>/Dockerfile`), as in docker/build-push-action. Git contexts: a path inside the
 * repository, relative to the `#ref:subdir` directory.
 */
function readDockerfile(inputs: Inputs, context: BuildContext): DockerfileLocation {
  const raw = inputs.optionalString('dockerfile');
  if (context.kind === 'git') {
    const name = raw ?? 'Dockerfile';
    if (path.isAbsolute(name) || name.split('/').includes('..')) {
      throw new InputError(
        'dockerfile',
        'must be a path inside the git context when context is a git URL.'
      );
    }
    return { exists: true, dir: undefined, name, display: `${context.url} → ${name}` };
  }
  const file = raw
    ? resolveLocalPath('dockerfile', raw, process.cwd())
    : path.join(context.dir, 'Dockerfile');
  const exists = existsSync(file) && statSync(file).isFile();
  return {
    exists,
    dir: exists ? path.dirname(file) : context.dir,
    name: path.basename(file),
    display: path.relative(process.cwd(), file) || file
  };
}

function readPlatforms(inputs: Inputs): string[] {
  const platforms = inputs.list('platforms', { commas: true });
  for (const platform of platforms) {
    if (!PLATFORM.test(platform)) {
      throw new InputError(
        'platforms',
        `has an invalid platform ${quoteValue(platform)} (os/arch or os/arch/variant, e.g. linux/amd64, linux/arm64/v8).`
      );
    }
  }
  return platforms;
}

/** Secret values never reach arguments: BuildKit reads the file or variable itself. */
function readSecrets(inputs: Inputs, env: Record<string, string | undefined>): SecretSpec[] {
  const secrets = inputs.list('secrets').map(line => parseSecretSpec('secrets', line));
  const ids = new Set<string>();
  for (const secret of secrets) {
    if (ids.has(secret.id))
      throw new InputError('secrets', `defines secret id "${secret.id}" twice.`);
    ids.add(secret.id);
    if (secret.source.type === 'env' && env[secret.source.name] === undefined) {
      throw new InputError(
        'secrets',
        `secret "${secret.id}" reads environment variable ${secret.source.name}, which is not set.`,
        { hint: 'Set it on the step: env: { NAME: ${{ secrets.NAME }} }.' }
      );
    }
    if (secret.source.type === 'file') {
      const file = path.resolve(secret.source.path);
      if (!existsSync(file) || !statSync(file).isFile()) {
        throw new InputError(
          'secrets',
          `secret "${secret.id}" names no file: ${quoteValue(file)}.`
        );
      }
      secret.source = { type: 'file', path: file };
    }
  }
  return secrets;
}

/** The secret values, so the caller can mask them before anything runs. */
export function secretValues(
  secrets: SecretSpec[],
  env: Record<string, string | undefined> = process.env
): string[] {
  return secrets.flatMap(secret => {
    if (secret.source.type === 'env') return [env[secret.source.name] ?? ''];
    const size = statSync(secret.source.path).size;
    return size <= MAX_MASKED_SECRET_FILE ? [readFileSync(secret.source.path, 'utf8').trim()] : [];
  });
}

/** `true` → the default attestation, `false`/empty → none, anything else → passed as given. */
function readAttestation(inputs: Inputs, name: string, whenTrue: string): string | undefined {
  const raw = inputs.string(name);
  if (raw === '' || /^(false|False|FALSE)$/.test(raw)) return undefined;
  if (/^(true|True|TRUE)$/.test(raw)) return whenTrue;
  if (!/^[\w-]+=[^,]*(?:,[\w-]+=[^,]*)*$/.test(raw)) {
    throw new InputError(
      name,
      `must be true, false or BuildKit attestation options such as mode=max; got "${raw}".`
    );
  }
  return raw;
}
