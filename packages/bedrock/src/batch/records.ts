/**
 * The stages' work as Bedrock batch inference records (Converse format), and their answers read
 * back into the same results the on-demand stages produce.
 *
 * - A summary record is the on-demand summary prompt, as is: only for a document that fits one
 *   call (a longer one is summarised in parts on demand, which one record cannot do).
 * - A classification record uses classification-json-v1: Converse batch jobs do not support tool
 *   use, so the label comes back as a JSON object in the text, checked against the same schema as
 *   the tool's answer (the taxonomy, confidence in [0, 1]). An answer that is not one is refused.
 * - A refused answer (an `error` line, a filtered or empty answer, invalid JSON) says why: the
 *   caller leaves that stage to on-demand.
 * Results carry `inference: "batch"`, which prices their usage at the batch rate.
 */
import type { ClassificationResult, SummaryResult } from "@quire/contracts";
import { z } from "zod";
import { leadingExcerpt } from "../chunking.ts";
import { classificationJsonV1 } from "../prompts/classification-json-v1.ts";
import { summaryV1 } from "../prompts/summary-v1.ts";
import { canonicalLabel, classificationInputSchema, classificationPromptVersionFor } from "../stage-client.ts";

/** One input line of a batch job: `recordId` comes back with its answer. */
export interface BatchRecord {
  recordId: string;
  modelInput: {
    system: { text: string }[];
    messages: { role: "user"; content: { text: string }[] }[];
    inferenceConfig: { maxTokens: number; temperature: number };
  };
}

/** The longest text one call takes (the stage client's default). */
export const DEFAULT_BATCH_MAX_INPUT_CHARS = 400_000;

/** The summary stage's record for `text`, or undefined when the text needs more than one call. */
export function summaryRecord(
  recordId: string,
  text: string,
  options: { maxInputChars?: number } = {},
): BatchRecord | undefined {
  if (text.length > (options.maxInputChars ?? DEFAULT_BATCH_MAX_INPUT_CHARS)) return undefined;
  return {
    recordId,
    modelInput: {
      system: [{ text: summaryV1.system }],
      messages: [{ role: "user", content: [{ text: summaryV1.renderUserMessage(text) }] }],
      inferenceConfig: { ...summaryV1.inferenceConfig },
    },
  };
}

/** The classification stage's record for `text` (its leading part, as on demand). */
export function classificationRecord(
  recordId: string,
  text: string,
  taxonomy: readonly string[],
  options: { maxInputChars?: number } = {},
): BatchRecord {
  const excerpt = leadingExcerpt(text, options.maxInputChars ?? DEFAULT_BATCH_MAX_INPUT_CHARS);
  return {
    recordId,
    modelInput: {
      system: [{ text: classificationJsonV1.system }],
      messages: [{ role: "user", content: [{ text: classificationJsonV1.renderUserMessage(excerpt, taxonomy) }] }],
      inferenceConfig: { ...classificationJsonV1.inferenceConfig },
    },
  };
}

/** One line of a batch job's output file, as Bedrock writes it (a `modelOutput`, or an `error`). */
export const batchOutputLine = z.object({
  recordId: z.string().min(1),
  modelOutput: z
    .object({
      output: z
        .object({
          message: z
            .object({ content: z.array(z.looseObject({ text: z.string().optional() })).default([]) })
            .optional(),
        })
        .optional(),
      stopReason: z.string().optional(),
      usage: z
        .object({
          inputTokens: z.number().int().nonnegative(),
          outputTokens: z.number().int().nonnegative(),
          totalTokens: z.number().int().nonnegative().optional(),
        })
        .optional(),
    })
    .optional(),
  error: z.object({ errorCode: z.union([z.number(), z.string()]), errorMessage: z.string() }).optional(),
});
export type BatchOutputLine = z.infer<typeof batchOutputLine>;

/** A result, or why this record's answer is not one (the stage then runs on demand). */
export type BatchAnswer<T> = { ok: true; result: T } | { ok: false; reason: string };

/** Parses one line of an output file; undefined when it is not an output line at all. */
export function parseOutputLine(line: string): BatchOutputLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const parsed = batchOutputLine.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

const FILTERED_STOP_REASONS = new Set(["content_filtered", "guardrail_intervened"]);

/** The answer's text and usage, or why there is none. */
function answerText(line: BatchOutputLine): { text: string; usage: SummaryResult["usage"] } | { reason: string } {
  if (line.error)
    return { reason: `the record failed in the batch (${line.error.errorCode}: ${line.error.errorMessage})` };
  const output = line.modelOutput;
  if (!output) return { reason: "the record has neither an answer nor an error" };
  const stopReason = output.stopReason ?? "none";
  if (FILTERED_STOP_REASONS.has(stopReason)) return { reason: `the answer was withheld (stopReason ${stopReason})` };
  const text = (output.output?.message?.content ?? [])
    .map((block) => block.text ?? "")
    .join("")
    .trim();
  if (text.length === 0) return { reason: `the answer is empty (stopReason ${stopReason})` };
  const inputTokens = output.usage?.inputTokens ?? 0;
  const outputTokens = output.usage?.outputTokens ?? 0;
  return {
    text,
    usage: { inputTokens, outputTokens, totalTokens: output.usage?.totalTokens ?? inputTokens + outputTokens },
  };
}

/** A summary record's answer as the summary stage's result. */
export function readSummaryAnswer(line: BatchOutputLine, modelId: string): BatchAnswer<SummaryResult> {
  const answer = answerText(line);
  if ("reason" in answer) return { ok: false, reason: answer.reason };
  if (line.modelOutput?.stopReason === "max_tokens") return { ok: false, reason: "the summary hit maxTokens" };
  return {
    ok: true,
    result: { text: answer.text, modelId, promptVersion: summaryV1.version, usage: answer.usage, inference: "batch" },
  };
}

/** A classification record's answer as the classification stage's result: a JSON object whose label is in `taxonomy`. */
export function readClassificationAnswer(
  line: BatchOutputLine,
  modelId: string,
  taxonomy: readonly string[],
): BatchAnswer<ClassificationResult> {
  const answer = answerText(line);
  if ("reason" in answer) return { ok: false, reason: answer.reason };
  // The object, even if the model wrapped it in a sentence or a code fence.
  const start = answer.text.indexOf("{");
  const end = answer.text.lastIndexOf("}");
  let value: unknown;
  try {
    value = start >= 0 && end > start ? JSON.parse(answer.text.slice(start, end + 1)) : undefined;
  } catch {
    value = undefined;
  }
  if (value === undefined) return { ok: false, reason: "the answer is not a JSON object" };
  const parsed = classificationInputSchema(taxonomy).safeParse(canonicalLabel(value, taxonomy));
  if (!parsed.success) {
    return {
      ok: false,
      reason: `the answer is invalid: ${parsed.error.issues.map((issue) => issue.message).join("; ")}`,
    };
  }
  return {
    ok: true,
    result: {
      label: parsed.data.label,
      confidence: parsed.data.confidence,
      modelId,
      promptVersion: classificationPromptVersionFor(taxonomy, classificationJsonV1.version),
      usage: answer.usage,
      inference: "batch",
    },
  };
}
