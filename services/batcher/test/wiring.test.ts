import { describe, expect, it } from "vitest";
import { wiring } from "../src/wiring.ts";

describe("batcher wiring", () => {
  it("consumes its own queue and only the runs sent to batch inference", () => {
    expect(wiring.queue).toBe("batcher");
    expect([...wiring.consumes]).toEqual(["run.batch"]);
  });

  it("emits no events: the stages announce what the batch computed", () => {
    expect(wiring.emits).toEqual([]);
  });
});
