const FAILURE_CODE = /^[A-Z][A-Z0-9_]+$/;

/**
 * Throw for failures that can never succeed on retry: the host dead-letters the message at
 * once, with this reason, instead of burning the queue's maxReceiveCount on it.
 */
export class PermanentError extends Error {
  /** UPPER_SNAKE_CASE, the same shape as the contracts' `failureReason.code`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    // A malformed code would travel into DLQ attributes and Job Failed events; fail at the throw site.
    if (!FAILURE_CODE.test(code))
      throw new TypeError(`PermanentError code must be UPPER_SNAKE_CASE, got ${JSON.stringify(code)}`);
    this.name = "PermanentError";
    this.code = code;
  }
}

/** Duck-typed too: a consumer bundled with a second copy of this package still dead-letters. */
export function isPermanentError(error: unknown): error is PermanentError {
  if (error instanceof PermanentError) return true;
  if (!(error instanceof Error) || error.name !== "PermanentError") return false;
  const code: unknown = (error as { code?: unknown }).code;
  return typeof code === "string" && FAILURE_CODE.test(code);
}

/** The reason a message failed, as written to the DLQ. */
export interface FailureReason {
  code: string;
  message: string;
}
