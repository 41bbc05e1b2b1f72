import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../lib/errors.js';
import { loadYaml11, yaml11Parser } from '../lib/yaml11.js';
import {
  Inputs,
  isValidLabelKey,
  isValidLabelValue,
  parseInteger,
  parseNamespace,
  parseReleaseName,
  parseResourceName,
  parseSha256,
  quoteValue,
  resolveLocalPath
} from '../lib/inputs.js';
import { parseImageReference, repositoryName, type ImageReference } from '../lib/reference.js';
import { workspace as runnerWorkspace } from '../lib/runner.js';
import { mergeSetValues, parseSetLines } from '../lib/strvals.js';
import { parseVersionSpec, type VersionSpec } from '../lib/tools.js';
import { readExpiryInputs } from './expiry.js';
import type { PullSecretSpec } from './pull-secret.js';
import type { SmokeCheckSpec } from './smoke-check.js';
import { generatedValues } from './values.js';

export type DeployAction = 'deploy' | 'delete' | 'sweep';

export interface DeployConfig {
  action: DeployAction;
  /** Empty with action: sweep, which works on every expired namespace instead of one release. */
  release: string;
  /** Empty with action: sweep. */
  namespace: string;
  /** Local directory/archive (resolved), `repo/name`, `oci://…`, or a name in `repoUrl`. */
  chart: string;
  chartVersion: string | undefined;
  repoUrl: string | undefined;
  caFile: string | undefined;
  valuesFiles: string[];
  /**
   * The `values` input (a YAML mapping), then every `set` line, then every `set-string` line,
   * applied as helm applies `--set`/`--set-string` (lib/strvals); undefined when all are empty.
   */
  values: Record<string, unknown> | undefined;
  /** The image to pin, split into the parts the chart's value paths take. */
  image: { repository: string; tag: string | undefined; digest: string | undefined } | undefined;
  /** The `--set` keys (e.g. `image.repository`) the image's parts are written to. */
  imageValues: Record<ImagePart, string>;
  helmVersion: VersionSpec | undefined;
  helmDownloadUrl: string | undefined;
  token: string | undefined;
  apiUrl: string;
  kubeconfig: string | undefined;
  context: string | undefined;
  createNamespace: boolean;
  namespaceLabels: Record<string, string>;
  namespaceAnnotations: Record<string, string>;
  setContextNamespace: boolean;
  atomic: boolean;
  wait: boolean;
  timeoutMs: number;
  /** How long to wait for another deploy of the release to finish (0: fail at once). */
  lockTimeoutMs: number;
  force: boolean;
  dryRun: boolean;
  historyMax: number | undefined;
  recover: 'fail' | 'rollback';
  deleteNamespace: 'auto' | 'true' | 'false';
  /** The pull secret to make in the target namespace, when `image-pull-secret` is set. */
  pullSecret: PullSecretSpec | undefined;
  /** The smoke check after the rollout, when `check-path` is set. */
  check: SmokeCheckSpec | undefined;
  /** With deploy: how long the namespace lives after this deploy (`ttl`, stamped as expires-at). */
  ttlMs: number | undefined;
  /** With sweep: the namespaces' label selector, always including managed-by=slipway. */
  sweepSelector: string | undefined;
}

export type ImagePart = 'repository' | 'tag' | 'digest';

const DEFAULT_IMAGE_VALUES: Record<ImagePart, string> = {
  repository: 'image.repository',
  tag: 'image.tag',
  digest: 'image.digest'
};

const LABEL_KEY_RULE = {
  pattern: { test: isValidLabelKey },
  description:
    'a Kubernetes label key: an optional DNS prefix and "/", then at most 63 letters, digits, "-", "_" or "."'
};

function readLabels(inputs: Inputs, name: string, checkValues: boolean): Record<string, string> {
  const pairs = inputs.keyValues(name, { key: LABEL_KEY_RULE });
  for (const [key, value] of pairs) {
    if (checkValues && !isValidLabelValue(value)) {
      throw new InputError(
        name,
        `value of ${quoteValue(key)} must be a label value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit; got ${quoteValue(value)}.`
      );
    }
  }
  return Object.fromEntries(pairs);
}

