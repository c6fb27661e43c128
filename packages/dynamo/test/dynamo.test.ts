import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { conditionally, epochSeconds, isConditionFailure } from "../src/index.ts";

describe("DynamoDB conventions", () => {
  it("recognises a lost conditional write by class or by name (a second copy of the SDK)", () => {
    expect(isConditionFailure(new ConditionalCheckFailedException({ message: "lost", $metadata: {} }))).toBe(true);
    expect(isConditionFailure(Object.assign(new Error("lost"), { name: "ConditionalCheckFailedException" }))).toBe(
      true,
    );
    expect(isConditionFailure(new Error("ProvisionedThroughputExceededException"))).toBe(false);
  });

  it("conditionally() answers false for a lost condition and rethrows anything else", async () => {
    expect(await conditionally(async () => {})).toBe(true);
    expect(
      await conditionally(async () => {
        throw Object.assign(new Error("lost"), { name: "ConditionalCheckFailedException" });
      }),
    ).toBe(false);
    await expect(
      conditionally(async () => {
        throw new Error("throttled");
      }),
    ).rejects.toThrow("throttled");
  });

  it("epochSeconds rounds down to whole seconds", () => {
    expect(epochSeconds(new Date(1_700_000_000_999))).toBe(1_700_000_000);
  });
});
