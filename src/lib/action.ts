import * as core from '@actions/core';
import { describeError } from './errors.js';
import { cancelTools } from './exec.js';
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
  onCancel();
  try {
    await main();
  } catch (error) {
    reportFailure(error);
  }
}

/** How long a cancelled tool may take to stop before its process group is killed. */
const CANCEL_GRACE_MS = 8_000;

/**
 * The runner cancels a job with SIGINT, then SIGTERM: the first is forwarded once to the running
 * tool (lib/exec.ts), whose end fails the step with a CancelledError; later ones are only logged.
 * Should the step still be alive after the grace period (no tool was running), it ends itself.
 */
function onCancel(): void {
  let received: string | undefined;
  const handler = (signal: NodeJS.Signals): void => {
    if (received) {
      core.info(`Received ${signal}; still stopping after ${received}.`);
      return;
    }
    received = signal;
    const tools = cancelTools(signal, CANCEL_GRACE_MS);
    core.info(`Received ${signal}: cancelling (${tools} running tool(s) told to stop).`);
    setTimeout(() => {
      core.setFailed(`The step was cancelled (${signal}).`);
      process.exit(1);
    }, CANCEL_GRACE_MS + 1_000).unref();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
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