const CHART_EXPECTED =
  'a chart directory or .tgz in the workspace, repo/name (with repo-url or a repo added by helm repo add), or oci://registry/path/chart';

export function parseChart(raw: string, workspace: string): string {
  const value = raw.trim();
  if (value.startsWith('oci://')) {
    if (!/^oci:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+$/.test(value)) {
      throw new InputError('chart', `must be ${CHART_EXPECTED}; got ${quoteValue(raw)}.`);
    }
    return value;
  }
  if (value.startsWith('-') || /^[a-z]+:\/\//.test(value)) {
    throw new InputError('chart', `must be ${CHART_EXPECTED}; got ${quoteValue(raw)}.`);
  }
  const looksLocal =
    value.startsWith('.') ||
    value.startsWith('/') ||
    value.endsWith('.tgz') ||
    value.split('/').length > 2;
  if (looksLocal) return resolveLocalPath('chart', value, workspace);
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)?$/.test(value)) {
    throw new InputError('chart', `must be ${CHART_EXPECTED}; got ${quoteValue(raw)}.`);
  }
  return value;
}

/** The lines of `set`/`set-string`, each one helm `--set`/`--set-string` argument. */
function readSetLines(inputs: Inputs, name: string): string[] {
  return inputs.string(name, { multiline: true }).split('\n');
}

/** `values`, then `set`, then `set-string`, as helm merges them; bad lines are input errors. */
function readChartValues(inputs: Inputs): Record<string, unknown> | undefined {
  const values = mergeSetValues(
    readValues(inputs),
    readSetLines(inputs, 'set'),
    readSetLines(inputs, 'set-string')
  );
  return Object.keys(values).length > 0 ? values : undefined;
}

/**
 * Loads the YAML reader when the `values` input is set: readConfig parses it synchronously, and
 * only then is it needed (lib/yaml11.ts).
 */
export async function loadValuesReader(inputs: Inputs): Promise<void> {
  if (inputs.raw('values').trim() !== '') await loadYaml11();
}

function readValues(inputs: Inputs): Record<string, unknown> | undefined {
  const text = inputs.optionalString('values', { multiline: true });
  if (!text) return undefined;
  // YAML 1.1, as helm reads a values file: `enabled: yes` is true here as it is there.
  const parse = yaml11Parser();
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    throw new InputError('values', `must be a YAML mapping of chart values: ${reason}`);
  }
  if (parsed === null || parsed === undefined) return undefined;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InputError('values', 'must be a YAML mapping of chart values (key: value lines).');
  }
  return parsed as Record<string, unknown>;
}

function readImage(inputs: Inputs): DeployConfig['image'] {
  const raw = inputs.optionalString('image');
  const digestInput = parseSha256('digest', inputs.raw('digest'));
  if (!raw) {
    if (digestInput)
      throw new InputError('digest', 'needs the image input (the repository to pin).');
    return undefined;
  }
  const reference = parseImageReference('image', raw);
  const digest = digestInput ? `sha256:${digestInput}` : reference.digest;
  if (digestInput && reference.digest && reference.digest !== digest) {
    throw new InputError('digest', 'differs from the digest already in the image input.');
  }
  return { ...deployImage(reference), digest };
}

/** An image reference split into the parts the chart's value paths take. */
export function deployImage(reference: ImageReference): NonNullable<DeployConfig['image']> {
  return { repository: repositoryName(reference), tag: reference.tag, digest: reference.digest };
}

function readImageValues(inputs: Inputs): DeployConfig['imageValues'] {
  const paths = { ...DEFAULT_IMAGE_VALUES };
  for (const [part, key] of inputs.keyValues('image-values')) {
    if (!(part in DEFAULT_IMAGE_VALUES)) {
      throw new InputError(
        'image-values',
        `maps ${quoteValue(part)}; only repository, tag and digest can be mapped (e.g. repository=image.repository).`
      );
    }
    paths[part as ImagePart] = checkValuePath(key.trim());
  }
  return paths;
}

