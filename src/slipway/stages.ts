import { InputError } from '../lib/errors.js';
import { Inputs } from '../lib/inputs.js';

/**
 * The root action's inputs are the union of its stages' inputs, renamed where two stages use the
 * same name for different things (`context` is a kube context to one and a build context to the
 * other; `namespace`, `version`, `addr` likewise). Each stage reads its own input names through a
 * view that maps them to the root's; inputs a stage has that the root does not offer read as empty,
 * so the stage's documented default applies.
 */
export type InputMapping = Readonly<Record<string, string>>;

export const SETUP_INPUTS: InputMapping = {
  version: 'buildkit-version',
  'download-url': 'buildkit-download-url',
  addr: 'builder',
  'github-token': 'github-token',
  'tls-ca': 'builder-tls-ca',
  'tls-cert': 'builder-tls-cert',
  'tls-key': 'builder-tls-key',
  'tls-server-name': 'builder-tls-server-name',
  'builder-namespace': 'builder-namespace',
  'builder-image': 'builder-image',
  'buildkitd-config': 'buildkitd-config',
  'builder-registry-ca': 'builder-registry-ca',
  kubeconfig: 'kubeconfig',
  context: 'kube-context'
};

export const LOGIN_INPUTS: InputMapping = {
  'secret-name': 'secret-name',
  namespace: 'secret-namespace',
  kubeconfig: 'kubeconfig',
  context: 'kube-context',
  'ca-file': 'registry-ca-file',
  verify: 'registry-verify'
};

export const BUILD_INPUTS: InputMapping = {
  context: 'source',
  dockerfile: 'dockerfile',
  frontend: 'frontend',
  'frontend-image': 'frontend-image',
  builder: 'buildpacks-builder',
  'run-image': 'run-image',
  buildpacks: 'buildpacks',
  'buildpack-env': 'buildpack-env',
  'build-args': 'build-args',
  image: 'image',
  tags: 'tags',
  'cache-from': 'cache-from',
  'cache-to': 'cache-to'
};

/**
 * The deploy stage runs when `chart` is set. Its `image` is never a root input: it is the image the
 * build stage just pushed, pinned by digest, so the deploy cannot drift from the build.
 */
export const DEPLOY_INPUTS: InputMapping = {
  release: 'release',
  chart: 'chart',
  'chart-version': 'chart-version',
  'repo-url': 'repo-url',
  namespace: 'namespace',
  'values-files': 'values-files',
  values: 'values',
  set: 'set',
  'set-string': 'set-string',
  'image-values': 'image-values',
  'helm-version': 'helm-version',
  'helm-download-url': 'helm-download-url',
  'github-token': 'github-token',
  kubeconfig: 'kubeconfig',
  context: 'kube-context',
  'create-namespace': 'create-namespace',
  'namespace-labels': 'namespace-labels',
  'namespace-annotations': 'namespace-annotations',
  ttl: 'ttl',
  atomic: 'atomic',
  wait: 'wait',
  timeout: 'deploy-timeout',
  recover: 'recover',
  'history-max': 'history-max',
  'image-pull-secret': 'image-pull-secret',
  'pull-secret-service-account': 'pull-secret-service-account',
  'check-path': 'check-path',
  'check-service': 'check-service',
  'check-timeout': 'check-timeout',
  'check-status': 'check-status'
};

/** The pull secret the root action makes by default (action.yml documents the same defaults). */
export const DEFAULT_PULL_SECRET = 'slipway-registry';
export const DEFAULT_PULL_SECRET_ACCOUNT = 'default';

/**
 * The deploy stage's inputs. The root logs in from a Secret, so by default its deploy also makes a
 * pull secret from that login in the target namespace (pods pull the private image with no Secret
 * made by hand); `pull-secret: false` turns that off.
 */
export function deployStageInputs(
  root: Inputs,
  fixed: Readonly<Record<string, string>> = {}
): Inputs {
  const pullSecret = root.boolean('pull-secret', true);
  const or = (name: string, fallback: string) =>
    pullSecret ? root.raw(name).trim() || fallback : '';
  return stageInputs(root, DEPLOY_INPUTS, {
    'image-pull-secret': or('image-pull-secret', DEFAULT_PULL_SECRET),
    'pull-secret-service-account': or('pull-secret-service-account', DEFAULT_PULL_SECRET_ACCOUNT),
    ...fixed
  });
}

/** The stage's view of the root action's inputs. */
export function stageInputs(
  root: Inputs,
  mapping: InputMapping,
  fixed: Readonly<Record<string, string>> = {}
): Inputs {
  return new Inputs(name => {
    if (fixed[name] !== undefined) return fixed[name];
    const rootName = mapping[name];
    return rootName === undefined ? '' : root.raw(rootName);
  });
}

/**
 * Runs a stage step (checking its inputs, or its work, sync or async), reporting input errors
 * under the root's input names, which the user wrote.
 */
export function inRootTerms<T>(mapping: InputMapping, step: () => T): T {
  let result: T;
  try {
    result = step();
  } catch (error) {
    throw inRootTermsError(mapping, error);
  }
  if (result instanceof Promise) {
    return result.catch((error: unknown) => {
      throw inRootTermsError(mapping, error);
    }) as T;
  }
  return result;
}

function inRootTermsError(mapping: InputMapping, error: unknown): unknown {
  const rootName = error instanceof InputError ? mapping[error.input] : undefined;
  if (!(error instanceof InputError) || rootName === undefined) return error;
  const detail = error.message.slice(`Input "${error.input}" `.length);
  return new InputError(rootName, detail, { hint: error.hint, cause: error });
}
