export type DeadLetterErrorCode = "QUEUE_NOT_FOUND" | "DEAD_LETTER_NOT_FOUND" | "REDRIVE_IN_PROGRESS";

/** One error base for the package: callers (the HTTP API) map `code` onto a 4xx. */
export class DeadLetterError extends Error {
  override readonly name = "DeadLetterError";
  readonly code: DeadLetterErrorCode;

  constructor(code: DeadLetterErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
