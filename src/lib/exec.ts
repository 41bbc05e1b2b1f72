import * as core from '@actions/core';
import * as exec from '@actions/exec';
// The one place that spawns processes directly: daemons must outlive the step (spawnDetached), and
// a short query must start before this call returns (queryNow).
// eslint-disable-next-line no-restricted-imports
import { execFile, spawn } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync
} from 'node:fs';
import path from 'node:path';
import { SlipwayError } from './errors.js';
import { redact } from './secrets.js';

/**
 * The one way Slipway runs a tool: an argument array (never a shell string), output captured and
 * streamed line by line through `redact`, an optional timeout, and errors that carry the tail of
 * stderr (redacted) rather than the whole log.
 */
export interface RunOptions {
  cwd?: string;
  /** Extra environment on top of the current process's. */
  env?: Record<string, string | undefined>;
  /** Data for the tool's stdin (credentials go here, never into arguments). */
  input?: string | Buffer;
  /** Kill the tool after this long (SIGTERM, then SIGKILL 5 s later). */
  timeoutMs?: number;
  /** Stream the tool's output to the log (default true); false keeps it only in the result. */
  stream?: boolean;
  /** Return instead of throwing on a non-zero exit. */
  ignoreReturnCode?: boolean;
  /** Log the command line before running (default true). */
  echo?: boolean;
  /** Called with each output line (stdout and stderr), e.g. to parse progress. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

/** Exit status of coreutils `timeout` when it had to stop the command. */
const TIMEOUT_EXIT_CODES = new Set([124, 137]);
const STDERR_TAIL_LINES = 20;

export class CommandError extends SlipwayError {
  constructor(
    readonly command: string,
    readonly result: RunResult
  ) {
    super(
      result.timedOut
        ? `${command} did not finish within the timeout and was stopped.`
        : `${command} failed with exit code ${result.exitCode}.${tailSuffix(result.stderr || result.stdout)}`
    );
    this.name = 'CommandError';
  }
}

function tailSuffix(output: string): string {
  const tail = lastLines(redact(output), STDERR_TAIL_LINES);
  return tail ? `\n${tail}` : '';
}

export function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

/** The last line a failed tool printed (stderr, else stdout): what an error message quotes. */
export function lastLine(result: Pick<RunResult, 'stderr' | 'stdout' | 'exitCode'>): string {
  return (
    (result.stderr || result.stdout).trim().split('\n').pop() ?? `exit code ${result.exitCode}`
  );
}

/** A shell-like rendering of the command for the log only; it is never executed. */
export function formatCommandLine(tool: string, args: readonly string[]): string {
  return [tool, ...args]
    .map(part => (/^[\w@%+=:,./-]+$/.test(part) ? part : `'${part.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

function mergedEnv(extra: RunOptions['env']): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...extra })) {
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/**
 * The executable `tool` on PATH (or `tool` itself when it is a path), found synchronously: a few
 * stat calls, so that a caller can decide (and start a process) before it yields to other work.
 */
export function findOnPath(tool: string): string | undefined {
  const candidates = tool.includes('/')
    ? [path.resolve(tool)]
    : (process.env.PATH ?? '')
        .split(path.delimiter)
        .filter(Boolean)
        .map(dir => path.join(dir, tool));
  return candidates.find(isExecutableFile);
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Resolves a tool on PATH (or an absolute path) with a clear error when it is missing. */
export async function resolveTool(tool: string): Promise<string> {
  const found = findOnPath(tool);
  if (!found) {
    throw new SlipwayError(`${tool} was not found on PATH.`, {
      hint: `Install ${tool} first (for buildctl, use the setup-buildctl action).`
    });
  }
  return found;
}

export async function run(
  tool: string,
  args: readonly string[],
  options: RunOptions = {}
): Promise<RunResult> {
  const toolPath = await resolveTool(tool);
  const command = formatCommandLine(tool, args);
  if (options.echo !== false) core.info(redact(`[command] ${command}`));
  // @actions/exec has no timeout of its own; coreutils `timeout` (present on every Linux runner)
  // bounds the tool while keeping the argument array intact.
  const timeoutSeconds = options.timeoutMs ? Math.max(1, Math.ceil(options.timeoutMs / 1000)) : 0;
  const [program, programArgs] = timeoutSeconds
    ? [await resolveTool('timeout'), ['--kill-after=5s', `${timeoutSeconds}s`, toolPath, ...args]]
    : [toolPath, [...args]];
  const stream = options.stream !== false;
  const started = Date.now();
  throwIfCancelled(tool);
  const running = { program, args: programArgs };
  RUNNING.add(running);
  const output = await exec
    .getExecOutput(program, programArgs, {
      cwd: options.cwd,
      env: mergedEnv(options.env),
      input: typeof options.input === 'string' ? Buffer.from(options.input) : options.input,
      silent: true,
      ignoreReturnCode: true,
      listeners: {
        stdline: line => {
          if (stream) core.info(redact(line));
          options.onLine?.(line, 'stdout');
        },
        errline: line => {
          if (stream) core.info(redact(line));
          options.onLine?.(line, 'stderr');
        }
      }
    })
    .finally(() => RUNNING.delete(running));
  throwIfCancelled(tool);
  const result: RunResult = {
    exitCode: output.exitCode,
    stdout: output.stdout,
    stderr: output.stderr,
    durationMs: Date.now() - started,
    timedOut: timeoutSeconds > 0 && TIMEOUT_EXIT_CODES.has(output.exitCode)
  };
  if ((result.exitCode !== 0 || result.timedOut) && !options.ignoreReturnCode) {
    throw new CommandError(tool, result);
  }
  return result;
}

/**
 * A short, quiet query of a tool at `toolPath` (its version), started before this call returns:
 * `run` first looks its tool up asynchronously, so a process it starts while the action goes on
 * loading modules would wait for them; this one runs beside them. No shell (an argument array),
 * nothing logged, killed after `timeoutMs`.
 */
export function queryNow(
  toolPath: string,
  args: readonly string[],
  timeoutMs: number
): Promise<RunResult> {
  throwIfCancelled(toolPath);
  const started = Date.now();
  return new Promise(resolve => {
    execFile(
      toolPath,
      [...args],
      { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8', maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: unknown; killed?: boolean }) | null;
        const timedOut = Boolean(failure?.killed);
        resolve({
          exitCode: failure ? (typeof failure.code === 'number' ? failure.code : 1) : 0,
          stdout,
          stderr: stderr || (failure && typeof failure.code !== 'number' ? failure.message : ''),
          durationMs: Date.now() - started,
          timedOut
        });
      }
    );
  });
}

/**
 * Starts a long-running daemon (a local buildkitd) detached from this process, with its output in
 * `logFile`, and returns its pid. Unlike `run`, nothing waits for it: the action's post step stops
 * it with `stopProcess`.
 */
export async function spawnDetached(
  tool: string,
  args: readonly string[],
  logFile: string,
  options: Pick<RunOptions, 'env' | 'cwd'> = {}
): Promise<number> {
  const toolPath = await resolveTool(tool);
  core.info(redact(`[daemon] ${formatCommandLine(tool, args)} (log: ${logFile})`));
  const log = openSync(logFile, 'a', 0o600);
  try {
    const child = spawn(toolPath, [...args], {
      detached: true,
      stdio: ['ignore', log, log],
      shell: false,
      cwd: options.cwd,
      env: mergedEnv(options.env)
    });
    child.unref();
    if (child.pid === undefined) throw new SlipwayError(`${tool} could not be started.`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/**
 * Whether `pid` runs: a zombie (exited, not yet reaped) counts as gone, and a process we may not
 * signal (EPERM: e.g. a root daemon started through sudo) as running.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    // No /proc entry: gone (or no procfs, where kill(0) alone has to do).
    return existsSync('/proc/self/stat') ? false : true;
  }
}

/**
 * The pid of a running process whose command line is exactly `argv` (read from /proc), e.g. the
 * buildkitd a `sudo` started; undefined when there is none.
 */
export function findProcess(argv: readonly string[]): number | undefined {
  const wanted = argv.join('\0');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0$/, '');
      if (cmdline === wanted && isProcessAlive(Number(entry))) return Number(entry);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return undefined;
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves true once the process is gone. `send` delivers
 * a signal (default: process.kill; a root daemon started through sudo is signalled through sudo).
 */
export async function stopProcess(
  pid: number,
  graceMs = 10_000,
  send: (pid: number, signal: NodeJS.Signals) => unknown = (target, signal) =>
    process.kill(target, signal)
): Promise<boolean> {
  if (!isProcessAlive(pid)) return true;
  await send(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid)) return reaped(pid);
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  if (isProcessAlive(pid)) await send(pid, 'SIGKILL');
  await new Promise(resolve => setTimeout(resolve, 100));
  return !isProcessAlive(pid) && reaped(pid);
}

/** Waits (up to 2 s) for an exited process's parent, often init, to reap it; always true. */
async function reaped(pid: number): Promise<true> {
  for (let i = 0; i < 20 && existsSync(`/proc/${pid}`); i++) {
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  return true;
}

/**
 * Cancellation. The runner cancels a job by signalling the action's node process (SIGINT, then
 * SIGTERM ~7.5 s later, then SIGKILL); the tool @actions/exec started keeps running unless told.
 * `cancelTools` forwards the first signal once to every running tool (found under /proc as our
 * child with the command line we started), SIGKILLs their process groups after `graceMs`, and
 * from then on every `run` ends with a `CancelledError`.
 */
export class CancelledError extends SlipwayError {
  constructor(
    readonly signal: string,
    tool: string
  ) {
    super(`The step was cancelled (${signal}) while ${tool} was running.`, {
      hint: 'The post step puts back a release this run left pending.'
    });
    this.name = 'CancelledError';
  }
}

const RUNNING = new Set<{ program: string; args: readonly string[] }>();
let cancelledBy: string | undefined;

function throwIfCancelled(tool: string): void {
  if (cancelledBy) throw new CancelledError(cancelledBy, tool.split('/').pop() ?? tool);
}

/** The signal the step was cancelled with, if it was. */
export function cancelSignal(): string | undefined {
  return cancelledBy;
}

/** Our child processes running one of the commands `run` started: pid and process group. */
function runningTools(): Array<{ pid: number; pgid: number }> {
  const wanted = new Set([...RUNNING].map(r => [r.program, ...r.args].join('\0')));
  const found: Array<{ pid: number; pgid: number }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …: comm may hold spaces, so split after the last ')'.
      const [, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0$/, '');
      if (wanted.has(cmdline)) found.push({ pid: Number(entry), pgid: Number(pgid) });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Forwards `signal` once to the running tools; returns how many were signalled. */
export function cancelTools(signal: NodeJS.Signals, graceMs = 8_000): number {
  if (cancelledBy) return 0;
  cancelledBy = signal;
  const tools = runningTools();
  const ownGroup = readOwnGroup();
  for (const tool of tools) {
    // `timeout` (every run with a timeout) leads its own group and forwards the signal to it.
    signalQuietly(tool.pid, signal);
    const target = tool.pgid !== ownGroup ? -tool.pgid : tool.pid;
    setTimeout(() => signalQuietly(target, 'SIGKILL'), graceMs).unref();
  }
  return tools.length;
}

function readOwnGroup(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
