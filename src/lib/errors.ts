/**
 * Errors that reach the user. Every failure an action reports goes through `SlipwayError` so that it
 * carries a plain message, an optional hint (what to do next) and, for input problems, the input's
 * name. Messages must never contain secret values: callers build them from names, not values, and
 * `action.ts` redacts registered secrets once more before anything is printed.
 */
export interface SlipwayErrorOptions {
  /** What the user can do about it ("Run registry-login-from-secret before this step"). */
  hint?: string;
  /** The original error, kept for debug logging (redacted before printing). */
  cause?: unknown;
}

export class SlipwayError extends Error {
  readonly hint: string | undefined;

  constructor(message: string, options: SlipwayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SlipwayError';
    this.hint = options.hint;
  }
}

/** A rejected action input: names the input and the accepted form. Raised before any tool runs. */
export class InputError extends SlipwayError {
  readonly input: string;

  constructor(input: string, message: string, options: SlipwayErrorOptions = {}) {
    super(`Input "${input}" ${message}`, options);
    this.name = 'InputError';
    this.input = input;
  }
}

/** The user-facing text of any thrown value: message, then the hint on its own line. */
export function describeError(error: unknown): string {
  if (error instanceof SlipwayError) {
    return error.hint ? `${error.message}\nHint: ${error.hint}` : error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
