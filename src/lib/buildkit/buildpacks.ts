import { InputError, SlipwayError } from '../errors.js';
import { quoteValue } from '../inputs.js';
import { parseImageReference, repositoryName, type ImageReference } from '../reference.js';
import { globalArgs, type BuildkitTls } from './address.js';
import { imageName, type BuildContext } from './build-inputs.js';

/**
 * Cloud Native Buildpacks inside BuildKit: a generated Dockerfile whose one RUN step is the CNB
 * lifecycle's `creator` in the builder image (source as the build context, registry credentials
 * as a secret, the CNB cache in a cache mount). The exporter pushes the image itself; BuildKit's
 * own output is only the lifecycle's report.toml. Pure, so that it is unit-tested without a builder.
 */

/** The current Paketo builder (Ubuntu 24.04 Noble; Java, Node.js, .NET, web servers, Procfile). */
export const DEFAULT_BUILDER = 'docker.io/paketobuildpacks/ubuntu-noble-builder:latest';
/** The Platform API Slipway speaks to the lifecycle (supported by lifecycle 0.17 and later). */
export const CNB_PLATFORM_API = '0.13';
/** The secret, named context and build argument the generated Dockerfile uses. */
export const CNB_AUTH_SECRET = 'cnb-registry-auth';
export const CNB_PLATFORM_CONTEXT = 'cnb-platform';
/**
 * A git source as a named context: with a git main context the Dockerfile frontend would read the
 * Dockerfile from the repository too, and an app built with buildpacks has none.
 */
export const CNB_SOURCE_CONTEXT = 'cnb-source';
export const BUILD_NONCE_ARG = 'SLIPWAY_BUILD_NONCE';

export interface BuildpackRef {
  id: string;
  version: string | undefined;
  /** A buildpack image (buildpackage) whose /cnb/buildpacks is copied into the builder. */
  image: string | undefined;
}

export interface BuildpacksSpec {
  builder: string;
  runImage: string | undefined;
  /** When set, the order: one group of these buildpacks (like `pack build --buildpack`). */
  buildpacks: BuildpackRef[];
  /** Build-time environment for buildpacks (`/platform/env/<NAME>`). */
  env: Array<[string, string]>;
  images: ImageReference[];
  /** Registries the lifecycle reaches over plain HTTP (CNB_INSECURE_REGISTRIES). */
  insecureRegistries: string[];
}

