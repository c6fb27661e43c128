import type { z } from "zod";

export type ApiErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 422 | 429 | 500 | 503;

/** An API failure with a stable, machine-readable code: `{ error: { code, message, details? } }`. */
export class ApiError extends Error {
  readonly status: ApiErrorStatus;
  readonly code: string;
  readonly details: unknown;
  constructor(status: ApiErrorStatus, code: string, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const validationFailed = (error: z.ZodError) =>
  new ApiError(
    400,
    "VALIDATION_FAILED",
    error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; "),
    error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message })),
  );
