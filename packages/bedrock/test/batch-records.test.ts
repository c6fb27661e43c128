import { describe, expect, it } from "vitest";
import {
  classificationJsonV1,
  classificationPromptVersionFor,
  classificationRecord,
  DEFAULT_TAXONOMY,
  parseOutputLine,
  readClassificationAnswer,
  readSummaryAnswer,
  summaryRecord,
  summaryV1,
  type BatchOutputLine,
} from "../src/index.ts";

const MODEL = "anthropic.claude-3-haiku-20240307-v1:0";
const usage = { inputTokens: 120, outputTokens: 30, totalTokens: 150 };
const answered = (text: string, stopReason = "end_turn"): BatchOutputLine => ({
  recordId: "r1",
  modelOutput: { output: { message: { content: [{ text }] } }, stopReason, usage },
});

describe("stage work as batch records", () => {
  it("a summary record is the on-demand summary prompt; a document longer than one call gets none (it is summarised in parts on demand)", () => {
    const record = summaryRecord("job-1", "The lessee pays rent monthly.");
    expect(record).toEqual({
      recordId: "job-1",
      modelInput: {
        system: [{ text: summaryV1.system }],
        messages: [{ role: "user", content: [{ text: summaryV1.renderUserMessage("The lessee pays rent monthly.") }] }],
        inferenceConfig: { maxTokens: 512, temperature: 0 },
      },
    });
    expect(summaryRecord("job-2", "x".repeat(1001), { maxInputChars: 1000 })).toBeUndefined();
  });

  it("a classification record asks for a JSON object (no tool: Converse batch jobs have none), listing the taxonomy, on the document's leading part", () => {
    const record = classificationRecord("job-1", `${"a ".repeat(600)}tail`, ["memo", "invoice"], {
      maxInputChars: 1000,
    });
    expect(record.modelInput.system[0]!.text).toBe(classificationJsonV1.system);
    const message = record.modelInput.messages[0]!.content[0]!.text;
    expect(message).toContain("exactly one of: memo, invoice.");
    expect(message).not.toContain("tail");
    expect("toolConfig" in record.modelInput).toBe(false);
  });
});

describe("batch answers read back as stage results", () => {
  it("a summary answer becomes the summary stage's result, priced as batch inference", () => {
    expect(readSummaryAnswer(answered("A lease for one year."), MODEL)).toEqual({
      ok: true,
      result: {
        text: "A lease for one year.",
        modelId: MODEL,
        promptVersion: summaryV1.version,
        usage,
        inference: "batch",
      },
    });
  });

  it("a classification answer is read from a JSON object (even in a code fence), its label matched to the taxonomy's casing", () => {
    const fenced = answered('```json\n{"label": "Invoice", "confidence": 0.82}\n```');
    expect(readClassificationAnswer(fenced, MODEL, DEFAULT_TAXONOMY)).toEqual({
      ok: true,
      result: {
        label: "invoice",
        confidence: 0.82,
        modelId: MODEL,
        promptVersion: classificationJsonV1.version,
        usage,
        inference: "batch",
      },
    });
    // A custom taxonomy's results carry its fingerprint, as on demand.
    const custom = readClassificationAnswer(answered('{"label":"memo","confidence":1}'), MODEL, ["memo", "letter"]);
    expect(custom.ok && custom.result.promptVersion).toBe(
      classificationPromptVersionFor(["memo", "letter"], classificationJsonV1.version),
    );
  });

  it("answers that are not results are refused with the reason: a record error, a label outside the taxonomy, prose, a filtered or truncated answer", () => {
    const reasons = [
      readSummaryAnswer({ recordId: "r", error: { errorCode: 400, errorMessage: "bad request" } }, MODEL),
      readClassificationAnswer(answered('{"label":"recipe","confidence":0.9}'), MODEL, DEFAULT_TAXONOMY),
      readClassificationAnswer(answered('{"label":"invoice","confidence":7}'), MODEL, DEFAULT_TAXONOMY),
      readClassificationAnswer(answered("It is an invoice."), MODEL, DEFAULT_TAXONOMY),
      readSummaryAnswer(answered("", "content_filtered"), MODEL),
      readSummaryAnswer(answered("A lease for", "max_tokens"), MODEL),
    ].map((answer) => (answer.ok ? "accepted" : answer.reason));
    expect(reasons).toEqual([
      "the record failed in the batch (400: bad request)",
      expect.stringContaining('label "recipe" is not in the taxonomy'),
      "the answer is invalid: confidence 7 is above 1",
      "the answer is not a JSON object",
      "the answer was withheld (stopReason content_filtered)",
      "the summary hit maxTokens",
    ]);
  });

  it("an output file's lines parse as output lines; anything else is not one", () => {
    expect(
      parseOutputLine(JSON.stringify({ recordId: "r", modelInput: {}, modelOutput: { stopReason: "end_turn" } })),
    ).toMatchObject({
      recordId: "r",
    });
    expect(parseOutputLine("{nope")).toBeUndefined();
    expect(parseOutputLine(JSON.stringify({ modelOutput: {} }))).toBeUndefined();
  });
});
