// Writes src/generated/{ingestion,notifier}.ts from the services' openapi.json. Run after `npm run generate` in a
// service.
import { writeFile } from "node:fs/promises";
import { API_TYPES, generateApiTypes } from "../src/generated/api-types.ts";

for (const api of Object.keys(API_TYPES) as (keyof typeof API_TYPES)[]) {
  await writeFile(API_TYPES[api].types, await generateApiTypes(api));
  console.log(`wrote ${API_TYPES[api].types.pathname}`);
}
