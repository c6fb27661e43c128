import { describe, expect, it } from "vitest";
import { wiring } from "../src/wiring.ts";

describe("summarizer wiring", () => {
  it("consumes its own queue and only the messages its handler is meant for", () => {
    expect(wiring.queue).toBe("summarizer");
    expect([...wiring.consumes].sort()).toEqual(["document.submitted"].sort());
  });

  it("emits exactly the events the catalogue lists it as a source of", () => {
    expect([...wiring.emits].sort()).toEqual(
      ["Summary Completed", "Job Completed", "Job Failed", "Run Completed"].sort(),
    );
  });
});
