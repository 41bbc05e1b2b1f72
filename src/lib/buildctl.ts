import { SlipwayError } from './errors.js';
import { lastLine, run, type RunOptions, type RunResult } from './exec.js';
import { parseWorkers, tlsArgs, type BuildkitTls, type Worker } from './buildkit.js';
import { formatDuration } from './summary.js';

/**
 * Runs buildctl against one builder: the address and TLS flags every call shares, the builder's
 * workers (`debug workers`, polled until it answers), and `build`.
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
    return [...(this.addr ? ['--addr', this.addr] : []), ...tlsArgs(this.addr, this.tls)];
  }

  /** `buildctl build` with the given arguments (which include the address and TLS flags). */
  build(args: string[], options: RunOptions): Promise<RunResult> {
    return run(this.path, args, options);
  }

  /** Polls `buildctl debug workers` until the builder answers, or fails naming the address. */
  async waitForWorkers(timeoutMs: number): Promise<Worker[]> {
    const deadline = Date.now() + timeoutMs;
    let lastError: string;
    while (true) {
      const result = await run(
        this.path,
        [...this.globalArgs(), '--timeout', '5', 'debug', 'workers'],
        { stream: false, echo: false, ignoreReturnCode: true, timeoutMs: 15_000 }
      );
      if (result.exitCode === 0) return parseWorkers(result.stdout);
      lastError = lastLine(result);
      if (Date.now() + 1000 > deadline) break;
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
    throw new SlipwayError(
      `The BuildKit builder at ${this.addr} is not reachable after ${formatDuration(timeoutMs)}: ${lastError}`,
      {
        hint: 'Check the addr input (and that buildkitd listens there), or use addr: local to start a builder on the runner.'
      }
    );
  }
}