/** A `--set` key that names exactly one value (`image.tag`, `app.images[0].ref`). */
function checkValuePath(key: string): string {
  const probe = 'slipway-probe';
  const leaves = stringLeaves(
    parseSetLines([`${key}=${probe}`], { typed: false, input: 'image-values' })
  );
  if (leaves.length !== 1 || leaves[0] !== probe) {
    throw new InputError(
      'image-values',
      `maps to ${quoteValue(key)}, which is not one value's key; write a --set key such as image.repository.`
    );
  }
  return key;
}

function stringLeaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value !== null && typeof value === 'object')
    return Object.values(value).flatMap(stringLeaves);
  return [];
}

function readPullSecret(inputs: Inputs): PullSecretSpec | undefined {
  const name = inputs.optionalString('image-pull-secret');
  const fromRaw = inputs.optionalString('image-pull-secret-from');
  const serviceAccountRaw = inputs.optionalString('pull-secret-service-account');
  if (!name) {
    for (const [input, value] of [
      ['image-pull-secret-from', fromRaw],
      ['pull-secret-service-account', serviceAccountRaw]
    ] as const) {
      if (value) throw new InputError(input, 'needs image-pull-secret (the Secret to make).');
    }
    return undefined;
  }
  let from: PullSecretSpec['from'];
  if (fromRaw) {
    const parts = fromRaw.split('/');
    if (parts.length !== 2) {
      throw new InputError(
        'image-pull-secret-from',
        `must be <namespace>/<secret name>, e.g. ci/registry-credentials; got ${quoteValue(fromRaw)}.`
      );
    }
    from = {
      namespace: parseNamespace('image-pull-secret-from', parts[0] ?? ''),
      name: parseResourceName('image-pull-secret-from', parts[1] ?? '')
    };
  }
  return {
    name: parseResourceName('image-pull-secret', name),
    from,
    serviceAccount: serviceAccountRaw
      ? parseResourceName('pull-secret-service-account', serviceAccountRaw)
      : undefined
  };
}

