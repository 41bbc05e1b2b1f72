import { globalArgs, type BuildkitTls } from './address.js';
import { ghaServiceAttrs } from './gha-cache.js';
import {
  imageName,
  type BuildContext,
  type CacheSpec,
  type Frontend,
  type SecretSpec
} from './build-inputs.js';
import type { ImageReference } from '../reference.js';

/** buildctl's argument arrays (pure, unit-tested). */

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
export function secretArg(secret: SecretSpec): string {
  return secret.source.type === 'env'
    ? `id=${secret.id},env=${secret.source.name}`
    : `id=${secret.id},src=${secret.source.path}`;
}

/**
 * The spec string for buildctl. An export gets `ignore-error=true` unless set, because a cache is
 * an optimisation and must not fail a build that succeeded; a `gha` cache gets the runner's cache
 * service (protocol version, URL, token) from the environment, as buildx does.
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
  if (spec.type === 'gha') ghaServiceAttrs(attrs, env);
  return [
    `type=${spec.type}`,
    ...[...attrs].map(([key, value]) => csvField(`${key}=${value}`))
  ].join(',');
}

export function outputArg(images: ImageReference[], push: boolean): string {
  const names = images.map(imageName).join(',');
  return ['type=image', csvField(`name=${names}`), `push=${push}`].join(',');
}

export function buildctlArgs(
  spec: BuildSpec,
  env: Record<string, string | undefined> = process.env
): string[] {
  const args = globalArgs(spec.addr, spec.tls);
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
