import * as core from '@actions/core';
import { manifestObjects } from '../lib/helm/index.js';
import type { DeployConfig } from './config.js';
import type { Context } from './context.js';
import { ociRegistryConfig } from './values.js';

/**
 * A chart that builds its image from values of its own (`{{ .Values.registry }}/…:{{ .Values.build }}`)
 * ignores the `image` Slipway writes to `image-values`: the deploy is then not pinned to what was
 * pushed. After rendering, the manifest's images are compared with the pushed reference; when none
 * matches, a warning names `image-values` and the chart's values that look like image parts.
 */

type Image = NonNullable<DeployConfig['image']>;

/** What was pushed: `repository@digest`, else `repository:tag` (`latest` when untagged). */
export function pushedReference(image: Image): string {
  return image.digest
    ? `${image.repository}@${image.digest}`
    : `${image.repository}:${image.tag ?? 'latest'}`;
}

/** Every string under a key named `image` in the manifest's objects (containers, init containers…). */
export async function renderedImages(manifest: string): Promise<string[]> {
  const found: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'image' && typeof value === 'string') found.push(value);
        else walk(value);
      }
    }
  };
  (await manifestObjects(manifest)).forEach(walk);
  return found;
}

/**
 * Whether a rendered image is the pushed one: `repository@digest` (a tag between them allowed) when
 * a digest was pushed, else `repository:tag` (optionally followed by a digest).
 */
export function usesImage(rendered: readonly string[], image: Image): boolean {
  return rendered.some(ref => {
    if (image.digest) {
      return (
        ref.endsWith(`@${image.digest}`) &&
        (ref.startsWith(`${image.repository}@`) || ref.startsWith(`${image.repository}:`))
      );
    }
    const tagged = `${image.repository}:${image.tag ?? 'latest'}`;
    return (
      ref === tagged || ref.startsWith(`${tagged}@`) || (!image.tag && ref === image.repository)
    );
  });
}

const IMAGE_PART = /image|repo|registry|tag|digest|user|org|owner|build/i;
const NOT_IMAGE_PART = /pull/i;

/**
 * The `--set` keys of the chart's values that look like image parts: scalars whose key names an
 * image part (`image`, `repository`, `registry`, `tag`, `digest`, `user`, `build`…) and every
 * scalar under a map whose key does. At most `limit` keys.
 */
export function imageLikeKeys(values: Record<string, unknown>, limit = 20): string[] {
  const keys: string[] = [];
  const walk = (node: unknown, path: string, inside: boolean): void => {
    if (keys.length >= limit) return;
    if (Array.isArray(node)) {
      node.forEach((item, index) => walk(item, `${path}[${index}]`, inside));
    } else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        const name = key.replace(/[.,=[\]{}\\]/g, '\\$&');
        if (NOT_IMAGE_PART.test(key)) continue;
        walk(value, path ? `${path}.${name}` : name, inside || IMAGE_PART.test(key));
      }
    } else if (inside && path) {
      keys.push(path);
    }
  };
  walk(values, '', false);
  return keys;
}

/** The warning's text: what was pushed, what the chart rendered, where the image should go. */
export function unusedImageMessage(
  image: Image,
  imageValues: DeployConfig['imageValues'],
  rendered: readonly string[],
  candidates: readonly string[] | undefined
): string {
  const mapping = Object.entries(imageValues)
    .map(([part, key]) => `${part}=${key}`)
    .join(', ');
  const seen = rendered.length > 0 ? [...new Set(rendered)].join(', ') : 'no image at all';
  const hint =
    candidates === undefined
      ? "(the chart's values could not be read)"
      : candidates.length > 0
        ? `the chart's values that look like image parts: ${candidates.join(', ')}`
        : "the chart's values have no key that looks like an image part";
  return (
    `The rendered manifest does not use the pushed image ${pushedReference(image)} (it has ${seen}): ` +
    `the chart ignores the keys image-values writes to (${mapping}), so the deploy is not pinned to ` +
    `what was pushed. Set image-values to the chart's keys, or set them with set/set-string; ${hint}.`
  );
}

/**
 * After rendering: a warning (annotation; returned for the summary) when `image` was given and the
 * manifest does not use it. Never fails the deploy.
 */
export async function checkImageUsed(ctx: Context, manifest: string): Promise<string | undefined> {
  const { config } = ctx;
  if (!config.image) return undefined;
  const rendered = await renderedImages(manifest);
  if (usesImage(rendered, config.image)) return undefined;
  const defaults = await ctx.helm
    .showValues({
      chart: config.chart,
      chartVersion: config.chartVersion,
      repoUrl: config.repoUrl,
      caFile: config.caFile,
      registryConfig: ociRegistryConfig(config.chart)
    })
    .catch(() => undefined);
  const message = unusedImageMessage(
    config.image,
    config.imageValues,
    rendered,
    defaults && imageLikeKeys(defaults)
  );
  core.warning(message, { title: 'image-values' });
  return message;
}
