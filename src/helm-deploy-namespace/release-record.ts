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

/** The newest revision's number and state, from the records' labels (no Secret data read). */
export async function currentReleaseState(
  ctx: Context
): Promise<{ revision: number; status: string } | undefined> {
  if (usesSecretStorage()) {
    try {
      return latestRecordState(await listRecords(ctx));
    } catch (error) {
      core.debug(`Reading release records failed (${(error as Error).message}); asking helm.`);
    }
  }
  return ctx.helm.status(ctx.target);
}

/** Every revision's number and state (what `helm history` lists), from the records' labels. */
export async function releaseRevisions(ctx: Context): Promise<RevisionState[]> {
  if (usesSecretStorage()) {
    try {
      return recordStates(await listRecords(ctx));
    } catch (error) {
      core.debug(`Reading release records failed (${(error as Error).message}); asking helm.`);
    }
  }
  return ctx.helm.history(ctx.target);
}

/** The newest revision in full (status, manifest), as `helm status -o json` would print it. */
export async function readRelease(ctx: Context): Promise<ReleaseStatus | undefined> {
  if (usesSecretStorage()) {
    try {
      const latest = latestRecordState(await listRecords(ctx));
      if (latest) {
        const name = releaseRecordName(ctx.config.release, latest.revision);
        const record = await ctx.kube.readSecret(ctx.config.namespace, name);
        if (record.data?.release) return decodeReleaseRecord(record.data.release);
      }
    } catch (error) {
      core.debug(`Reading the release record failed (${(error as Error).message}); asking helm.`);
    }
  }
  return ctx.helm.status(ctx.target);
}

function listRecords(ctx: Context) {
  return ctx.kube.listSecretLabels(ctx.config.namespace, `owner=helm,name=${ctx.config.release}`);
}
