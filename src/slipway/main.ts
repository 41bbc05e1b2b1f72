import * as core from '@actions/core';
import { main as build } from '../buildpack-build/main.js';
import { readConfig as readBuildConfig } from '../buildpack-build/config.js';
import { readConfig as readDeployConfig } from '../helm-deploy-namespace/config.js';
import { main as deploy, post as removeKubeconfig } from '../helm-deploy-namespace/main.js';
import { InputError } from '../lib/errors.js';
import { Inputs } from '../lib/inputs.js';
import { pinDigest, parseImageReference } from '../lib/reference.js';
import { readConfig as readLoginConfig } from '../registry-login-from-secret/config.js';
import { main as login, post as logout } from '../registry-login-from-secret/main.js';
import { readConfig as readSetupConfig } from '../setup-buildctl/config.js';
import { main as setupBuilder, post as stopBuilder } from '../setup-buildctl/main.js';
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
 * The whole flow in one step, run from this action's own bundle (so it works from any caller's
 * repository layout, unlike a composite action's `uses: ./path`): set up the builder, log in to the
 * registry with credentials from a Kubernetes Secret, build and push, then — when a chart is given —
 * deploy the pushed image by digest with Helm. Every stage validates its inputs before the first
 * one runs anything.
 */
export async function main(): Promise<void> {
  const root = new Inputs();
  const setupInputs = stageInputs(root, SETUP_INPUTS);
  const loginInputs = stageInputs(root, LOGIN_INPUTS);
  const buildInputs = stageInputs(root, BUILD_INPUTS);
  const deploying = root.raw('chart').trim() !== '';
  inRootTerms(SETUP_INPUTS, () => readSetupConfig(setupInputs));
  inRootTerms(LOGIN_INPUTS, () => readLoginConfig(loginInputs));
  inRootTerms(BUILD_INPUTS, () => readBuildConfig(buildInputs));
  if (deploying) {
    for (const required of ['release', 'namespace']) {
      if (root.raw(required).trim() === '') {
        throw new InputError(required, 'is required when chart is set (the deploy stage).');
      }
    }
    inRootTerms(DEPLOY_INPUTS, () => readDeployConfig(deployStageInputs(root)));
  }
  const stages = deploying ? 4 : 3;

  // Stages group their own output; GitHub has no nested groups, so stages get plain headings.
  core.info(`Stage 1/${stages}: BuildKit builder`);
  const builder = await setupBuilder(setupInputs);
  core.info(`Stage 2/${stages}: registry credentials from the Kubernetes Secret`);
  await login(loginInputs);
  core.info(`Stage 3/${stages}: build and push`);
  const built = await build(buildInputs);
  core.setOutput('buildkit-version', builder.version);
  core.setOutput('image', built.image);
  core.setOutput('digest', built.digest ?? '');
  const imageref = built.digest
    ? pinDigest(parseImageReference('image', built.repository), built.digest)
    : undefined;
  if (imageref) core.setOutput('imageref', imageref);
  if (!deploying) return;

  core.info(`Stage 4/${stages}: deploy with Helm`);
  if (!imageref) {
    throw new InputError('image', 'must be pushed (a digest) to be deployed by digest.');
  }
  // The deploy stage sets its outputs itself; they are the root's too (release, namespace,
  // revision, status, manifest-digest). Restated here so the root's contract is explicit.
  const deployed = await deploy(deployStageInputs(root, { action: 'deploy', image: imageref }));
  core.setOutput('revision', String(deployed.revision));
  core.setOutput('status', deployed.status);
  core.setOutput('manifest-digest', deployed.manifestDigest);
  core.info(
    `Deployed ${imageref} as ${deployed.release} revision ${deployed.revision} in ${deployed.namespace}`
  );
}

/** Cleans up in reverse order even when a stage failed: kubeconfig copy, credentials, builder. */
export async function post(): Promise<void> {
  const problems: unknown[] = [];
  for (const cleanup of [removeKubeconfig, logout, stopBuilder]) {
    await cleanup().catch(error => problems.push(error));
  }
  if (problems.length > 0) throw problems[0];
}
