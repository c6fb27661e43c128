import { openApiDocument } from "@quire/http-api";
import { createNotifierApi, type NotifierApiDependencies } from "./api.ts";

/**
 * The notifier API's OpenAPI 3.1 document: what services/notifier/openapi.json holds. Only routes are declared; nothing
 * is called.
 */
export function buildNotifierOpenApi() {
  const app = createNotifierApi({ keys: {} } as NotifierApiDependencies);
  return openApiDocument(app);
}

export const OPENAPI_PATH = new URL("../openapi.json", import.meta.url);
