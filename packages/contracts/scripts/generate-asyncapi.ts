// Writes packages/contracts/asyncapi.json from the zod schemas. Run after changing a schema.
import { writeFileSync } from "node:fs";
import { buildAsyncApiDocument } from "../src/asyncapi.ts";
import { ASYNCAPI_PATH, serializeAsyncApi } from "./asyncapi-file.ts";

writeFileSync(ASYNCAPI_PATH, serializeAsyncApi(buildAsyncApiDocument()));
console.log(`wrote ${ASYNCAPI_PATH.pathname}`);
