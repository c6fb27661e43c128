/** Converse through the real SDK client over HTTP: answers, tool use, validation, routing. */
import {
  ConverseCommand,
  InvokeModelCommand,
  type ContentBlock,
  type ConverseCommandInput,
  type ConverseCommandOutput,
  type Tool,
} from "@aws-sdk/client-bedrock-runtime";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createBedrockBackend } from "../src/bedrock/index.ts";
import { validateJsonSchema, type JsonSchema } from "../src/bedrock/model/json-schema.ts";
import { splitSentences } from "../src/bedrock/model/text.ts";
import {
  CONTRACT_TEXT,
  HAIKU,
  INVOICE_TEXT,
  LETTER_TEXT,
  LONG_DOCUMENT,
  MOTION_TEXT,
  POLICY_TEXT,
  rejection,
  serve,
  type Harness,
} from "./bedrock-helpers.ts";

const TAXONOMY = ["contract", "court-filing", "correspondence", "invoice", "policy", "other"];
const CLASSIFY_SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    documentType: { type: "string", enum: TAXONOMY, description: "The kind of legal document." },
    confidence: { type: "number", minimum: 0, maximum: 1 },
    rationale: { type: "string" },
    keywords: { type: "array", items: { type: "string" }, maxItems: 5 },
  },
  required: ["documentType", "confidence"],
};
const CLASSIFY_TOOL: Tool = {
  toolSpec: {
    name: "record_classification",
    description: "Record the category of a legal document.",
    inputSchema: { json: CLASSIFY_SCHEMA as never },
  },
};

let harness: Harness;
let send: (input: Partial<ConverseCommandInput>) => Promise<ConverseCommandOutput>;

beforeAll(async () => {
  // Latency is simulated but scaled to ~nothing so these tests are about content, not time.
  harness = await serve(createBedrockBackend({ timeScale: 0.0001 }));
  const client = harness.client({ maxAttempts: 1 });
  send = (input) => client.send(new ConverseCommand({ modelId: HAIKU, ...input }));
});
afterAll(async () => harness.close());

const userText = (text: string) => [{ role: "user" as const, content: [{ text }] }];
const textOf = (output: ConverseCommandOutput) =>
  output.output?.message?.content?.map((block) => block.text ?? "").join("") ?? "";
const toolUseOf = (output: ConverseCommandOutput) =>
  output.output?.message?.content?.find((block) => block.toolUse)?.toolUse;

describe("text answers", () => {
  test("summary respects maxTokens and reports max_tokens when it had to cut", async () => {
    const output = await send({ messages: userText(LONG_DOCUMENT), inferenceConfig: { maxTokens: 12 } });
    expect(output.stopReason).toBe("max_tokens");
    expect(output.usage?.outputTokens).toBeLessThanOrEqual(12);
    expect(Math.ceil(textOf(output).length / 4)).toBe(output.usage?.outputTokens);
  });

  test("summary is extractive and deterministic, ending the turn when it fits", async () => {
    const request = {
      messages: userText(`Summarize the following document:\n\n${LONG_DOCUMENT}`),
      inferenceConfig: { maxTokens: 500 },
    };
    const [first, second] = [await send(request), await send(request)];
    expect(first.stopReason).toBe("end_turn");
    expect(textOf(first)).toBe(textOf(second));
    expect(first.output?.message?.role).toBe("assistant");
    const sourceSentences = splitSentences(LONG_DOCUMENT);
    for (const sentence of splitSentences(textOf(first))) expect(sourceSentences).toContain(sentence);
  });

  test("usage totals are consistent and metrics report a latency", async () => {
    const output = await send({ system: [{ text: "You are a paralegal." }], messages: userText(CONTRACT_TEXT) });
    const usage = output.usage;
    expect(usage?.inputTokens).toBeGreaterThan(0);
    expect(usage?.outputTokens).toBeGreaterThan(0);
    expect(usage?.totalTokens).toBe((usage?.inputTokens ?? 0) + (usage?.outputTokens ?? 0));
    expect(output.metrics?.latencyMs).toBeGreaterThan(0);
  });

  test("a text document block is read as the document", async () => {
    const content: ContentBlock[] = [
      { text: "Summarize this file in one sentence." },
      { document: { format: "txt", name: "memo", source: { bytes: new TextEncoder().encode(LONG_DOCUMENT) } } },
    ];
    const output = await send({ messages: [{ role: "user", content }] });
    expect(splitSentences(textOf(output))).toHaveLength(1);
    expect(LONG_DOCUMENT).toContain(textOf(output));
  });
});

