export {
  createApiApp,
  declaresJson,
  jsonBody,
  limitBody,
  openApiDocument,
  parseJsonBody,
  parseOptionalJsonBody,
} from "./app.ts";
export {
  callerOf,
  ConcurrencyLimiter,
  missingScopes,
  RateLimiter,
  type Authenticate,
  type Caller,
  type RateDecision,
  type RequestRate,
} from "./access.ts";
export { BodyBudget, reserveBody } from "./body-budget.ts";
export { ApiError, validationFailed, type ApiErrorStatus } from "./errors.ts";
export {
  apiKeySecurity,
  keyScope,
  BAD_JSON_BODY,
  buildOpenApiDocument,
  defineRoute,
  errorBody,
  errorResponses,
  INTERNAL,
  json,
  NOT_JSON,
  payloadTooLarge,
  serializeOpenApi,
  UNAUTHORIZED,
  type ApiDescription,
  type ErrorCodes,
  type OpenApiDocument,
} from "./openapi.ts";
