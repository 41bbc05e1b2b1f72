import * as core from '@actions/core';
import { main as build } from '../buildpack-build/main.js';
import { Inputs } from '../lib/inputs.js';
import { pinDigest, parseImageReference } from '../lib/reference.js';
import { main as login, post as logout } from '../registry-login-from-secret/main.js';
import { main as setupBuilder, post as stopBuilder } from '../setup-buildctl/main.js';
import { readConfig as readBuildConfig } from '../buildpack-build/config.js';
import { readConfig as readLoginConfig } from '../registry-login-from-secret/config.js';
import { readConfig as readSetupConfig } from '../setup-buildctl/config.js';
import { BUILD_INPUTS, LOGIN_INPUTS, SETUP_INPUTS, inRootTerms, stageInputs } from './stages.js';

/**
 * The whole flow in one step, run from this action's own bundle (so it works from any caller's
 * repository layout, unlike a composite action's `uses: ./path`): set up the builder, log in to the
 * registry with credentials from a Kubernetes Secret, build and push. Every stage validates its
 * inputs before the first one runs anything.
 */
export async function main(): Promise<void> {
  const root = new Inputs();
  const setupInputs = stageInputs(root, SETUP_INPUTS);
  const loginInputs = stageInputs(root, LOGIN_INPUTS);
  const buildInputs = stageInputs(root, BUILD_INPUTS);
  inRootTerms(SETUP_INPUTS, () => readSetupConfig(setupInputs));
  inRootTerms(LOGIN_INPUTS, () => readLoginConfig(loginInputs));
  inRootTerms(BUILD_INPUTS, () => readBuildConfig(buildInputs));

  // Stages group their own output; GitHub has no nested groups, so stages get plain headings.
  core.info('Stage 1/3: BuildKit builder');
  const builder = await setupBuilder(setupInputs);
  core.info('Stage 2/3: registry credentials from the Kubernetes Secret');
  await login(loginInputs);
  core.info('Stage 3/3: build and push');
  const built = await build(buildInputs);
  core.setOutput('buildkit-version', builder.version);
  core.setOutput('image', built.image);
  core.setOutput('digest', built.digest ?? '');
  if (built.digest) {
    core.setOutput(
      'imageref',
      pinDigest(parseImageReference('image', built.repository), built.digest)
    );
  }
}

/** Cleans up in reverse order even when a stage failed: credentials first, then the builder. */
export async function post(): Promise<void> {
  const problems: unknown[] = [];
  for (const cleanup of [logout, stopBuilder]) {
    await cleanup().catch(error => problems.push(error));
  }
  if (problems.length > 0) throw problems[0];
}
