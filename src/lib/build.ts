import { InputError, SlipwayError } from './errors.js';
import { tlsArgs, type BuildkitTls } from './buildkit.js';
import { quoteValue } from './inputs.js';
import { parseImageReference, repositoryName, type ImageReference } from './reference.js';

/**
 * `buildctl build` as data: parsing of the build inputs (contexts, secrets, caches, tags), the
 * argument array, and reading back what buildctl reports (metadata file, plain progress, failures).
 * Everything here is pure so that it is unit-tested without a builder.
 */

// ---------------------------------------------------------------------------------------------
// Build contexts
// ---------------------------------------------------------------------------------------------

export interface GitContext {
  kind: 'git';
  /** The URL exactly as BuildKit takes it, `#ref:subdir` fragment included. */
  url: string;
  /** The repository URL without the fragment (for logs and summaries). */
  repository: string;
  ref: string | undefined;
  subdir: string | undefined;
}

export interface LocalContext {
  kind: 'local';
  dir: string;
}

export type BuildContext = LocalContext | GitContext;

const GIT_SCHEMES = ['https://', 'http://', 'git://', 'ssh://'];
const SCP_LIKE_GIT = /^[\w.-]+@[\w.-]+:/;

export function isGitContext(raw: string): boolean {
  const value = raw.trim();
  return GIT_SCHEMES.some(scheme => value.startsWith(scheme)) || SCP_LIKE_GIT.test(value);
}

/**
 * A git URL with an optional `#ref:subdir` fragment, BuildKit's own syntax. BuildKit treats an
 * http(s) URL as a git repository only when its path ends in `.git` (otherwise it downloads it as
 * a tarball), so that is checked here rather than discovered as a confusing build error.
 */
export function parseGitContext(name: string, raw: string): GitContext {
  const value = raw.trim();
  const hash = value.indexOf('#');
  const repository = hash === -1 ? value : value.slice(0, hash);
  const fragment = hash === -1 ? '' : value.slice(hash + 1);
  const expected =
    'a git URL such as https://git.example.com/team/app.git#v1.0.0:app (https://, git://, ssh:// or user@host:path; optional #ref:subdir)';
  if (/\s/.test(value)) throw new InputError(name, `must be ${expected}; got ${quoteValue(raw)}.`);
  if (!SCP_LIKE_GIT.test(repository)) {
    let url: URL;
    try {
      url = new URL(repository);
    } catch {
      throw new InputError(name, `must be ${expected}; got ${quoteValue(raw)}.`);
    }
    if (!url.hostname) throw new InputError(name, `must be ${expected}; got ${quoteValue(raw)}.`);
    if (url.password) {
      throw new InputError(
        name,
        'must not embed a password in the URL: it would appear in logs and build metadata.',
        { hint: 'Give the builder git credentials through a secret (GIT_AUTH_TOKEN) instead.' }
      );
    }
    if ((url.protocol === 'https:' || url.protocol === 'http:') && !url.pathname.endsWith('.git')) {
      throw new InputError(
        name,
        `is an http(s) URL whose path does not end in .git; BuildKit would fetch it as a tarball, not a git repository. Got ${quoteValue(raw)}.`
      );
    }
  }
  const colon = fragment.indexOf(':');
  const ref = (colon === -1 ? fragment : fragment.slice(0, colon)) || undefined;
  const subdir = colon === -1 ? undefined : fragment.slice(colon + 1) || undefined;
  if (subdir && (subdir.startsWith('/') || subdir.split('/').includes('..'))) {
    throw new InputError(name, `has a subdir that leaves the repository: ${quoteValue(subdir)}.`);
  }
  return { kind: 'git', url: value, repository, ref, subdir };
}

// ---------------------------------------------------------------------------------------------
// Frontends
// ---------------------------------------------------------------------------------------------