/** What ends up inside the Dockerfile: references only, checked character by character. */
const SAFE_REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._:/@-]*$/;
const BUILDPACK_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;
const BUILDPACK_VERSION = /^[0-9A-Za-z][0-9A-Za-z.+-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An image reference that may be written into the generated Dockerfile. */
export function parseDockerfileImage(input: string, value: string): string {
  const trimmed = value.trim();
  parseImageReference(input, trimmed);
  if (!SAFE_REFERENCE.test(trimmed)) {
    throw new InputError(input, `is not a plain image reference: ${quoteValue(value)}.`);
  }
  return trimmed;
}

/** `<id>`, `<id>@<version>`, or `<id>@<version>=<buildpack image>`. */
export function parseBuildpackRef(input: string, line: string): BuildpackRef {
  const value = line.trim();
  const eq = value.indexOf('=');
  const spec = eq === -1 ? value : value.slice(0, eq);
  const at = spec.indexOf('@');
  const id = at === -1 ? spec : spec.slice(0, at);
  const version = at === -1 ? undefined : spec.slice(at + 1);
  if (!BUILDPACK_ID.test(id) || (version !== undefined && !BUILDPACK_VERSION.test(version))) {
    throw new InputError(
      input,
      `lines must be <id>[@<version>] or <id>@<version>=<buildpack image>, e.g. paketo-buildpacks/procfile@5.13.4; got ${quoteValue(line)}.`
    );
  }
  const image = eq === -1 ? undefined : parseDockerfileImage(input, value.slice(eq + 1));
  if (image && !version) {
    throw new InputError(input, `needs the version of ${id} to use its image ${image}.`);
  }
  return { id, version, image };
}

/** Build-time variables (`BP_*` and friends); the lifecycle's own CNB_* are refused. */
export function parseBuildpackEnv(input: string, pairs: Array<[string, string]>): void {
  for (const [key] of pairs) {
    if (!ENV_NAME.test(key) || /^CNB_/i.test(key)) {
      throw new InputError(
        input,
        `has an invalid variable name ${quoteValue(key)} (letters, digits, _; CNB_* belong to the lifecycle).`
      );
    }
  }
}

const json = (value: unknown): string => JSON.stringify(value);

/** The creator's arguments: every image, the run image and the previous image for layer reuse. */
export function creatorArgs(spec: BuildpacksSpec): string[] {
  const [first, ...others] = spec.images.map(imageName);
  if (!first) throw new SlipwayError('No image to build.');
  const args = [
    '/cnb/lifecycle/creator',
    '-app=/workspace',
    '-layers=/layers',
    '-cache-dir=/cnb-cache',
    '-platform=/platform',
    `-previous-image=${first}`,
    '-report=/layers/report.toml'
  ];
  if (spec.runImage) args.push(`-run-image=${spec.runImage}`);
  if (spec.buildpacks.length > 0) args.push('-order=/platform/order.toml');
  for (const tag of others) args.push(`-tag=${tag}`);
  args.push(first);
  for (const arg of args) {
    if (!SAFE_REFERENCE.test(arg.replace(/^-[a-z-]+=/, '').replace(/^\//, 'x'))) {
      throw new SlipwayError(`Refusing to write ${quoteValue(arg)} into the build definition.`);
    }
  }
  return args;
}

/** The BuildKit cache mount id: one CNB cache per image repository. */
export function cnbCacheId(images: ImageReference[]): string {
  const first = images[0];
  const name = first ? repositoryName(first) : 'image';
  return `slipway-cnb-${name.replace(/[^A-Za-z0-9._-]+/g, '-')}`;
}

/**
 * The generated Dockerfile. Every interpolated value is a checked image reference, buildpack id or
 * version, or fixed text; user values with free text (build-time variables) go in files.
 */
export function buildpacksDockerfile(
  spec: BuildpacksSpec,
  source: BuildContext['kind'] = 'local'
): string {
  const lines = [`FROM ${parseDockerfileImage('builder', spec.builder)} AS build`, 'USER root'];
  for (const buildpack of spec.buildpacks) {
    if (buildpack.image) {
      lines.push(`COPY --from=${buildpack.image} /cnb/buildpacks/ /cnb/buildpacks/`);
    }
  }
  lines.push(
    // The app directory belongs to the CNB user, as buildpacks write into it (node_modules, …).
    `COPY --chown=\${CNB_USER_ID}:\${CNB_GROUP_ID} ${source === 'git' ? `--from=${CNB_SOURCE_CONTEXT} ` : ''}. /workspace`,
    `ENV CNB_PLATFORM_API=${CNB_PLATFORM_API}`
  );
  if (spec.insecureRegistries.length > 0) {
    const registries = spec.insecureRegistries.join(',');
    if (!SAFE_REFERENCE.test(registries.replace(/,/g, '/'))) {
      throw new SlipwayError(`Refusing insecure registry list ${quoteValue(registries)}.`);
    }
    lines.push(`ENV CNB_INSECURE_REGISTRIES=${registries}`);
  }
  lines.push(
    // A fresh value per build: BuildKit must run the creator every time (it pushes).
    `ARG ${BUILD_NONCE_ARG}`,
    [
      'RUN',
      `--mount=type=secret,id=${CNB_AUTH_SECRET},env=CNB_REGISTRY_AUTH`,
      `--mount=type=cache,id=${cnbCacheId(spec.images)},target=/cnb-cache`,
      `--mount=type=bind,from=${CNB_PLATFORM_CONTEXT},target=/platform`,
      json(creatorArgs(spec))
    ].join(' '),
    'FROM scratch',
    'COPY --from=build /layers/report.toml /report.toml',
    ''
  );
  return lines.join('\n');
}

/** Files of the platform directory: `env/<NAME>` per variable, and order.toml for `buildpacks`. */
export function platformFiles(spec: BuildpacksSpec): Map<string, string> {
  const files = new Map<string, string>();
  for (const [key, value] of spec.env) files.set(`env/${key}`, value);
  if (spec.buildpacks.length > 0) {
    const group = spec.buildpacks.map(
      bp =>
        `  [[order.group]]\n    id = ${json(bp.id)}\n${bp.version ? `    version = ${json(bp.version)}\n` : ''}`
    );
    files.set('order.toml', `[[order]]\n${group.join('')}`);
  }
  files.set('.slipway', 'platform directory written by Slipway\n');
  return files;
}

/**
 * CNB_REGISTRY_AUTH: `{"<registry>": "Basic <base64>"}` for the registries the lifecycle talks to
 * (output, previous and run images), from the job's docker config entries.
 */
export function cnbRegistryAuth(
  auths: Map<string, string>,
  registries: string[]
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const registry of registries) {
    const auth = auths.get(registry);
    if (auth) result[registry] = `Basic ${auth}`;
  }
  return result;
}

export interface BuildpacksArgsSpec {
  addr: string | undefined;
  tls?: BuildkitTls | undefined;
  context: BuildContext;
  /** The private directory with the generated Dockerfile. */
  dockerfileDir: string;
  platformDir: string;
  authFile: string;
  outputDir: string;
  metadataFile: string;
  nonce: string;
}

export function buildpacksArgs(spec: BuildpacksArgsSpec): string[] {
  const args = globalArgs(spec.addr, spec.tls);
  args.push('build', '--progress=plain', '--metadata-file', spec.metadataFile);
  args.push('--frontend=dockerfile.v0');
  if (spec.context.kind === 'git') {
    // The main context is the definition's own directory; the source is the named context.
    args.push('--local', `context=${spec.dockerfileDir}`);
    args.push('--opt', `context:${CNB_SOURCE_CONTEXT}=${spec.context.url}`);
  } else {
    args.push('--local', `context=${spec.context.dir}`);
  }
  args.push('--local', `dockerfile=${spec.dockerfileDir}`);
  args.push('--local', `${CNB_PLATFORM_CONTEXT}=${spec.platformDir}`);
  args.push('--opt', `context:${CNB_PLATFORM_CONTEXT}=local:${CNB_PLATFORM_CONTEXT}`);
  args.push('--opt', `build-arg:${BUILD_NONCE_ARG}=${spec.nonce}`);
  args.push('--secret', `id=${CNB_AUTH_SECRET},src=${spec.authFile}`);
  args.push('--output', `type=local,dest=${spec.outputDir}`);
  return args;
}

// ---------------------------------------------------------------------------------------------
// What the lifecycle reports
// ---------------------------------------------------------------------------------------------

export interface LifecycleReport {
  /** The pushed manifest digest (report.toml `[image] digest`). */
  digest: string | undefined;
  tags: string[];
  manifestSize: number | undefined;
}

/** report.toml's `[image]` table (the only part Slipway reads; a minimal TOML reader). */
export function parseReport(text: string): LifecycleReport {
  const image = /^\[image\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(text)?.[1] ?? '';
  const value = (key: string) => new RegExp(`^\\s*${key}\\s*=\\s*(.+?)\\s*$`, 'm').exec(image)?.[1];
  const digest = value('digest')?.replace(/^"|"$/g, '');
  const tags = [...(value('tags') ?? '').matchAll(/"([^"]*)"/g)].map(match => match[1] ?? '');
  const size = Number(value('manifest-size'));
  return {
    digest: digest && /^sha256:[0-9a-f]{64}$/.test(digest) ? digest : undefined,
    tags,
    manifestSize: Number.isFinite(size) && size > 0 ? size : undefined
  };
}

/** buildctl's plain progress line without its `#N 0.123 ` prefix and colours. */
function lifecycleLines(output: string): string[] {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const raw of output.split('\n')) {
    const line = raw
      .replace(/\x1b\[[0-9;]*m/g, '') // eslint-disable-line no-control-regex
      .replace(/^#\d+ \d+\.\d+ /, '')
      .replace(/^\d+\.\d+ /, '')
      .trimEnd();
    if (!seen.has(line)) lines.push(line);
    seen.add(line);
  }
  return lines;
}

export interface LifecycleSummary {
  /** `pass:`/`fail:`/`skip:` results of detection, e.g. `fail: slipway/procfile@0.1.0`. */
  detectResults: string[];
  detectFailed: boolean;
  /** The group that passed detection, e.g. `slipway/procfile 0.1.0`. */
  group: string[];
  /** Layers taken from the previous image unchanged (`Reusing layer …`, app layers included). */
  reusedLayers: number;
  addedLayers: number;
  /** The lifecycle's ERROR lines. */
  errors: string[];
}

export function summarizeLifecycle(output: string): LifecycleSummary {
  const lines = lifecycleLines(output);
  let reusedLayers = 0;
  let addedLayers = 0;
  let phase = '';
  const group: string[] = [];
  for (const line of lines) {
    phase = /^===> (\w+)/.exec(line)?.[1] ?? phase;
    if (phase === 'DETECTING' && /^[\w./-]+ [\w.+-]+$/.test(line)) group.push(line);
    if (/^Reusing layer '/.test(line)) reusedLayers++;
    else if (/^Adding layer '/.test(line)) addedLayers++;
    const app = /^(Reused|Added) (\d+)\/\d+ app layer\(s\)/.exec(line);
    if (app?.[1] === 'Reused') reusedLayers += Number(app[2]);
    else if (app) addedLayers += Number(app[2]);
  }
  return {
    detectResults: lines.filter(line => /^(pass|fail|skip): \S+/.test(line)),
    detectFailed: lines.some(line =>
      /No buildpack groups passed detection|no buildpacks participating/.test(line)
    ),
    group,
    reusedLayers,
    addedLayers,
    errors: lines.filter(line => line.startsWith('ERROR: ')).map(line => line.slice(7))
  };
}

/** The lifecycle's exit code groups (Platform API 0.13): 20-29 detect, 30-39 analyze, … */
const PHASES: Array<[number, string]> = [
  [20, 'detect'],
  [30, 'analyze'],
  [40, 'restore'],
  [50, 'build'],
  [60, 'export']
];

/** The creator's exit code and the phase it names, when the creator step failed. */
export function lifecycleExit(output: string): { code: number; phase: string } | undefined {
  const match =
    /\/cnb\/lifecycle\/creator[^\n]*did not complete successfully: exit code: (\d+)/.exec(output);
  if (!match) return undefined;
  const code = Number(match[1]);
  const byCode = [...PHASES].reverse().find(([start]) => code >= start && code < start + 10);
  // A generic failure (exit code 1) is placed by the last phase header the lifecycle printed.
  const headers = [...output.matchAll(/===> (ANALYZ|DETECT|RESTOR|BUILD|EXPORT)ING/g)];
  const header = headers.at(-1)?.[1]?.toLowerCase();
  const byHeader = header === 'analyz' ? 'analyze' : header === 'restor' ? 'restore' : header;
  return { code, phase: byCode?.[1] ?? byHeader ?? 'lifecycle' };
}
