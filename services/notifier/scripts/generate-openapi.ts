// Writes services/notifier/openapi.json from the routes' zod schemas. Run after changing a route.
import { writeFileSync } from "node:fs";
import { serializeOpenApi } from "@quire/http-api";
import { buildNotifierOpenApi, OPENAPI_PATH } from "../src/openapi.ts";

writeFileSync(OPENAPI_PATH, serializeOpenApi(buildNotifierOpenApi()));
console.log(`wrote ${OPENAPI_PATH.pathname}`);