describe("tool use", () => {
  test("returns schema-valid input with the enum respected", async () => {
    const output = await send({
      messages: userText(MOTION_TEXT),
      toolConfig: { tools: [CLASSIFY_TOOL], toolChoice: { tool: { name: "record_classification" } } },
    });
    expect(output.stopReason).toBe("tool_use");
    const toolUse = toolUseOf(output);
    expect(toolUse?.name).toBe("record_classification");
    expect(toolUse?.toolUseId).toMatch(/^tooluse_[\w-]{22}$/);
    expect(validateJsonSchema(toolUse?.input, CLASSIFY_SCHEMA)).toEqual([]);
    expect(TAXONOMY).toContain((toolUse!.input as Record<string, unknown>).documentType);
  });

  test.each([
    [INVOICE_TEXT, "invoice"],
    [MOTION_TEXT, "court-filing"],
    [CONTRACT_TEXT, "contract"],
    [LETTER_TEXT, "correspondence"],
    [POLICY_TEXT, "policy"],
  ])("classifier picks the right label (%#: %s)", async (text, expected) => {
    const output = await send({
      messages: userText(text),
      toolConfig: { tools: [CLASSIFY_TOOL], toolChoice: { any: {} } },
    });
    const input = toolUseOf(output)?.input as Record<string, unknown>;
    expect(input.documentType).toBe(expected);
    expect(input.confidence).toBeGreaterThan(0.5);
  });

  test("auto calls the tool the prompt asks for, and answers in text otherwise", async () => {
    const tools = { tools: [CLASSIFY_TOOL], toolChoice: { auto: {} } };
    const classifyTurn = await send({
      messages: userText(`Classify this document:\n\n${INVOICE_TEXT}`),
      toolConfig: tools,
    });
    expect(classifyTurn.stopReason).toBe("tool_use");
    const summaryTurn = await send({
      messages: userText(`Summarize this document:\n\n${INVOICE_TEXT}`),
      toolConfig: tools,
    });
    expect(summaryTurn.stopReason).toBe("end_turn");
    expect(textOf(summaryTurn).length).toBeGreaterThan(0);
  });

  test("answers in text after a toolResult", async () => {
    const first = await send({
      messages: userText(INVOICE_TEXT),
      toolConfig: { tools: [CLASSIFY_TOOL], toolChoice: { any: {} } },
    });
    const toolUse = toolUseOf(first);
    const output = await send({
      messages: [
        ...userText(INVOICE_TEXT),
        {
          role: "assistant",
          content: [
            {
              toolUse: { toolUseId: toolUse?.toolUseId ?? "", name: toolUse?.name ?? "", input: toolUse?.input ?? {} },
            },
          ],
        },
        {
          role: "user",
          content: [
            {
              toolResult: {
                toolUseId: toolUse?.toolUseId ?? "",
                content: [{ text: "Classification stored as invoice." }],
              },
            },
          ],
        },
      ],
      toolConfig: { tools: [CLASSIFY_TOOL] },
    });
    expect(output.stopReason).toBe("end_turn");
    expect(textOf(output)).toContain("invoice");
  });
});

