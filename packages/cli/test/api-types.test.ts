import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { API_TYPES, generateApiTypes } from "../src/generated/api-types.ts";
import { KEY_SCOPES } from "../src/program.ts";

describe("the client's types", () => {
  for (const api of Object.keys(API_TYPES) as (keyof typeof API_TYPES)[]) {
    it(`src/generated/${api}.ts equals what services/${api}/openapi.json generates (run \`npm run generate -w @quire/cli\`)`, async () => {
      expect(readFileSync(API_TYPES[api].types, "utf8")).toBe(await generateApiTypes(api));
    });
  }
});

describe("what the CLI lists from the APIs", () => {
  it("`quire keys create --scopes` knows exactly the scopes the ingestion API's document lists", () => {
    const document = JSON.parse(
      readFileSync(new URL("../../../services/ingestion/openapi.json", import.meta.url), "utf8"),
    );
    const scopes = document.components.schemas.NewApiKey.properties.scopes.items.enum;
    expect([...KEY_SCOPES].sort()).toEqual([...scopes].sort());
  });
});
