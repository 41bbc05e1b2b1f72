import * as core from '@actions/core';
import { InputError, SlipwayError } from '../lib/errors.js';
import { lastGoodRevision, manifestResources } from '../lib/helm/index.js';
import type { ProxyResponse } from '../lib/kube/index.js';
import { lastLine } from '../lib/exec.js';
import type { Context } from './context.js';
import type { RolloutFailure } from './outcome.js';

/**
 * The smoke check after the rollout: GET `check-path` from the release's Service through the API
 * server's service proxy (reachable from any runner that reaches the API: no port-forward, no
 * ingress), retried until `check-timeout`. A check that never answers as expected is a failed
 * rollout: with `atomic` the release goes back to its previous revision (a first install is
 * uninstalled), as helm does for a rollout that fails.
 */

export interface SmokeCheckSpec {
  /** URL path (and query), starting with `/`. */
  path: string;
  /** The Service to check; default the release's only Service. */
  service: string | undefined;
  timeoutMs: number;
  /** Accepted statuses; undefined accepts any 2xx. */
  statuses: number[] | undefined;
}

export interface SmokeCheckResult {
  /** `GET /healthz on Service web:80` */
  target: string;
  /** The in-cluster URL of the checked path. */
  url: string;
  passed: boolean;
  /** The last answer (`200 ok`) or why there was none, at most ~300 characters of body. */
  answer: string;
}

const BODY_HEAD = 300;
const RETRY_DELAY_MS = 2000;
const FIRST_RETRY_DELAY_MS = 100;

/**
 * The wait before attempt `attempt + 1`: 100 ms doubling up to 2 s. Right after helm's wait ends,
 * the proxy often answers 503 "no endpoints available" for a moment (the endpoint controller
 * catching up with the pod's readiness), so the first retries come quickly.
 */
export function retryDelayMs(attempt: number): number {
  return Math.min(RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** Math.max(0, attempt - 1));
}
const REQUEST_TIMEOUT_MS = 10_000;

export function statusAccepted(status: number, statuses: readonly number[] | undefined): boolean {
  return statuses ? statuses.includes(status) : status >= 200 && status <= 299;
}

/** `404 404 page not found`: the status and the head of the body on one line. */
export function describeAnswer(response: ProxyResponse): string {
  const body = response.body.replace(/\s+/g, ' ').trim();
  const head = body.length > BODY_HEAD ? `${body.slice(0, BODY_HEAD)}…` : body;
  return `${response.status}${head ? ` ${head}` : ''}`;
}

/** An answer from the API server itself refusing the proxy (RBAC), not from the app. */
export function isProxyForbidden(response: ProxyResponse): boolean {
  return (
    response.status === 403 &&
    /"kind":\s*"Status"/.test(response.body) &&
    /services\/proxy/.test(response.body)
  );
}

/** The Service to check: `check-service`, else the release's only Service in the manifest. */
export async function pickService(
  manifest: string,
  namespace: string,
  wanted: string | undefined
): Promise<string> {
  if (wanted) return wanted;
  const services = (await manifestResources(manifest)).filter(
    r => r.kind === 'Service' && (r.namespace ?? namespace) === namespace
  );
  if (services.length === 1) return (services[0] as { name: string }).name;
  throw new InputError(
    'check-service',
    services.length === 0
      ? `is needed: the release has no Service in namespace ${namespace} to check.`
      : `is needed: the release has ${services.length} Services (${services.map(s => s.name).join(', ')}); name the one to check.`
  );
}

/** Runs the check; the result says whether it passed (failing is the caller's decision). */
export async function runSmokeCheck(
  ctx: Context,
  spec: SmokeCheckSpec,
  manifest: string
): Promise<SmokeCheckResult> {
  const { namespace } = ctx.config;
  const name = await pickService(manifest, namespace, spec.service);
  const service = await ctx.kube.findService(namespace, name);
  const port = service?.spec?.ports?.[0];
  if (!service || !port) {
    throw new InputError(
      'check-service',
      service
        ? `names Service ${name}, which has no port.`
        : `names Service ${name}, which does not exist in namespace ${namespace}.`
    );
  }
  const target = `GET ${spec.path} on Service ${name}:${port.port}`;
  const url = `http://${name}.${namespace}.svc.cluster.local:${port.port}${spec.path}`;
  const deadline = Date.now() + spec.timeoutMs;
  let answer: string;
  for (let attempt = 1; ; attempt++) {
    try {
      const remaining = Math.max(1000, deadline - Date.now());
      const response = await ctx.kube.proxyGet(
        namespace,
        name,
        port.port,
        spec.path,
        Math.min(REQUEST_TIMEOUT_MS, remaining)
      );
      if (isProxyForbidden(response)) {
        throw new SlipwayError(`The smoke check (${target}) was refused by the API server.`, {
          hint: `Grant the deploying identity "get" on "services/proxy" in namespace ${namespace}, or remove check-path.`
        });
      }
      answer = describeAnswer(response);
      core.debug(`Smoke check attempt ${attempt}: ${answer}`);
      if (statusAccepted(response.status, spec.statuses))
        return { target, url, passed: true, answer };
    } catch (error) {
      if (error instanceof SlipwayError) throw error;
      answer = `no answer: ${(error as Error).message}`;
      core.debug(`Smoke check attempt ${attempt}: ${answer}`);
    }
    const delay = retryDelayMs(attempt);
    if (Date.now() + delay > deadline) return { target, url, passed: false, answer };
    await new Promise(resolve => setTimeout(resolve, delay));
  }
}

/**
 * Undoes the rollout a failed check condemned, like helm's atomic: back to the revision before
 * `revision`, or uninstalled when there is none. False when helm could not.
 */
async function rollBackRollout(ctx: Context, revision: number): Promise<boolean> {
  const history = await ctx.helm.history(ctx.target);
  const previous = lastGoodRevision(history.filter(entry => entry.revision < revision));
  const target = { ...ctx.target, timeoutMs: ctx.config.timeoutMs, wait: true };
  core.info(
    previous
      ? `Rolling back to revision ${previous} (atomic)`
      : 'Uninstalling the first release (atomic)'
  );
  const result = previous
    ? await ctx.helm.rollback(target, previous)
    : await ctx.helm.uninstall(target);
  if (result.exitCode !== 0) {
    core.warning(`The rollback after the failed smoke check failed too: ${lastLine(result)}`);
    return false;
  }
  return true;
}

/**
 * After a successful upgrade: the check against the release now deployed; when it fails, the
 * rollback (with `atomic`) and the failure to report.
 */
export async function smokeCheck(
  ctx: Context,
  spec: SmokeCheckSpec
): Promise<{ result: SmokeCheckResult; failure?: RolloutFailure }> {
  const status = await ctx.helm.status(ctx.target);
  const result = await runSmokeCheck(ctx, spec, status?.manifest ?? '');
  const expected = spec.statuses ? spec.statuses.join(' or ') : '2xx';
  const line = `Smoke check ${result.target}: ${result.answer}`;
  if (result.passed) {
    core.info(line);
    return { result };
  }
  core.error(`${line} (expected ${expected} within ${Math.round(spec.timeoutMs / 1000)}s)`);
  const rolledBack =
    ctx.config.atomic && status ? await rollBackRollout(ctx, status.revision) : false;
  return {
    result,
    failure: {
      what: `The smoke check ${result.target} failed: expected ${expected}, got ${result.answer}`,
      rolledBack,
      hint: `Check that the app answers ${spec.path} (the Diagnostics group shows pods and events), or fix check-path/check-status.`,
      facts: [['Smoke check', `${result.target}: ${result.answer}`]]
    }
  };
}