export type FrontendMode = 'auto' | 'dockerfile' | 'gateway';
export type Frontend = 'dockerfile' | 'gateway';
export const FRONTEND_MODES: readonly FrontendMode[] = ['auto', 'dockerfile', 'gateway'];

/**
 * The default gateway frontend: the buildpacks frontend the seed pipeline uses. It runs Cloud
 * Foundry v2 buildpacks (tonistiigi/buildkit-pack) and downloads buildpacks at build time; it is
 * the seed's choice, kept so that a repository without a Dockerfile builds as it did before.
 */
export const DEFAULT_FRONTEND_IMAGE = 'docker.io/kiamol/buildkit-buildpacks:latest';

/**
 * `auto` picks the Dockerfile frontend when a Dockerfile exists, else the gateway. With a git
 * context the repository is not on this machine, so `auto` means the Dockerfile frontend (which
 * reads the Dockerfile from the repository); set `frontend: gateway` for a buildpacks build.
 */
export function selectFrontend(
  mode: FrontendMode,
  context: BuildContext,
  dockerfileExists: boolean
): Frontend {
  if (mode !== 'auto') return mode;
  if (context.kind === 'git') return 'dockerfile';
  return dockerfileExists ? 'dockerfile' : 'gateway';
}

// ---------------------------------------------------------------------------------------------
// Secrets, caches, tags
// ---------------------------------------------------------------------------------------------

export interface SecretSpec {
  id: string;
  source: { type: 'file'; path: string } | { type: 'env'; name: string };
}

