/**
 * What classify does with unusable tool answers. These use a stubbed `client.send` because the
 * devcloud emulator always fills the forced tool's schema validly: it cannot produce a label
 * outside the enum, an out-of-range confidence or a missing tool call.
 */
import type { BedrockRuntimeClient, ConverseCommandOutput } from "@aws-sdk/client-bedrock-runtime";
import { describe, expect, it, vi } from "vitest";
import { createBedrockStageClient, ModelOutputError, type StageAttemptEvent } from "../src/index.ts";

const usage = { inputTokens: 120, outputTokens: 18, totalTokens: 138 };

function toolAnswer(
  input: unknown,
  stopReason: ConverseCommandOutput["stopReason"] = "tool_use",
): ConverseCommandOutput {
  return {
    $metadata: { httpStatusCode: 200 },
    output: {
      message: {
        role: "assistant",
        content: [{ toolUse: { toolUseId: "tooluse_1", name: "record_classification", input: input as never } }],
      },
    },
    stopReason,
    usage,
    metrics: { latencyMs: 10 },
  };
}

function textAnswer(text: string): ConverseCommandOutput {
  return {
    $metadata: { httpStatusCode: 200 },
    output: { message: { role: "assistant", content: [{ text }] } },
    stopReason: "end_turn",
    usage,
    metrics: { latencyMs: 10 },
  };
}

function stubClient(...answers: ConverseCommandOutput[]) {
  const send = vi.fn(async () => {
    const answer = answers.length > 1 ? answers.shift() : answers[0];
    if (answer === undefined) throw new Error("no stubbed answer");
    return answer;
  });
  return { client: { send } as unknown as BedrockRuntimeClient, send };
}

const DOCUMENT = "Secret settlement terms: the defendant pays 4.2 million.";

async function classifyError(...answers: ConverseCommandOutput[]) {
  const { client, send } = stubClient(...answers);
  const events: StageAttemptEvent[] = [];
  const stage = createBedrockStageClient({ client, sleep: async () => {}, onAttempt: (event) => events.push(event) });
  const error = await stage.classify(DOCUMENT).catch((caught: unknown) => caught);
  return { error: error as ModelOutputError, calls: send.mock.calls.length, events };
}

describe("classify with unusable tool output", () => {
  it("retries a label outside the taxonomy twice, then throws ModelOutputError naming the label", async () => {
    const { error, calls, events } = await classifyError(toolAnswer({ label: "memo", confidence: 0.8 }));

    expect(error).toBeInstanceOf(ModelOutputError);
    expect(error).toMatchObject({ code: "MODEL_OUTPUT_INVALID", problem: "schema-violation", attempts: 3 });
    expect(error.message).toContain(
      'label "memo" is not in the taxonomy (contract, court-filing, correspondence, invoice, policy, other)',
    );
    expect(calls).toBe(3);
    // Rejected answers still cost tokens: reported per attempt for metrics.
    expect(events.map((event) => event.usage)).toEqual([usage, usage, usage]);
    expect(events.every((event) => event.error === "MODEL_OUTPUT_INVALID:schema-violation")).toBe(true);
    expect(error.message).not.toContain("settlement");
  });

  it("names an out-of-range confidence", async () => {
    const { error } = await classifyError(toolAnswer({ label: "invoice", confidence: 1.7 }));
    expect(error.message).toContain("confidence 1.7 is above 1");
  });

  it("names missing fields, and blames maxTokens when the call was cut off", async () => {
    const { error } = await classifyError(toolAnswer({}, "max_tokens"));
    expect(error).toMatchObject({ problem: "truncated" });
    expect(error.message).toContain("label is missing");
    expect(error.message).toContain("confidence is missing");
    expect(error.message).toContain("hit maxTokens");
  });

  it("reports a prose answer without the tool call as missing-tool-use", async () => {
    const { error, calls } = await classifyError(textAnswer("It is an invoice."));
    expect(error).toMatchObject({ problem: "missing-tool-use" });
    expect(error.message).toContain("did not call record_classification");
    expect(calls).toBe(3);
  });

  it("succeeds when a retry returns valid input, and accepts a label differing only in case", async () => {
    const { client, send } = stubClient(
      toolAnswer({ label: "letter", confidence: 0.9 }),
      toolAnswer({ label: "Invoice", confidence: 0.92 }),
    );
    const stage = createBedrockStageClient({ client, sleep: async () => {} });
    const result = await stage.classify(DOCUMENT);

    expect(result).toMatchObject({
      label: "invoice",
      confidence: 0.92,
      attempts: 2,
      promptVersion: "classification-v1",
      usage,
    });
    expect(send).toHaveBeenCalledTimes(2);
  });
});

describe("summarize with an unusable answer", () => {
  it("retries an empty summary, then throws ModelOutputError", async () => {
    const { client, send } = stubClient(textAnswer("   "));
    const stage = createBedrockStageClient({ client, sleep: async () => {} });
    const error = await stage.summarize(DOCUMENT).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ModelOutputError);
    expect(error).toMatchObject({ problem: "empty-answer", attempts: 3 });
    expect(send).toHaveBeenCalledTimes(3);
  });
});
