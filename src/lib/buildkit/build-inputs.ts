import { InputError } from '../errors.js';
import { quoteValue } from '../inputs.js';
import { parseImageReference, repositoryName, type ImageReference } from '../reference.js';

/**
 * The parts of a `buildctl build` as data, parsed from the action's inputs: contexts, frontends,
 * secrets, caches and image names. Pure, so that it is unit-tested without a builder.
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

export type FrontendMode = 'auto' | 'dockerfile' | 'buildpacks' | 'gateway';
export type Frontend = 'dockerfile' | 'buildpacks' | 'gateway';
export const FRONTEND_MODES: readonly FrontendMode[] = [
  'auto',
  'dockerfile',
  'buildpacks',
  'gateway'
];

/**
 * The default gateway frontend (`frontend: gateway`): the seed pipeline's Cloud Foundry v2
 * buildpacks frontend (tonistiigi/buildkit-pack), unmaintained since 2019; `frontend: buildpacks`
 * (Cloud Native Buildpacks) replaces it as what `auto` picks without a Dockerfile.
 */
export const DEFAULT_FRONTEND_IMAGE = 'docker.io/kiamol/buildkit-buildpacks:latest';

/**
 * `auto` picks the Dockerfile frontend when a Dockerfile exists, else buildpacks. With a git
 * context the repository is not on this machine, so `auto` means the Dockerfile frontend (which
 * reads the Dockerfile from the repository); set `frontend: buildpacks` for a buildpacks build.
 */
export function selectFrontend(
  mode: FrontendMode,
  context: BuildContext,
  dockerfileExists: boolean
): Frontend {
  if (mode !== 'auto') return mode;
  if (context.kind === 'git') return 'dockerfile';
  return dockerfileExists ? 'dockerfile' : 'buildpacks';
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