const SECRET_ID = /^[A-Za-z0-9._-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `id=…,src=…` (a file) or `id=…,env=…` (an environment variable); BuildKit reads the value. */
export function parseSecretSpec(name: string, line: string): SecretSpec {
  const fields = parseCsvFields(name, line);
  const expected = 'id=<id>,src=<file> or id=<id>,env=<VARIABLE>';
  const id = fields.get('id');
  const src = fields.get('src') ?? fields.get('source');
  const env = fields.get('env');
  const unknown = [...fields.keys()].filter(key => !['id', 'src', 'source', 'env'].includes(key));
  if (!id || unknown.length > 0 || (src === undefined) === (env === undefined)) {
    throw new InputError(name, `lines must have the form ${expected}; got ${quoteValue(line)}.`);
  }
  if (!SECRET_ID.test(id)) {
    throw new InputError(
      name,
      `has an invalid secret id ${quoteValue(id)} (letters, digits, ._-).`
    );
  }
  if (env !== undefined) {
    if (!ENV_NAME.test(env)) {
      throw new InputError(name, `has an invalid environment variable name ${quoteValue(env)}.`);
    }
    return { id, source: { type: 'env', name: env } };
  }
  return { id, source: { type: 'file', path: src ?? '' } };
}

export function secretArg(secret: SecretSpec): string {
  return secret.source.type === 'env'
    ? `id=${secret.id},env=${secret.source.name}`
    : `id=${secret.id},src=${secret.source.path}`;
}

export const CACHE_TYPES = ['registry', 'inline', 'local', 'gha', 's3', 'azblob'] as const;
export type CacheType = (typeof CACHE_TYPES)[number];

export interface CacheSpec {
  type: CacheType;
  attrs: Array<[string, string]>;
}

/**
 * A cache spec as buildctl takes it (`type=registry,ref=…,mode=max`), or the shorthand of a bare
 * image reference meaning `type=registry,ref=<it>`.
 */
export function parseCacheSpec(name: string, line: string): CacheSpec {
  const value = line.trim();
  if (!value.includes('=')) {
    parseImageReference(name, value);
    return { type: 'registry', attrs: [['ref', value]] };
  }
  const fields = parseCsvFields(name, value);
  const type = fields.get('type');
  if (!type || !(CACHE_TYPES as readonly string[]).includes(type)) {
    throw new InputError(
      name,
      `needs type= one of ${CACHE_TYPES.join(', ')} (or a bare image reference for a registry cache); got ${quoteValue(line)}.`
    );
  }
  if (type === 'registry' && !fields.get('ref')) {
    throw new InputError(name, `type=registry needs ref=<image reference>.`);
  }
  if (type === 'registry') parseImageReference(name, fields.get('ref') ?? '');
  if (type === 'local' && !fields.get('src') && !fields.get('dest')) {
    throw new InputError(name, 'type=local needs src=<dir> (cache-from) or dest=<dir> (cache-to).');
  }
  return {
    type: type as CacheType,
    attrs: [...fields.entries()].filter(([key]) => key !== 'type')
  };
}

/**
 * The spec string for buildctl. An export gets `ignore-error=true` unless set, because a cache is
 * an optimisation and must not fail a build that succeeded; a `gha` cache gets the runner's cache
 * service URL and token from the environment, as docker/build-push-action does.
 */
export function cacheArg(
  spec: CacheSpec,
  direction: 'import' | 'export',
  env: Record<string, string | undefined> = process.env
): string {
  const attrs = new Map(spec.attrs);
  if (direction === 'export' && spec.type !== 'inline' && !attrs.has('ignore-error')) {
    attrs.set('ignore-error', 'true');
  }
  if (spec.type === 'gha') {
    if (!attrs.has('url') && env.ACTIONS_CACHE_URL) attrs.set('url', env.ACTIONS_CACHE_URL);
    if (!attrs.has('url_v2') && env.ACTIONS_RESULTS_URL)
      attrs.set('url_v2', env.ACTIONS_RESULTS_URL);
    if (!attrs.has('token') && env.ACTIONS_RUNTIME_TOKEN)
      attrs.set('token', env.ACTIONS_RUNTIME_TOKEN);
  }
  return [
    `type=${spec.type}`,
    ...[...attrs].map(([key, value]) => csvField(`${key}=${value}`))
  ].join(',');
}

/** Placeholders resolved in `image` and `tags`: `{{sha}}`, `{{short-sha}}`, `{{run}}`. */
export function resolvePlaceholders(
  name: string,
  value: string,
  env: Record<string, string | undefined> = process.env
): string {
  return value.replace(/\{\{\s*([\w-]+)\s*\}\}/g, (_, key: string) => {
    const source: Record<string, [string, (v: string) => string]> = {
      sha: ['GITHUB_SHA', v => v],
      'short-sha': ['GITHUB_SHA', v => v.slice(0, 7)],
      run: ['GITHUB_RUN_NUMBER', v => v],
      'run-attempt': ['GITHUB_RUN_ATTEMPT', v => v]
    };
    const entry = source[key];
    if (!entry) {
      throw new InputError(
        name,
        `uses an unknown placeholder {{${key}}}; known: ${Object.keys(source)
          .map(k => `{{${k}}}`)
          .join(', ')}.`
      );
    }
    const [variable, transform] = entry;
    const raw = env[variable];
    if (!raw) throw new InputError(name, `uses {{${key}}} but ${variable} is not set.`);
    return transform(raw);
  });
}

/**
 * The full image names to build: each `image` with its own tag as written, and each untagged
 * `image` once per `tags` entry (or as `:latest` when there are none). Digests are refused:
 * a build produces a digest, it cannot be told one.
 */
export function expandImageNames(
  imageInput: string,
  tagsInput: string,
  images: string[],
  tags: string[],
  env: Record<string, string | undefined> = process.env
): ImageReference[] {
  if (images.length === 0)
    throw new InputError(imageInput, 'is required: at least one image name.');
  const resolvedTags = tags.map(tag => resolvePlaceholders(tagsInput, tag, env));
  for (const tag of resolvedTags) {
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) {
      throw new InputError(
        tagsInput,
        `has an invalid tag ${quoteValue(tag)} (letters, digits, _ . -, at most 128, not starting with . or -).`
      );
    }
  }
  const references: ImageReference[] = [];
  for (const raw of images) {
    const reference = parseImageReference(imageInput, resolvePlaceholders(imageInput, raw, env));
    if (reference.digest) {
      throw new InputError(
        imageInput,
        `must name a tag, not a digest (${quoteValue(raw)}); the digest is an output of the build.`
      );
    }
    if (reference.tag) references.push(reference);
    else if (resolvedTags.length === 0) references.push({ ...reference, tag: 'latest' });
    else for (const tag of resolvedTags) references.push({ ...reference, tag });
  }
  const seen = new Set<string>();
  return references.filter(reference => {
    const key = imageName(reference);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** `name:tag` as the user wrote the repository (no docker.io expansion). */
export function imageName(reference: ImageReference): string {
  return `${repositoryName(reference)}:${reference.tag ?? 'latest'}`;
}

// ---------------------------------------------------------------------------------------------
// The argument array
// ---------------------------------------------------------------------------------------------

export interface BuildSpec {
  addr: string | undefined;
  /** TLS files for a tcp:// builder (from setup-buildctl's BUILDKIT_TLS_* variables). */
  tls?: BuildkitTls | undefined;
  context: BuildContext;
  frontend: Frontend;
  /** The gateway image (`--opt source=`); used only with the gateway frontend. */
  frontendImage: string;
  /** Local contexts: the directory holding the Dockerfile (or the context when there is none). */
  dockerfileDir: string | undefined;
  /** Dockerfile name relative to `dockerfileDir` (local) or to the git subdir (git). */
  dockerfileName: string | undefined;
  target: string | undefined;
  buildArgs: Array<[string, string]>;
  labels: Array<[string, string]>;
  platforms: string[];
  secrets: SecretSpec[];
  frontendOpts: Array<[string, string]>;
  images: ImageReference[];
  push: boolean;
  cacheFrom: CacheSpec[];
  cacheTo: CacheSpec[];
  /** `attest:provenance` value, e.g. `mode=min`; undefined leaves the builder's default. */
  provenance: string | undefined;
  /** `attest:sbom` value; undefined means no SBOM. */
  sbom: string | undefined;
  metadataFile: string;
}

/** buildctl parses `--output` and friends as CSV: a field with a comma or quote is quoted. */
export function csvField(field: string): string {
  return /[",\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

export function outputArg(images: ImageReference[], push: boolean): string {
  const names = images.map(imageName).join(',');
  return ['type=image', csvField(`name=${names}`), `push=${push}`].join(',');
}

export function buildctlArgs(
  spec: BuildSpec,
  env: Record<string, string | undefined> = process.env
): string[] {
  const args: string[] = [];
  if (spec.addr) args.push('--addr', spec.addr, ...tlsArgs(spec.addr, spec.tls));
  args.push('build', '--progress=plain', '--metadata-file', spec.metadataFile);
  if (spec.frontend === 'gateway') {
    args.push('--frontend=gateway.v0', '--opt', `source=${spec.frontendImage}`);
  } else {
    args.push('--frontend=dockerfile.v0');
  }
  const opt = (key: string, value: string): void => {
    args.push('--opt', `${key}=${value}`);
  };
  if (spec.context.kind === 'git') {
    opt('context', spec.context.url);
  } else {
    args.push('--local', `context=${spec.context.dir}`);
    args.push('--local', `dockerfile=${spec.dockerfileDir ?? spec.context.dir}`);
  }
  if (spec.dockerfileName) opt('filename', spec.dockerfileName);
  if (spec.target) opt('target', spec.target);
  for (const [key, value] of spec.buildArgs) opt(`build-arg:${key}`, value);
  for (const [key, value] of spec.labels) opt(`label:${key}`, value);
  if (spec.platforms.length > 0) opt('platform', spec.platforms.join(','));
  if (spec.provenance !== undefined) opt('attest:provenance', spec.provenance);
  if (spec.sbom !== undefined) opt('attest:sbom', spec.sbom);
  for (const [key, value] of spec.frontendOpts) opt(key, value);
  for (const secret of spec.secrets) args.push('--secret', secretArg(secret));
  for (const cache of spec.cacheFrom) args.push('--import-cache', cacheArg(cache, 'import', env));
  for (const cache of spec.cacheTo) args.push('--export-cache', cacheArg(cache, 'export', env));
  args.push('--output', outputArg(spec.images, spec.push));
  return args;
}

// ---------------------------------------------------------------------------------------------
// Reading back: metadata, progress, failures
// ---------------------------------------------------------------------------------------------

export interface BuildMetadata {
  /** The manifest (or, for multi-platform builds, index) digest: what `name@digest` pulls. */
  digest: string | undefined;
  imageNames: string[];
  raw: Record<string, unknown>;
}

export function parseMetadata(text: string): BuildMetadata {
  let raw: unknown;
  try {
    raw = JSON.parse(text || '{}');
  } catch (error) {
    throw new SlipwayError('buildctl wrote a metadata file that is not JSON.', { cause: error });
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SlipwayError('buildctl wrote a metadata file that is not a JSON object.');
  }
  const record = raw as Record<string, unknown>;
  const digest = record['containerimage.digest'];
  const names = record['image.name'];
  return {
    digest: typeof digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(digest) ? digest : undefined,
    imageNames: typeof names === 'string' && names ? names.split(',') : [],
    raw: record
  };
}

export interface StepCounts {
  /** Build steps BuildKit answered from its cache. */
  cached: number;
  /** Build steps that ran. */
  executed: number;
}

interface Vertex {
  name: string;
  lines: string[];
  cached: boolean;
  done: boolean;
  error: boolean;
}

/** Internal vertices (loading definitions, transferring context, exporting) are not build steps. */
function isBuildStep(name: string): boolean {
  return !/^(\[internal\]|\[auth\]|exporting |importing cache|resolve image config|load |transferring|preparing |writing image|naming to|pushing |inferred cache|copying files)/.test(
    name
  );
}

/** Follows `--progress=plain` output: `#N name`, `#N CACHED`, `#N DONE 0.1s`, `#N ERROR: …`. */
export class ProgressTracker {
  private readonly vertices = new Map<string, Vertex>();
  private readonly order: string[] = [];
  readonly trailer: string[] = [];

  push(line: string): void {
    const match = /^#(\d+) (.*)$/.exec(line);
    if (!match) {
      if (line.trim() !== '') this.trailer.push(line);
      return;
    }
    const [, id = '', text = ''] = match;
    let vertex = this.vertices.get(id);
    if (!vertex) {
      vertex = { name: text, lines: [], cached: false, done: false, error: false };
      this.vertices.set(id, vertex);
      this.order.push(id);
      return;
    }
    if (text === 'CACHED') vertex.cached = true;
    else if (/^DONE \d/.test(text)) vertex.done = true;
    else if (text.startsWith('ERROR')) vertex.error = true;
    vertex.lines.push(text);
  }

  /** Whether the builder answered at all (any vertex seen): an unreachable builder shows none. */
  get started(): boolean {
    return this.order.length > 0;
  }

  counts(): StepCounts {
    let cached = 0;
    let executed = 0;
    for (const vertex of this.vertices.values()) {
      if (!isBuildStep(vertex.name)) continue;
      if (vertex.cached) cached++;
      else if (vertex.done) executed++;
    }
    return { cached, executed };
  }

  /** The first vertex that failed, with the tail of its own log lines. */
  failedStep(maxLines = 25): { name: string; log: string } | undefined {
    for (const id of this.order) {
      const vertex = this.vertices.get(id);
      if (vertex?.error) {
        return { name: vertex.name, log: vertex.lines.slice(-maxLines).join('\n') };
      }
    }
    return undefined;
  }
}

export type FailureKind =
  'unauthorized' | 'unreachable' | 'transient' | 'no-dockerfile' | 'frontend' | 'build';

const UNAUTHORIZED =
  /\b401\b|unauthorized|authentication required|no basic auth credentials|failed to authorize|denied: requested access/i;
const UNREACHABLE =
  /connection refused|failed to dial|no such file or directory.*\.sock|dial (?:tcp|unix)|error reading server preface|failed to list workers|name resolver error|no such host/i;
const TRANSIENT =
  /connection reset by peer|broken pipe|unexpected EOF|i\/o timeout|TLS handshake timeout|\b50[0234]\b(?: \w+)*|Service Unavailable|Bad Gateway|Gateway Timeout|Internal Server Error|too many requests|\b429\b|rpc error: code = (?:Unavailable|Internal) desc = (?:transport|connection)/i;
const NO_DOCKERFILE =
  /failed to read dockerfile|dockerfile: no such file|open (?:\S*\/)?Dockerfile\S*: no such file|failed to find target/i;
const FRONTEND_FAILED =
  /failed to (?:resolve|load) (?:source metadata|frontend)|frontend .* not (?:found|supported)|invalid frontend|unsupported frontend|source metadata for/i;

/**
 * What a failed buildctl run means. Registry auth first (a push 401 also shows as an ERROR on the
 * exporting step), then an unreachable builder (nothing built), then transient network and 5xx
 * errors, then the frontend, and last an ordinary failed build — never retried.
 */
export function classifyFailure(output: string, progressStarted: boolean): FailureKind {
  const errorLines = output
    .split('\n')
    .filter(line => /error|fail|denied|refused|reset|status|unauthori[sz]ed/i.test(line))
    .join('\n');
  if (UNAUTHORIZED.test(errorLines)) return 'unauthorized';
  if (!progressStarted && UNREACHABLE.test(errorLines)) return 'unreachable';
  if (TRANSIENT.test(errorLines) && !/did not complete successfully/.test(errorLines))
    return 'transient';
  if (NO_DOCKERFILE.test(errorLines)) return 'no-dockerfile';
  if (FRONTEND_FAILED.test(errorLines)) return 'frontend';
  return 'build';
}

/** `Dockerfile:12` lines point at the failing instruction; used for the error annotation. */
export function failingDockerfileLine(output: string): number | undefined {
  const match = /^\s*(?:\S*\/)?\S*Dockerfile\S*:(\d+)\s*$/m.exec(output);
  return match ? Number(match[1]) : undefined;
}

/** The `ERROR: …` summary buildctl prints last, without its timestamp noise. */
export function buildErrorMessage(output: string): string | undefined {
  const lines = output.split('\n').filter(line => /^(?:error|ERROR)[: ]/.test(line.trim()));
  const last = lines.at(-1)?.trim();
  return last ? last.replace(/^(?:error|ERROR):\s*/, '') : undefined;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Splits `a=1,b="x,y"` into fields the way buildctl's CSV reader does. */
export function parseCsvFields(name: string, line: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const field of splitCsv(name, line)) {
    const eq = field.indexOf('=');
    if (eq <= 0) throw new InputError(name, `has a field without key=value: ${quoteValue(field)}.`);
    const key = field.slice(0, eq).trim().toLowerCase();
    if (fields.has(key)) throw new InputError(name, `sets ${quoteValue(key)} twice in one line.`);
    fields.set(key, field.slice(eq + 1).trim());
  }
  return fields;
}

function splitCsv(name: string, line: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (char === '"') {
      if (quoted && line[i + 1] === '"') {
        current += '"';
        i++;
      } else quoted = !quoted;
    } else if (char === ',' && !quoted) {
      fields.push(current);
      current = '';
    } else current += char;
  }
  if (quoted) throw new InputError(name, `has an unterminated quote in ${quoteValue(line)}.`);
  fields.push(current);
  return fields.map(field => field.trim()).filter(field => field !== '');
}