// An absolute URL path (query allowed) without dot segments or encoded separators, which could
// lead the proxied request out of the Service's proxy path.
const CHECK_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*(\?[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*)?$/;
const UNSAFE_PATH = /(^|\/)\.{1,2}(\/|\?|$)|%2e|%2f|%5c/i;

function readCheck(inputs: Inputs): SmokeCheckSpec | undefined {
  const path = inputs.optionalString('check-path');
  if (!path) {
    for (const input of ['check-service', 'check-status']) {
      if (inputs.raw(input).trim())
        throw new InputError(input, 'needs check-path (the path to GET).');
    }
    return undefined;
  }
  if (!CHECK_PATH.test(path) || UNSAFE_PATH.test(path.split('?')[0] ?? '')) {
    throw new InputError(
      'check-path',
      `must be a URL path starting with "/", e.g. /healthz (no spaces, "." or ".." segments); got ${quoteValue(path)}.`
    );
  }
  const service = inputs.optionalString('check-service');
  const statuses = inputs
    .list('check-status', { commas: true })
    .map(code => parseInteger('check-status', code, { min: 100, max: 599 }) as number);
  return {
    path,
    service: service ? parseResourceName('check-service', service) : undefined,
    timeoutMs: inputs.duration('check-timeout', '60s'),
    statuses: statuses.length > 0 ? statuses : undefined
  };
}

/** Validates every input before helm or the cluster is touched. */
export function readConfig(inputs: Inputs, env = process.env): DeployConfig {
  const workspace = runnerWorkspace(env);
  const action = inputs.enum('action', ['deploy', 'delete', 'sweep'] as const, 'deploy');
  const expiry = readExpiryInputs(inputs, action);
  const sweep = action === 'sweep';
  const release = sweep ? '' : parseReleaseName('release', inputs.raw('release'));
  const namespace = sweep ? '' : parseNamespace('namespace', inputs.raw('namespace'));
  const chartRaw = inputs.string('chart');
  if (action === 'deploy' && chartRaw === '') {
    throw new InputError('chart', `is required to deploy: ${CHART_EXPECTED}.`);
  }
  const repoUrl = inputs.optionalString('repo-url');
  if (repoUrl && !/^(https?|oci):\/\/\S+$/.test(repoUrl)) {
    throw new InputError(
      'repo-url',
      `must be an http(s) chart repository URL; got ${quoteValue(repoUrl)}.`
    );
  }
  const chartVersion = inputs.optionalString('chart-version');
  if (chartVersion && !/^[A-Za-z0-9.^~<>=*|, +-]+$/.test(chartVersion)) {
    throw new InputError(
      'chart-version',
      `must be a chart version or semver range such as 1.2.3 or ^1.2; got ${quoteValue(chartVersion)}.`
    );
  }
  const helmVersionRaw = inputs.raw('helm-version').trim();
  const helmDownloadUrl = inputs.optionalString('helm-download-url');
  if (helmDownloadUrl && !/^https?:\/\/\S+$/.test(helmDownloadUrl)) {
    throw new InputError(
      'helm-download-url',
      'must be an http(s) URL template, e.g. https://mirror/helm/helm-{version}-linux-{arch}.tar.gz.'
    );
  }
  const caFileRaw = inputs.optionalString('ca-file');
  const historyMax = parseInteger('history-max', inputs.raw('history-max'), { min: 0, max: 1000 });
  const config: DeployConfig = {
    action,
    release,
    namespace,
    chart: chartRaw ? parseChart(chartRaw, workspace) : '',
    chartVersion,
    repoUrl,
    caFile: caFileRaw ? resolveLocalPath('ca-file', caFileRaw, workspace) : undefined,
    valuesFiles: inputs
      .list('values-files', { commas: true })
      .map(file => resolveLocalPath('values-files', file, workspace)),
    values: readChartValues(inputs),
    image: readImage(inputs),
    imageValues: readImageValues(inputs),
    helmVersion: helmVersionRaw ? parseVersionSpec('helm-version', helmVersionRaw) : undefined,
    helmDownloadUrl,
    token: inputs.optionalString('github-token', { secret: true }),
    apiUrl: inputs.string('github-api-url', {
      default: env.GITHUB_API_URL || 'https://api.github.com'
    }),
    kubeconfig: inputs.optionalString('kubeconfig'),
    context: inputs.optionalString('context'),
    createNamespace: inputs.boolean('create-namespace', true),
    namespaceLabels: readLabels(inputs, 'namespace-labels', true),
    namespaceAnnotations: readLabels(inputs, 'namespace-annotations', false),
    setContextNamespace: inputs.boolean('set-context-namespace', false),
    atomic: inputs.boolean('atomic', true),
    wait: inputs.boolean('wait', true),
    timeoutMs: inputs.duration('timeout', '5m'),
    lockTimeoutMs: inputs.duration('lock-timeout', '10m', { allowZero: true }),
    force: inputs.boolean('force', false),
    dryRun: inputs.boolean('dry-run', false),
    historyMax,
    recover: inputs.enum('recover', ['fail', 'rollback'] as const, 'fail'),
    deleteNamespace: inputs.enum('delete-namespace', ['auto', 'true', 'false'] as const, 'auto'),
    pullSecret: readPullSecret(inputs),
    check: readCheck(inputs),
    ...expiry
  };
  // The image's keys must fit the tree `set` built (image.tag under a string image is refused).
  generatedValues({ ...config, image: { repository: 'r', tag: 't', digest: 'd' } });
  return config;
}

/** Local charts and values files must exist before anything runs. */
export function checkLocalFiles(config: DeployConfig): void {
  if (config.action === 'deploy' && path.isAbsolute(config.chart) && !existsSync(config.chart)) {
    throw new InputError('chart', `names ${config.chart}, which does not exist.`, {
      hint: 'Check out the repository first (actions/checkout) or fix the path.'
    });
  }
  for (const file of config.valuesFiles) {
    if (!existsSync(file))
      throw new InputError('values-files', `names ${file}, which does not exist.`);
  }
}
