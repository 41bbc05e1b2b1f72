import { readFileSync } from 'node:fs';
import { repositoryName, type ImageReference } from '../reference.js';
import type { CacheSpec } from './build-inputs.js';

/**
 * BuildKit's `type=gha` cache, the GitHub Actions cache service: which protocol the runner offers
 * (and where), and a default `scope` per image and branch. Pure but for the event payload read.
 */

/**
 * Whether the runner offers the v2 cache service (twirp at ACTIONS_RESULTS_URL). The runner says
 * so with ACTIONS_CACHE_SERVICE_V2, which actions/toolkit and buildx read the same way; without it
 * (GHES, act's cache server) the service is v1 at ACTIONS_CACHE_URL. ACTIONS_RESULTS_URL alone
 * proves nothing: act sets it to its artifact server, which has no cache service.
 */
export function cacheServiceV2(env: Record<string, string | undefined>): boolean {
  const value = env.ACTIONS_CACHE_SERVICE_V2?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

/**
 * The cache service's URL, protocol version and token from the runner's environment, where the
 * spec does not set them. BuildKit picks v2 whenever `url_v2` is given, so it is given only with
 * v2; `version` is set explicitly so that BuildKit does not guess from the URL.
 */
export function ghaServiceAttrs(
  attrs: Map<string, string>,
  env: Record<string, string | undefined>
): void {
  const version = attrs.get('version');
  const v2 = version
    ? version === '2'
    : attrs.has('url_v2') || (!attrs.has('url') && cacheServiceV2(env));
  if (v2) {
    if (!attrs.has('url_v2') && env.ACTIONS_RESULTS_URL)
      attrs.set('url_v2', env.ACTIONS_RESULTS_URL);
  } else if (!attrs.has('url') && env.ACTIONS_CACHE_URL) {
    attrs.set('url', env.ACTIONS_CACHE_URL);
  }
  if (!version) attrs.set('version', v2 ? '2' : '1');
  if (!attrs.has('token') && env.ACTIONS_RUNTIME_TOKEN) {
    attrs.set('token', env.ACTIONS_RUNTIME_TOKEN);
  }
}

/** What the default scope is made of: the first image, and what else makes one build differ. */
export interface ScopeParts {
  images: ImageReference[];
  target: string | undefined;
  platforms: string[];
}

/**
 * The default scope: the first image's repository, `#target` and `[platforms]` when set, and
 * `@ref`, e.g. `registry.example.com/team/app@main` or `…/app#build[linux/arm64]@v1.2.0`. BuildKit's
 * default (`buildkit`, one scope for everything) makes every image built in a repository overwrite
 * the others' cache index, and every branch overwrite the default branch's on cache servers whose
 * tokens do not separate branches (act, self-hosted servers).
 */
export function ghaScope(parts: ScopeParts, ref: string | undefined): string {
  const first = parts.images[0];
  const name = first ? repositoryName(first) : 'image';
  const target = parts.target ? `#${parts.target}` : '';
  const platforms = parts.platforms.length > 0 ? `[${parts.platforms.join('+')}]` : '';
  // Cache keys may not hold commas (the v1 protocol lists keys comma-separated).
  return `${name}${target}${platforms}${ref ? `@${ref}` : ''}`.replace(/[,\s]/g, '_');
}

/**
 * The refs a build's cache is read from, own first: the branch or tag (`GITHUB_REF_NAME`, e.g.
 * `main`, `v1.2.0`, `42/merge` for a pull request), then a pull request's base branch and the
 * repository's default branch, so that the first build of a branch starts from theirs.
 */
export function cacheRefs(
  env: Record<string, string | undefined>,
  defaultBranch = readDefaultBranch(env)
): string[] {
  const refs = [env.GITHUB_REF_NAME, env.GITHUB_BASE_REF, defaultBranch]
    .map(ref => ref?.trim())
    .filter((ref): ref is string => Boolean(ref));
  return [...new Set(refs)];
}

/** `repository.default_branch` from the event payload (GITHUB_EVENT_PATH), if there is one. */
export function readDefaultBranch(env: Record<string, string | undefined>): string | undefined {
  if (!env.GITHUB_EVENT_PATH) return undefined;
  try {
    const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as {
      repository?: { default_branch?: unknown };
    };
    const branch = event.repository?.default_branch;
    return typeof branch === 'string' && branch ? branch : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `type=gha` specs without a `scope` get the default one: an export writes its own ref's scope;
 * an import reads its own ref's, then the base and default branches' (one import each). Specs
 * with a scope, and other cache types, are left as they are.
 */
export function withGhaScopes(
  specs: CacheSpec[],
  direction: 'import' | 'export',
  parts: ScopeParts,
  refs: string[]
): CacheSpec[] {
  return specs.flatMap(spec => {
    if (spec.type !== 'gha' || spec.attrs.some(([key]) => key === 'scope')) return [spec];
    const scopes = (refs.length > 0 ? refs : [undefined]).map(ref => ghaScope(parts, ref));
    return (direction === 'export' ? scopes.slice(0, 1) : scopes).map(scope => ({
      ...spec,
      attrs: [...spec.attrs, ['scope', scope] as [string, string]]
    }));
  });
}
