/** The local model's pure parts, tested without HTTP: text, summarizer, classifier, schema filling. */
import { describe, expect, test } from "vitest";
import { classify } from "../src/bedrock/model/classify.ts";
import { validateJsonSchema, type JsonSchema } from "../src/bedrock/model/json-schema.ts";
import { readPrompt, requestedSentenceCount } from "../src/bedrock/model/prompt.ts";
import { respond } from "../src/bedrock/model/respond.ts";
import { summarize } from "../src/bedrock/model/summarize.ts";
import { splitSentences } from "../src/bedrock/model/text.ts";
import { DocumentReading, firstDate, generateToolInput } from "../src/bedrock/model/tool-use.ts";
import { estimateTokens, truncateToTokens } from "../src/bedrock/tokens.ts";
import {
  CONTRACT_TEXT,
  INVOICE_TEXT,
  LETTER_TEXT,
  LONG_DOCUMENT,
  MOTION_TEXT,
  POLICY_TEXT,
} from "./bedrock-helpers.ts";

const TAXONOMY = ["contract", "court-filing", "correspondence", "invoice", "policy", "other"];

describe("sentence splitting", () => {
  test("keeps abbreviations and case captions inside one sentence", () => {
    expect(splitSentences("Jane Doe v. Acme Corp. filed suit. Dr. Smith testified on Jan. 5. It rained.")).toEqual([
      "Jane Doe v. Acme Corp. filed suit.",
      "Dr. Smith testified on Jan. 5.",
      "It rained.",
    ]);
  });

  test("joins hard-wrapped lines but splits paragraphs and list items", () => {
    expect(splitSentences("A sentence wrapped\nacross two lines.\n\nHeading\n\n- item one\n- item two")).toEqual([
      "A sentence wrapped across two lines.",
      "Heading",
      "- item one",
      "- item two",
    ]);
  });
});

