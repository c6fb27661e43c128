import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import {
  conditionally,
  conditionFailureItem,
  epochSeconds,
  isConditionFailure,
  isTransactionConditionFailure,
  transactConditionally,
} from "../src/index.ts";

const cancelled = (...codes: string[]) =>
  Object.assign(new Error(`Transaction cancelled [${codes.join(", ")}]`), {
    name: "TransactionCanceledException",
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

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

  it("a transaction cancelled by failed conditions alone is an answer; one with a refused action or a conflict is not", () => {
    expect(isTransactionConditionFailure(cancelled("None", "ConditionalCheckFailed"))).toBe(true);
    expect(isTransactionConditionFailure(cancelled("ConditionalCheckFailed", "ValidationError"))).toBe(false);
    expect(isTransactionConditionFailure(cancelled("TransactionConflict", "None"))).toBe(false);
    expect(isTransactionConditionFailure(cancelled("None", "None"))).toBe(false);
    expect(isTransactionConditionFailure(new Error("throttled"))).toBe(false);
  });

  it("transactConditionally() tries a conflicted transaction again, answers false for a failed condition, and throws the rest", async () => {
    let calls = 0;
    const conflictedTwice = async () => {
      if (++calls <= 2) throw cancelled("TransactionConflict", "None");
    };
    expect(await transactConditionally(conflictedTwice, { pauseMs: () => 0 })).toBe(true);
    expect(calls).toBe(3);
    expect(
      await transactConditionally(async () => {
        throw cancelled("ConditionalCheckFailed", "None");
      }),
    ).toBe(false);
    const alwaysConflicted = async () => {
      throw cancelled("None", "TransactionConflict");
    };
    await expect(transactConditionally(alwaysConflicted, { conflictRetries: 2, pauseMs: () => 0 })).rejects.toThrow(
      /TransactionConflict/,
    );
    await expect(
      transactConditionally(async () => {
        throw cancelled("ValidationError");
      }),
    ).rejects.toThrow(/ValidationError/);
  });

  it("conditionFailureItem gives the item a refused write carried, as plain values; none when it carried none", () => {
    const refused = (Item?: Record<string, unknown>) =>
      new ConditionalCheckFailedException({ message: "lost", $metadata: {}, ...(Item ? { Item } : {}) } as never);
    // The document client leaves it in DynamoDB's wire shape.
    expect(
      conditionFailureItem(
        refused({ pk: { S: "a" }, count: { N: "2" }, tags: { L: [{ S: "x" }] }, done: { BOOL: true } }),
      ),
    ).toEqual({ pk: "a", count: 2, tags: ["x"], done: true });
    // Already plain (a client that unmarshalls it): as is.
    expect(conditionFailureItem(refused({ pk: "a", result: { text: "t" } }))).toEqual({
      pk: "a",
      result: { text: "t" },
    });
    expect(conditionFailureItem(refused())).toBeUndefined();
    expect(conditionFailureItem(new Error("not a condition failure"))).toBeUndefined();
  });

  it("epochSeconds rounds down to whole seconds", () => {
    expect(epochSeconds(new Date(1_700_000_000_999))).toBe(1_700_000_000);
  });
});
