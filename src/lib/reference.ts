import { InputError } from './errors.js';
import { quoteValue } from './inputs.js';

/**
 * Container image references, following the grammar of distribution/reference:
 *   [domain[:port]/]path[:tag][@digest]
 * Parsed strictly so that a typo fails at input validation, not after a ten-minute build.
 */
export interface ImageReference {
  /** Registry host (and port) as written, or `docker.io` when omitted. */
  domain: string;
  /** Repository path, e.g. `slipway/sample-app` (`library/x` for Docker Hub official images). */
  path: string;
  tag: string | undefined;
  /** `sha256:<hex>` when pinned. */
  digest: string | undefined;
  /** Whether the domain was written explicitly (tools normalise a missing one to Docker Hub). */
  explicitDomain: boolean;
}

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}';
const DOMAIN_PATTERN = new RegExp(`^${DOMAIN}$`);
const REMAINDER_PATTERN = new RegExp(
  `^(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`
);
const MAX_NAME_LENGTH = 255;

const EXPECTED =
  'an image reference such as registry.example.com:5000/team/app:1.2 or ghcr.io/org/app@sha256:<64 hex> (lowercase repository path; optional :tag and @digest)';

/** A first path element is a registry only if it looks like a host: has `.` or `:`, or is localhost. */
function splitDomain(raw: string): { domain: string | undefined; rest: string } {
  const slash = raw.indexOf('/');
  if (slash === -1) return { domain: undefined, rest: raw };
  const first = raw.slice(0, slash);
  if (
    first.includes('.') ||
    first.includes(':') ||
    first === 'localhost' ||
    first !== first.toLowerCase()
  ) {
    return { domain: first, rest: raw.slice(slash + 1) };
  }
  return { domain: undefined, rest: raw };
}

export function parseImageReference(name: string, raw: string): ImageReference {
  const value = raw.trim();
  if (value === '') throw new InputError(name, `is required: ${EXPECTED}.`);
  const invalid = (): never => {
    throw new InputError(name, `must be ${EXPECTED}; got ${quoteValue(raw)}.`);
  };
  const { domain, rest } = splitDomain(value);
  if (domain !== undefined && !DOMAIN_PATTERN.test(domain)) return invalid();
  const match = REMAINDER_PATTERN.exec(rest);
  if (!match) return invalid();
  const [, path = '', tag, digest] = match;
  if (digest?.startsWith('sha256:') && !/^sha256:[0-9a-f]{64}$/.test(digest)) return invalid();
  const fullName = domain ? `${domain}/${path}` : path;
  if (fullName.length > MAX_NAME_LENGTH) {
    throw new InputError(name, `has a repository name longer than ${MAX_NAME_LENGTH} characters.`);
  }
  return {
    domain: domain ?? 'docker.io',
    path: domain === undefined && !path.includes('/') ? `library/${path}` : path,
    tag,
    digest,
    explicitDomain: domain !== undefined
  };
}

/**
 * `domain/path` as the user wrote it (no Docker Hub expansion): the name to pin a digest on. Only
 * Docker Hub's official-image form `library/<name>` is shortened, to the `<name>` it stands for;
 * `library/team/app` is another repository than `team/app` and is kept whole.
 */
export function repositoryName(reference: ImageReference): string {
  if (reference.explicitDomain) return `${reference.domain}/${reference.path}`;
  return /^library\/[^/]+$/.test(reference.path)
    ? reference.path.slice('library/'.length)
    : reference.path;
}

export function formatReference(reference: ImageReference): string {
  const tag = reference.tag ? `:${reference.tag}` : '';
  const digest = reference.digest ? `@${reference.digest}` : '';
  return `${repositoryName(reference)}${tag}${digest}`;
}

/** The deployable, immutable form: `name@sha256:…` (re-using a tag then still rolls out). */
export function pinDigest(reference: ImageReference, digest: string): string {
  return `${repositoryName(reference)}@${digest}`;
}
