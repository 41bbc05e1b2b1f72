import * as core from '@actions/core';
import { readConfig as readBuildConfig } from '../buildpack-build/config.js';
import {
  checkLocalFiles as checkDeployFiles,
  deployImage,
  loadValuesReader,
  readConfig as readDeployConfig,
  type DeployConfig
} from '../helm-deploy-namespace/config.js';
import { InputError } from '../lib/errors.js';
import { prefetchHelmVersion } from '../lib/helm/setup.js';
import { Inputs } from '../lib/inputs.js';
import { pinDigest, parseImageReference } from '../lib/reference.js';
import { readCaFile, readConfig as readLoginConfig } from '../registry-login-from-secret/config.js';
import { readConfig as readSetupConfig } from '../setup-buildctl/config.js';
import {
  BUILD_INPUTS,
  DEPLOY_INPUTS,
  LOGIN_INPUTS,
  SETUP_INPUTS,
  deployStageInputs,
  inRootTerms,
  stageInputs
} from './stages.js';

/**
 * Each stage's code (its run and post), loaded when the stage's turn comes, as a chunk of the
 * bundle: checking the inputs needs only the config modules above, so an input error is reported
 * before any stage's code is evaluated, and a flow without a chart never loads the deploy stage.
 */
const stage = {
  setup: () => import('../setup-buildctl/main.js'),
  login: () => import('../registry-login-from-secret/main.js'),
  build: () => import('../buildpack-build/main.js'),
  deploy: () => import('../helm-deploy-namespace/main.js')
};

/**
 * The whole flow in one step, run from this action's own bundle (so it works from any caller's
 * repository layout, unlike a composite action's `uses: ./path`): set up the builder, log in to the
 * registry with credentials from a Kubernetes Secret, build and push, then — when a chart is given —
 * deploy the pushed image by digest with Helm. Every stage's inputs (and the local files they name)
 * are checked before the first stage runs anything; each stage then runs on the config checked
 * here, so every input error, early or late, names the root's input.
 */
export async function main(root = new Inputs()): Promise<void> {
  const deploying = root.raw('chart').trim() !== '';
  const setupConfig = inRootTerms(SETUP_INPUTS, () =>
    readSetupConfig(stageInputs(root, SETUP_INPUTS))
  );
  const loginConfig = inRootTerms(LOGIN_INPUTS, () => {
    const config = readLoginConfig(stageInputs(root, LOGIN_INPUTS));
    readCaFile(config.caFile);
    return config;
  });
  const buildConfig = inRootTerms(BUILD_INPUTS, () =>
    readBuildConfig(stageInputs(root, BUILD_INPUTS))
  );
  let deployConfig: DeployConfig | undefined;
  if (deploying) {
    for (const required of ['release', 'namespace']) {
      if (root.raw(required).trim() === '') {
        throw new InputError(required, 'is required when chart is set (the deploy stage).');
      }
    }
    await loadValuesReader(root);
    deployConfig = inRootTerms(DEPLOY_INPUTS, () => {
      const config = readDeployConfig(deployStageInputs(root, { action: 'deploy' }));
      checkDeployFiles(config);
      return config;
    });
  }
  const stages = deployConfig ? 4 : 3;
  if (deployConfig) prefetchHelmVersion();

  // Stages group their own output; GitHub has no nested groups, so stages get plain headings.
  core.info(`Stage 1/${stages}: BuildKit builder`);
  const { run: setupBuilder } = await stage.setup();
  const builder = await inRootTerms(SETUP_INPUTS, () => setupBuilder(setupConfig));
  core.info(`Stage 2/${stages}: registry credentials from the Kubernetes Secret`);
  const { run: login } = await stage.login();
  await inRootTerms(LOGIN_INPUTS, () => login(loginConfig));
  core.info(`Stage 3/${stages}: build and push`);
  const { run: build } = await stage.build();
  const built = await inRootTerms(BUILD_INPUTS, () => build(buildConfig));
  core.setOutput('buildkit-version', builder.version);
  core.setOutput('image', built.image);
  core.setOutput('digest', built.digest ?? '');
  const imageref = built.digest
    ? pinDigest(parseImageReference('image', built.repository), built.digest)
    : undefined;
  if (imageref) core.setOutput('imageref', imageref);
  if (!deployConfig) return;

  core.info(`Stage 4/${stages}: deploy with Helm`);
  if (!imageref) {
    throw new InputError('image', 'must be pushed (a digest) to be deployed by digest.');
  }
  // The deploy's image is never a root input: it is the image just pushed, pinned by digest.
  const image = deployImage(parseImageReference('image', imageref));
  // The deploy stage sets its outputs itself; they are the root's too (release, namespace,
  // revision, status, manifest-digest, url, expires-at). Restated here so the root's contract is
  // explicit.
  const { run: deploy } = await stage.deploy();
  const deployed = await inRootTerms(DEPLOY_INPUTS, () => deploy({ ...deployConfig, image }));
  core.setOutput('revision', String(deployed.revision));
  core.setOutput('status', deployed.status);
  core.setOutput('manifest-digest', deployed.manifestDigest);
  if (deployed.url) core.setOutput('url', deployed.url);
  if (deployed.expiresAt) core.setOutput('expires-at', deployed.expiresAt);
  core.info(
    `Deployed ${imageref} as ${deployed.release} revision ${deployed.revision} in ${deployed.namespace}`
  );
}

/** Cleans up in reverse order even when a stage failed: kubeconfig copy, credentials, builder. */
export async function post(): Promise<void> {
  const problems: unknown[] = [];
  for (const cleanup of [stage.deploy, stage.login, stage.setup]) {
    await cleanup()
      .then(module => module.post())
      .catch(error => problems.push(error));
  }
  if (problems.length > 0) throw problems[0];
}
