export { createApiApp, jsonBody, limitBody, openApiDocument, parseJsonBody } from "./app.ts";
export { ApiError, validationFailed, type ApiErrorStatus } from "./errors.ts";
export {
  apiKeySecurity,
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
