import { existsSync, readFileSync } from 'node:fs';
import { SlipwayError } from '../errors.js';
import { lastLine, run } from '../exec.js';
import { poll } from '../retry.js';
import { registerSecret } from '../secrets.js';
import { formatDuration } from '../summary.js';
import { globalArgs, type BuildkitTls } from './address.js';
import { buildctlArgs, type BuildSpec } from './args.js';
import {
  ProgressTracker,
  parseMetadata,
  parseWorkers,
  type BuildMetadata,
  type Worker
} from './output.js';

/** What one `buildctl build` did: its output read back; the caller decides what a failure means. */
export interface BuildRun {
  exitCode: number;
  timedOut: boolean;
  durationMs: number;
  /** stdout and stderr, for classifying a failure. */
  output: string;
  progress: ProgressTracker;
  /** The metadata file, read when the build succeeded. */
  metadata: BuildMetadata | undefined;
}

/**
 * Runs buildctl against one builder: the address and TLS flags every call shares, the builder's
 * workers (`debug workers`, polled until it answers), and `build` with its progress and metadata.
 */
export class Buildctl {
  constructor(
    /** The buildctl binary (a path, or `buildctl` from PATH). */
    readonly path: string,
    /** `--addr`; undefined means buildctl's default (or BUILDKIT_HOST). */
    readonly addr: string | undefined,
    readonly tls?: BuildkitTls
  ) {}

  /** The global flags: address and TLS (TLS only for tcp:// addresses). */
  globalArgs(): string[] {
    return globalArgs(this.addr, this.tls);
  }

  /**
   * `buildctl build --progress=plain` of `spec` on this builder, following its progress; a gha
   * cache token passed as an attribute is masked like any credential.
   */
  async build(
    spec: Omit<BuildSpec, 'addr' | 'tls'>,
    options: { timeoutMs: number }
  ): Promise<BuildRun> {
    return this.buildWithArgs(
      buildctlArgs({ ...spec, addr: this.addr, tls: this.tls }),
      spec.metadataFile,
      options
    );
  }

  /** `buildctl` with ready-made `build` arguments (global flags included), e.g. buildpacksArgs. */
  async buildWithArgs(
    args: string[],
    metadataFile: string,
    options: { timeoutMs: number }
  ): Promise<BuildRun> {
    for (const arg of args) {
      for (const match of arg.matchAll(/(?:^|,)token=([^,]+)/g)) registerSecret(match[1]);
    }
    const progress = new ProgressTracker();
    const result = await run(this.path, args, {
      timeoutMs: options.timeoutMs,
      ignoreReturnCode: true,
      onLine: line => progress.push(line)
    });
    const succeeded = result.exitCode === 0 && !result.timedOut;
    return {
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      durationMs: result.durationMs,
      output: `${result.stdout}\n${result.stderr}`,
      progress,
      // A build with only a local output (buildpacks: report.toml) may leave no metadata file.
      metadata: succeeded
        ? parseMetadata(existsSync(metadataFile) ? readFileSync(metadataFile, 'utf8') : '{}')
        : undefined
    };
  }

  /**
   * Polls `buildctl debug workers` until the builder answers, or fails naming the address;
   * `failure` (a daemon this run started has exited) ends the wait early with its error.
   */
  async waitForWorkers(
    timeoutMs: number,
    failure?: () => SlipwayError | undefined
  ): Promise<Worker[]> {
    let lastError = '';
    const workers = await poll(
      async () => {
        const gone = failure?.();
        if (gone) throw gone;
        const result = await run(
          this.path,
          [...this.globalArgs(), '--timeout', '5', 'debug', 'workers'],
          {
            stream: false,
            echo: false,
            ignoreReturnCode: true,
            timeoutMs: 15_000
          }
        );
        if (result.exitCode === 0) return parseWorkers(result.stdout);
        lastError = lastLine(result);
        return undefined;
      },
      { timeoutMs }
    );
    if (workers) return workers;
    throw new SlipwayError(
      `The BuildKit builder at ${this.addr} is not reachable after ${formatDuration(timeoutMs)}: ${lastError}`,
      {
        hint: 'Check the addr input (and that buildkitd listens there), or use addr: local to start a builder on the runner.'
      }
    );
  }
}
