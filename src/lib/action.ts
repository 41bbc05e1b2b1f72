import * as core from '@actions/core';
import { describeError } from './errors.js';
import { redact } from './secrets.js';
import { STATE } from './state.js';

/**
 * Entry point shared by every action bundle. One bundle serves both `main:` and `post:` in
 * action.yml (as docker/actions-toolkit does): the first run saves `isPost`, so the runner's second
 * invocation of the same file runs the cleanup.
 */
export async function runAction(
  main: () => Promise<unknown>,
  post?: () => Promise<void>
): Promise<void> {
  if (STATE.isPost.get()) {
    if (post) await runPost(post);
    return;
  }
  STATE.isPost.save(true);
  try {
    await main();
  } catch (error) {
    reportFailure(error);
  }
}

/** Cleanup must not fail a job whose work succeeded: problems become warnings. */
async function runPost(post: () => Promise<void>): Promise<void> {
  try {
    await post();
  } catch (error) {
    core.warning(redact(`Cleanup did not complete: ${describeError(error)}`));
  }
}

export function reportFailure(error: unknown): void {
  if (error instanceof Error && error.stack) core.debug(redact(error.stack));
  core.setFailed(redact(describeError(error)));
}
