import * as core from '@actions/core';

export interface RetryOptions {
  /** Total attempts including the first (>= 1). */
  attempts?: number;
  /** First back-off delay; doubles each retry up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Whether this error is worth another try. Defaults to `isTransientError`. */
  isTransient?: (error: unknown) => boolean;
  /** What is being retried, for the log line ("downloading buildkit"). */
  description?: string;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EPIPE',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT'
]);

/** HTTP status codes that a later attempt may not see: rate limits and server-side failures. */
export function isTransientStatus(status: number | undefined): boolean {
  return status === 408 || status === 429 || (status !== undefined && status >= 500);
}

/**
 * Network-level failures and 408/429/5xx responses are transient; anything else (4xx, a failed
 * build, a bad input) is not, and retrying it would only hide the real error for longer.
 */
export function isTransientError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const candidate = error as {
    code?: unknown;
    statusCode?: unknown;
    status?: unknown;
    cause?: unknown;
  };
  if (typeof candidate.code === 'string' && TRANSIENT_CODES.has(candidate.code)) return true;
  const status = typeof candidate.statusCode === 'number' ? candidate.statusCode : candidate.status;
  if (typeof status === 'number' && isTransientStatus(status)) return true;
  return (
    candidate.cause !== undefined && candidate.cause !== error && isTransientError(candidate.cause)
  );
}

const TLS_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_TLS_|ERR_SSL_)/;

/** Whether a Node error code means TLS verification failed (not worth a retry; a CA problem). */
export function isTlsErrorCode(code: string): boolean {
  return TLS_CODES.test(code);
}

export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number): number {
  return Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
}

const realSleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms));

/** Runs `operation`, retrying transient failures with exponential back-off. */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions = {}
): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 3);
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 15000;
  const isTransient = options.isTransient ?? isTransientError;
  const sleep = options.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= attempts || !isTransient(error)) throw error;
      const delay = backoffDelay(attempt, baseDelayMs, maxDelayMs);
      const what = options.description ? ` ${options.description}` : '';
      core.info(
        `Transient failure${what} (attempt ${attempt}/${attempts}): ${errorSummary(error)}; retrying in ${delay} ms`
      );
      await sleep(delay);
    }
  }
}

function errorSummary(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}

export interface PollOptions {
  timeoutMs: number;
  /** Pause between checks. */
  intervalMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Calls `check` until it returns a value (anything but undefined), pausing `intervalMs` between
 * calls; undefined when `timeoutMs` passes first. Waiting for something to come up (a builder,
 * a pod) rather than retrying a failure: the caller words the timeout.
 */
export async function poll<T>(
  check: () => Promise<T | undefined>,
  options: PollOptions
): Promise<T | undefined> {
  const intervalMs = options.intervalMs ?? 1000;
  const sleep = options.sleep ?? realSleep;
  const deadline = Date.now() + options.timeoutMs;
  while (true) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() + intervalMs > deadline) return undefined;
    await sleep(intervalMs);
  }
}
