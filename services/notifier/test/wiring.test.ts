import { describe, expect, it } from "vitest";
import { wiring } from "../src/wiring.ts";

describe("notifier wiring", () => {
  it("consumes its own queue and only the messages its handler is meant for", () => {
    expect(wiring.queue).toBe("notifier");
    expect([...wiring.consumes].sort()).toEqual(["Job Completed", "Job Failed", "Run Completed"].sort());
  });

  it("emits exactly the events the catalogue lists it as a source of", () => {
    expect([...wiring.emits].sort()).toEqual(["Job Failed"].sort());
  });
});
