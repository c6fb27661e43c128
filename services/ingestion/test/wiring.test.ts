import { describe, expect, it } from "vitest";
import { wiring } from "../src/wiring.ts";

describe("ingestion wiring", () => {
  it("consumes its own queue and only the messages its handler is meant for", () => {
    expect(wiring.queue).toBe("ingestion");
    expect([...wiring.consumes].sort()).toEqual(["Document Submitted"].sort());
  });

  it("emits exactly the events the catalogue lists it as a source of", () => {
    expect([...wiring.emits].sort()).toEqual(["Job Failed", "Run Completed"].sort());
  });
});
