import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { API_TYPES, generateApiTypes } from "../src/generated/api-types.ts";

describe("the client's types", () => {
  for (const api of Object.keys(API_TYPES) as (keyof typeof API_TYPES)[]) {
    it(`src/generated/${api}.ts equals what services/${api}/openapi.json generates (run \`npm run generate -w @quire/cli\`)`, async () => {
      expect(readFileSync(API_TYPES[api].types, "utf8")).toBe(await generateApiTypes(api));
    });
  }
});
