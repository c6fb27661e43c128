export { createApiApp, jsonBody, limitBody, parseJsonBody } from "./app.ts";
export { ApiError, validationFailed, type ApiErrorStatus } from "./errors.ts";