describe("summarize", () => {
  test("is extractive: every summary sentence is a document sentence, in document order", () => {
    const source = splitSentences(LONG_DOCUMENT);
    const summary = summarize(LONG_DOCUMENT);
    expect(summary.sentences.length).toBeGreaterThan(0);
    const positions = summary.sentences.map((sentence) => source.indexOf(sentence));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  test("prefers central sentences over off-topic ones", () => {
    const summary = summarize(LONG_DOCUMENT, { sentenceCount: 4 });
    expect(summary.text).not.toContain("weather");
    expect(summary.text).not.toContain("cafeteria");
    expect(summary.text).toContain("agreement");
  });

  test("is deterministic", () => {
    expect(summarize(LONG_DOCUMENT)).toEqual(summarize(LONG_DOCUMENT));
  });

  test("honours an explicit sentence count and an empty document", () => {
    expect(summarize(LONG_DOCUMENT, { sentenceCount: 2 }).sentences).toHaveLength(2);
    expect(summarize("   ").text).toBe("");
  });
});

describe("classify", () => {
  test.each([
    [INVOICE_TEXT, "invoice"],
    [MOTION_TEXT, "court-filing"],
    [CONTRACT_TEXT, "contract"],
    [LETTER_TEXT, "correspondence"],
    [POLICY_TEXT, "policy"],
    ["The quick brown fox jumps over the lazy dog.", "other"],
  ])("labels the sample as %#: %s", (text, expected) => {
    expect(classify(text, TAXONOMY).label).toBe(expected);
  });

  test("gives a clear-cut document higher confidence than a document without cues", () => {
    const strong = classify(INVOICE_TEXT, TAXONOMY);
    const none = classify("The quick brown fox jumps over the lazy dog.", TAXONOMY);
    expect(strong.confidence).toBeGreaterThan(0.6);
    expect(strong.confidence).toBeLessThanOrEqual(1);
    expect(none.confidence).toBeLessThan(strong.confidence);
  });

  test("ignores instruction lines that list the labels", () => {
    const prompt = `Classify as one of: contract, court-filing, correspondence, invoice, policy, other.\n${MOTION_TEXT}`;
    expect(classify(prompt, TAXONOMY).label).toBe("court-filing");
  });

  test("scores labels outside the built-in taxonomy by their own words", () => {
    expect(classify("Quarterly financial report: revenue grew.", ["marketing", "financial_report"]).label).toBe(
      "financial_report",
    );
  });
});

describe("tool input generation", () => {
  const classifierSchema: JsonSchema = {
    type: "object",
    properties: {
      category: { type: "string", enum: TAXONOMY },
      confidence: { type: "number", minimum: 0, maximum: 1 },
      rationale: { type: "string", maxLength: 200 },
      keywords: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 3, uniqueItems: true },
      pageCount: { type: "integer", minimum: 1, maximum: 500 },
      isConfidential: { type: "boolean" },
      parties: {
        type: "array",
        minItems: 2,
        items: {
          type: "object",
          properties: {
            name: { type: "string", minLength: 1 },
            role: { type: "string", enum: ["plaintiff", "defendant", "other"] },
          },
          required: ["name", "role"],
        },
      },
      filedOn: { type: "string", format: "date" },
      meta: { $ref: "#/$defs/meta" },
      note: { anyOf: [{ type: "null" }, { type: "string" }] },
    },
    required: ["category", "confidence", "rationale", "keywords", "parties", "meta"],
    additionalProperties: false,
    $defs: {
      meta: {
        type: "object",
        properties: {
          language: { type: "string", enum: ["en", "fr"] },
          score: { type: "integer", minimum: 1, maximum: 5 },
        },
        required: ["language", "score"],
      },
    },
  };

  test("produces input valid against the schema, with the enum chosen from the document", () => {
    const input = generateToolInput(classifierSchema, new DocumentReading(MOTION_TEXT)) as Record<string, unknown>;
    expect(validateJsonSchema(input, classifierSchema)).toEqual([]);
    expect(input.category).toBe("court-filing");
    expect(input.confidence).toBeGreaterThan(0.5);
    expect(input.rationale).toMatch(/court-filing/);
    expect(Object.keys(input)).toEqual(Object.keys(classifierSchema.properties as object));
  });

  test("derives dates from the document", () => {
    expect(firstDate(INVOICE_TEXT)).toBe("2024-03-03");
    const input = generateToolInput(classifierSchema, new DocumentReading(INVOICE_TEXT)) as Record<string, unknown>;
    expect(input.filedOn).toBe("2024-03-03");
  });

  test("the validator catches violations", () => {
    expect(validateJsonSchema({ category: "memo", confidence: 2 }, classifierSchema)).toEqual(
      expect.arrayContaining([
        expect.stringContaining("$.category"),
        expect.stringContaining("$.confidence"),
        expect.stringContaining('missing required property "rationale"'),
      ]),
    );
  });
});

describe("respond", () => {
  const documentRequest = (text: string) => ({ messages: [{ role: "user" as const, content: [{ text }] }] });

  test("cuts a summary at maxTokens and says so", () => {
    const answer = respond(documentRequest(LONG_DOCUMENT), 10);
    expect(answer.stopReason).toBe("max_tokens");
    expect(answer.outputTokens).toBeLessThanOrEqual(10);
    const first = answer.content[0];
    expect(first !== undefined && "text" in first ? estimateTokens(first.text) : -1).toBe(answer.outputTokens);
  });

  test("a label asked for as a JSON answer (no tool to call, as in a Converse batch record) comes back as that JSON object", () => {
    const ask = (text: string) =>
      respond(
        documentRequest(
          `Classify the document below as exactly one of: ${TAXONOMY.join(", ")}.\nAnswer with the JSON object only.\n<document>\n${text}\n</document>`,
        ),
        256,
      );
    const first = ask(INVOICE_TEXT).content[0];
    const answer = JSON.parse(first !== undefined && "text" in first ? first.text : "null");
    expect(answer).toEqual({ label: classify(INVOICE_TEXT, TAXONOMY).label, confidence: expect.any(Number) });
    expect(answer.label).toBe("invoice");
    // Without "JSON" in the instruction it is a summary, as before.
    const prose = respond(documentRequest(`Classify as one of: a, b.\n<document>\n${INVOICE_TEXT}\n</document>`), 256)
      .content[0];
    expect(prose !== undefined && "text" in prose && prose.text.startsWith("{")).toBe(false);
  });

  test("reads the document out of tags and the sentence count out of the instruction", () => {
    const reading = readPrompt(documentRequest(`Summarize in two sentences.\n<document>${LONG_DOCUMENT}</document>`));
    expect(reading.documentText).toBe(LONG_DOCUMENT);
    expect(requestedSentenceCount(reading.instructionText)).toBe(2);
  });

  test("truncation never exceeds the budget", () => {
    for (const budget of [1, 2, 7, 33])
      expect(estimateTokens(truncateToTokens(LONG_DOCUMENT, budget))).toBeLessThanOrEqual(budget);
  });
});
