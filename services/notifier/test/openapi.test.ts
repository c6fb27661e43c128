import { specifyOpenApiDocument } from "@quire/http-api/testing";
import { createNotifierApi, type NotifierApiDependencies } from "../src/api.ts";
import { buildNotifierOpenApi, OPENAPI_PATH } from "../src/openapi.ts";

specifyOpenApiDocument({
  service: "notifier",
  path: OPENAPI_PATH,
  build: buildNotifierOpenApi,
  app: () => createNotifierApi({ keys: {} } as NotifierApiDependencies),
});