describe("model identifiers", () => {
  test.each([
    `us.${HAIKU}`,
    "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "eu.amazon.nova-lite-v1:0",
    `arn:aws:bedrock:us-east-1::foundation-model/${HAIKU}`,
    `arn:aws:bedrock:us-east-1:123456789012:inference-profile/apac.amazon.nova-pro-v1:0`,
  ])("accepts %s", async (modelId) => {
    const output = await send({ modelId, messages: userText(CONTRACT_TEXT) });
    expect(output.stopReason).toBe("end_turn");
  });

  test("unknown model id → ValidationException, like real Bedrock", async () => {
    const error = await rejection(send({ modelId: "acme.gpt-9000-v1:0", messages: userText("Hello there.") }));
    expect(error.name).toBe("ValidationException");
    expect(error.message).toBe("The provided model identifier is invalid.");
    expect((error.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(400);
  });
});

describe("bad input → ValidationException", () => {
  const tools = { tools: [CLASSIFY_TOOL] };
  test.each<[string, Partial<ConverseCommandInput>, RegExp]>([
    ["missing messages", {}, /messages field is required/],
    ["empty messages", { messages: [] }, /messages field is required/],
    [
      "first message from the assistant",
      { messages: [{ role: "assistant", content: [{ text: "Hi." }] }] },
      /must start with a user message/,
    ],
    [
      "roles not alternating",
      { messages: [...userText("One."), ...userText("Two.")] },
      /alternate between user and assistant/,
    ],
    ["empty content", { messages: [{ role: "user", content: [] }] }, /messages\.0 is empty/],
    ["blank text", { messages: userText("   ") }, /text field .* is blank/],
    [
      "maxTokens below 1",
      { messages: userText("Hi."), inferenceConfig: { maxTokens: 0 } },
      /greater than or equal to 1/,
    ],
    [
      "maxTokens above the model limit",
      { messages: userText("Hi."), inferenceConfig: { maxTokens: 5000 } },
      /exceeds the model limit of 4096/,
    ],
    [
      "temperature out of range",
      { messages: userText("Hi."), inferenceConfig: { temperature: 1.5 } },
      /inferenceConfig\.temperature/,
    ],
    [
      "toolChoice naming an undefined tool",
      { messages: userText("Hi."), toolConfig: { ...tools, toolChoice: { tool: { name: "nope" } } } },
      /"nope" named in toolChoice is not defined/,
    ],
    [
      "duplicate tool names",
      { messages: userText("Hi."), toolConfig: { tools: [CLASSIFY_TOOL, CLASSIFY_TOOL] } },
      /must be unique/,
    ],
    [
      "toolUse without toolConfig",
      {
        messages: [
          ...userText("Hi."),
          { role: "assistant", content: [{ toolUse: { toolUseId: "t1", name: "x", input: {} } }] },
          ...userText("Go on."),
        ],
      },
      /toolConfig field must be defined/,
    ],
    [
      "tools on a model without tool use",
      { modelId: "meta.llama3-8b-instruct-v1:0", messages: userText("Hi."), toolConfig: tools },
      /doesn't support tool use/,
    ],
  ])("%s", async (_case, input, message) => {
    const error = await rejection(send(input));
    expect(error.name).toBe("ValidationException");
    expect(error.message).toMatch(message);
    expect((error.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(400);
  });

  test("malformed JSON body", async () => {
    const response = await fetch(`${harness.url}/model/${encodeURIComponent(HAIKU)}/converse`, {
      method: "POST",
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("x-amzn-errortype")).toMatch(/^ValidationException:/);
    expect(((await response.json()) as { message: string }).message).toMatch(/not valid JSON/);
  });

  test("wrong shape is reported with the member path", async () => {
    const body = JSON.stringify({ messages: [{ role: "system", content: [{ text: "x" }] }] });
    const response = await fetch(`${harness.url}/model/${encodeURIComponent(HAIKU)}/converse`, {
      method: "POST",
      body,
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/'messages\.0\.role'/);
  });
});

describe("routing", () => {
  test("unknown path → 404 UnknownOperationException", async () => {
    const response = await fetch(`${harness.url}/foundation-models`, { method: "GET" });
    expect(response.status).toBe(404);
    expect(response.headers.get("x-amzn-errortype")).toMatch(/^UnknownOperationException/);
  });

  test("InvokeModel is answered with a clear not-emulated error", async () => {
    const client = harness.client({ maxAttempts: 1 });
    const error = await rejection(
      client.send(
        new InvokeModelCommand({
          modelId: HAIKU,
          body: new TextEncoder().encode("{}"),
          contentType: "application/json",
        }),
      ),
    );
    expect(error.name).toBe("UnknownOperationException");
    expect(error.message).toMatch(/InvokeModel is not emulated/);
  });
});
