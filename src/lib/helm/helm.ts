import * as core from '@actions/core';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { SlipwayError } from '../errors.js';
import { lastLine, queryNow, run, type RunResult } from '../exec.js';
import { withRetry, type RetryOptions } from '../retry.js';
import {
  historyArgs,
  listArgs,
  rollbackArgs,
  showValuesArgs,
  statusArgs,
  uninstallArgs,
  upgradeArgs,
  type ChartSource,
  type HelmTarget,
  type UpgradePlan
} from './args.js';
import {
  isReleaseNotFound,
  isUnreachableClusterError,
  parseHelmVersion,
  parseHistory,
  parseYamlDocument,
  parseReleaseStatus,
  type HistoryEntry,
  type ReleaseStatus
} from './output.js';

export const HELM_REPOSITORY = 'helm/helm';

/** Used when GitHub cannot be asked for the version list (rate limit, air-gapped runner). */
export const HELM_PINNED_VERSIONS = ['v4.1.4', 'v3.17.3'];

export const HELM_DEFAULT_DOWNLOAD_URL = 'https://get.helm.sh/helm-{version}-linux-{arch}.tar.gz';

export interface HelmBinary {
  path: string;
  /** `v3.17.3` */
  version: string;
  major: number;
}

/** A release and where it lives: what every release command takes. */
export type HelmRelease = HelmTarget & { release: string };

/** How long helm may take beyond its own --timeout before the process is stopped. */
const PROCESS_GRACE_MS = 60_000;
/** Quick commands (status, history, list). */
const QUERY_TIMEOUT_MS = 120_000;
/** A dry run renders and asks the API server; it never waits for a rollout. */
const DRY_RUN_TIMEOUT_MS = 300_000;

const QUIET = { stream: false };
const STREAM = { stream: true };

const detected = new Map<string, Promise<HelmBinary>>();

/** Asks a helm binary for its version, once per path; Helm 2 and unknown majors are refused. */
export function detectHelm(helmPath: string): Promise<HelmBinary> {
  let found = detected.get(helmPath);
  if (!found) {
    found = askVersion(helmPath);
    detected.set(helmPath, found);
    found.catch(() => detected.delete(helmPath));
  }
  return found;
}

async function askVersion(helmPath: string): Promise<HelmBinary> {
  // Started at once: the deploy asks it while the Kubernetes client loads (startHelmSetup).
  const result = await queryNow(helmPath, ['version', '--template', '{{.Version}}'], 30_000);
  const parsed = result.exitCode === 0 ? parseHelmVersion(result.stdout) : undefined;
  if (!parsed) {
    throw new SlipwayError(`Cannot tell the version of ${helmPath}.`, {
      hint: 'Use the helm-version input to install a known Helm 3 or 4.'
    });
  }
  return supportedHelm(helmPath, parsed);
}

/**
 * A helm whose version is already known exactly: one this action installed from a verified
 * archive, kept in the tool cache under that version. Asking it again (`helm version`, a process
 * start) was most of a tool-cache hit. Only a stat remains, so that a damaged cache entry (the
 * binary removed or no longer executable) fails here with its path rather than at the first helm
 * command; a binary corrupted in place fails at its first command (helm's exit status and stderr).
 */
export async function knownHelm(helmPath: string, version: string): Promise<HelmBinary> {
  const parsed = parseHelmVersion(version);
  if (!parsed) throw new SlipwayError(`Not a Helm version: ${version}.`);
  try {
    // One stat, synchronous: a tool-cache hit then settles without waiting behind other I/O (the
    // Kubernetes client loading beside it).
    accessSync(helmPath, constants.X_OK);
  } catch {
    throw new SlipwayError(`Cannot run ${helmPath}: it is missing or not executable.`, {
      hint: `The tool cache entry for helm ${parsed.version} is damaged; remove ${path.dirname(helmPath)} (or the runner's tool cache) and run again.`
    });
  }
  return supportedHelm(helmPath, parsed);
}

/** Helm 2 and unknown majors are refused: Slipway speaks the flags of Helm 3 and 4. */
function supportedHelm(helmPath: string, parsed: { version: string; major: number }): HelmBinary {
  if (parsed.major !== 3 && parsed.major !== 4) {
    throw new SlipwayError(
      `${helmPath} is Helm ${parsed.version}; Slipway supports Helm 3 and 4.`,
      {
        hint: 'Set helm-version to a 3.x or 4.x version.'
      }
    );
  }
  return { path: helmPath, ...parsed };
}

/**
 * Runs one helm binary and parses its answers. It owns helm's environment (its Kubernetes
 * discovery cache goes to a private work directory instead of ~/.kube/cache, so nothing is
 * written outside RUNNER_TEMP and the workspace; helm's own config, cache and data homes are left
 * alone: they hold the repositories an earlier `helm repo add` step configured; DOCKER_CONFIG is
 * left out of a run with an oci:// chart, which gets --registry-config), the process timeouts, and the flags of the installed
 * major version.
 */
