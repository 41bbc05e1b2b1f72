import * as core from '@actions/core';
import {
  decodeReleaseRecord,
  latestRecordState,
  recordStates,
  releaseRecordName,
  usesSecretStorage,
  type ReleaseStatus,
  type RevisionState
} from '../lib/helm/index.js';
import type { Context } from './context.js';

/**
 * The release as helm's default storage keeps it (Secrets labelled owner=helm, one per revision),
 * read through the API the action already holds open instead of starting a helm process. Other
 * storage drivers, or credentials that may not read Secrets, fall back to `helm status`.
 */

/** Every revision's number and state (what `helm history` lists), from the records' labels. */
export function releaseRevisions(ctx: Context): Promise<RevisionState[]> {
  return fromRecords(ctx, recordStates, () => ctx.helm.history(ctx.target));
}

/** The newest revision in full (status, manifest), as `helm status -o json` would print it. */
export function readRelease(ctx: Context): Promise<ReleaseStatus | undefined> {
  return fromRecords(
    ctx,
    async records => {
      const latest = latestRecordState(records);
      if (!latest) throw new Error('no record of the release');
      const name = releaseRecordName(ctx.config.release, latest.revision);
      const record = await ctx.kube.readSecret(ctx.config.namespace, name);
      if (!record.data?.release) throw new Error(`${name} holds no release`);
      return decodeReleaseRecord(record.data.release);
    },
    () => ctx.helm.status(ctx.target)
  );
}

/**
 * `read` of the release's records (their labels, listed through the API) with helm's default
 * storage; `ask` helm itself with another driver, or when the records cannot be read or `read`
 * cannot answer from them.
 */
async function fromRecords<T>(
  ctx: Context,
  read: (records: Awaited<ReturnType<typeof listRecords>>) => T | Promise<T>,
  ask: () => Promise<T>
): Promise<T> {
  if (usesSecretStorage()) {
    try {
      return await read(await listRecords(ctx));
    } catch (error) {
      core.debug(`Reading the release records failed (${(error as Error).message}); asking helm.`);
    }
  }
  return ask();
}

function listRecords(ctx: Context) {
  return ctx.kube.listSecretLabels(ctx.config.namespace, `owner=helm,name=${ctx.config.release}`);
}
