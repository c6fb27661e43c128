import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildAsyncApiDocument } from "../src/asyncapi.ts";
import { eventCatalog } from "../src/events.ts";
import { ASYNCAPI_PATH, serializeAsyncApi } from "../scripts/asyncapi-file.ts";

describe("AsyncAPI document", () => {
  it("committed asyncapi.json equals what the schemas generate (run `npm run generate -w @quire/contracts`)", () => {
    const committed = readFileSync(ASYNCAPI_PATH, "utf8");
    expect(committed).toBe(serializeAsyncApi(buildAsyncApiDocument()));
  });

  it("is an AsyncAPI 3 document with a message for document.submitted, run.batch and every EventBridge detail-type", () => {
    const doc = buildAsyncApiDocument();
    expect(doc.asyncapi).toBe("3.0.0");
    const names = Object.values(doc.components.messages).map((m) => (m as { name: string }).name);
    expect(names).toEqual(["document.submitted", "run.batch", ...Object.keys(eventCatalog)]);
  });

  it("every $ref points at something that exists in the document", () => {
    const doc = buildAsyncApiDocument();
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const pointer = ref.slice('"$ref":"#/'.length, -1).split("/");
      let node: unknown = doc;
      for (const part of pointer) node = (node as Record<string, unknown>)[part.replaceAll("~1", "/")];
      expect(node, ref).toBeDefined();
    }
  });
});