export class Helm {
  /**
   * `retry`: how the queries (status, history, list) retry a connection to the API server that
   * failed (an API server restarting); 4 attempts, 1 s doubling by default.
   */
  constructor(
    readonly binary: HelmBinary,
    private readonly workDir: string,
    private readonly retry: Pick<RetryOptions, 'attempts' | 'baseDelayMs' | 'sleep'> = {}
  ) {}

  get version(): string {
    return this.binary.version;
  }

  get major(): number {
    return this.binary.major;
  }

  private run(
    args: string[],
    timeoutMs: number,
    output: { stream: boolean; echo?: boolean }
  ): Promise<RunResult> {
    return run(this.binary.path, args, {
      env: {
        KUBECACHEDIR: path.join(this.workDir, 'kube-cache'),
        // An oci:// chart's credentials come from --registry-config alone (the login's
        // config.json): helm's own fallback to $DOCKER_CONFIG is switched off for it.
        ...(args.some(arg => arg.startsWith('oci://')) ? { DOCKER_CONFIG: undefined } : {})
      },
      stream: output.stream,
      echo: output.echo ?? output.stream,
      ignoreReturnCode: true,
      timeoutMs
    });
  }

  /**
   * A read-only command, run again while helm reports a failed connection to the API server; the
   * last result either way (the caller reads its exit code and stderr).
   */
  private async query(args: string[]): Promise<RunResult> {
    try {
      return await withRetry(
        async () => {
          const result = await this.run(args, QUERY_TIMEOUT_MS, QUIET);
          if (result.exitCode !== 0 && isUnreachableClusterError(result.stderr)) {
            throw new UnreachableCluster(result);
          }
          return result;
        },
        {
          attempts: 4,
          baseDelayMs: 1000,
          ...this.retry,
          description: `helm ${args[0]}`,
          isTransient: error => error instanceof UnreachableCluster
        }
      );
    } catch (error) {
      if (error instanceof UnreachableCluster) return error.result;
      throw error;
    }
  }

  /** `helm status` with the rendered manifest; undefined when the release does not exist. */
  async status(target: HelmRelease): Promise<ReleaseStatus | undefined> {
    const result = await this.query(statusArgs(target));
    if (result.exitCode === 0) return parseReleaseStatus(result.stdout);
    if (isReleaseNotFound(result.stderr)) return undefined;
    throw new SlipwayError(`helm status ${target.release} failed: ${lastLine(result)}`);
  }

  /** The release's recent revisions; empty when helm cannot tell. */
  async history(target: HelmRelease): Promise<HistoryEntry[]> {
    const result = await this.query(historyArgs(target));
    return result.exitCode === 0 ? parseHistory(result.stdout) : [];
  }

  /** The names of every release in the namespace, whatever its state; fails when helm cannot tell. */
  async list(target: HelmTarget): Promise<string[]> {
    const result = await this.query(listArgs(target, this.major));
    if (result.exitCode !== 0) {
      throw new SlipwayError(`helm list in ${target.namespace} failed: ${lastLine(result)}`);
    }
    return result.stdout.trim().split('\n').filter(Boolean);
  }

  /** The chart's default values; undefined when helm cannot read them (reported in debug). */
  async showValues(source: ChartSource): Promise<Record<string, unknown> | undefined> {
    const result = await this.run(showValuesArgs(source), QUERY_TIMEOUT_MS, QUIET);
    if (result.exitCode !== 0) {
      core.debug(`helm show values failed: ${lastLine(result)}`);
      return undefined;
    }
    try {
      const values: unknown = await parseYamlDocument(result.stdout);
      return values && typeof values === 'object' && !Array.isArray(values)
        ? (values as Record<string, unknown>)
        : {};
    } catch (error) {
      core.debug(`helm show values printed no YAML mapping: ${(error as Error).message}`);
      return undefined;
    }
  }

  /**
   * `helm upgrade --install`, streamed. An atomic failure waits once for the rollout and once more
   * for the rollback; a dry run is quiet (its output is the rendered manifest).
   */
  upgrade(plan: UpgradePlan): Promise<RunResult> {
    if (plan.dryRun) {
      return this.run(upgradeArgs(plan, this.major), DRY_RUN_TIMEOUT_MS, {
        stream: false,
        echo: true
      });
    }
    const timeoutMs = plan.timeoutMs * (plan.atomic ? 2 : 1) + 2 * PROCESS_GRACE_MS;
    return this.run(upgradeArgs(plan, this.major), timeoutMs, STREAM);
  }

  rollback(target: HelmRelease & { timeoutMs: number }, revision: number): Promise<RunResult> {
    core.debug(`Rolling ${target.release} back to revision ${revision}`);
    return this.run(
      rollbackArgs(target, revision, this.major),
      target.timeoutMs + PROCESS_GRACE_MS,
      STREAM
    );
  }

  uninstall(target: HelmRelease & { timeoutMs: number; wait: boolean }): Promise<RunResult> {
    return this.run(uninstallArgs(target, this.major), target.timeoutMs + PROCESS_GRACE_MS, STREAM);
  }
}

/** A query whose connection to the API server failed; carries helm's result for the last try. */
class UnreachableCluster extends Error {
  constructor(readonly result: RunResult) {
    super(lastLine(result));
    this.name = 'UnreachableCluster';
  }
}
