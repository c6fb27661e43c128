/**
 * The deterministic local model: given a validated Converse request, produce the assistant
 * message. Text turns are extractive summaries; tool turns fill the chosen tool's schema.
 * Pure: same request and limit → same answer, which is what makes the emulator testable.
 */
import { createHash } from "node:crypto";
import { estimateTokens, truncateToTokens } from "../tokens.ts";
import type { ConverseRequest, OutputContentBlock, StopReason, ToolSpec } from "../wire.ts";
import { validateJsonSchema } from "./json-schema.ts";
import { lastUserMessage, readPrompt, requestedSentenceCount } from "./prompt.ts";
import { classify } from "./classify.ts";
import { summarize } from "./summarize.ts";
import { contentTerms } from "./text.ts";
import { DocumentReading, generateToolInput } from "./tool-use.ts";

export interface ModelAnswer {
  readonly content: readonly OutputContentBlock[];
  readonly stopReason: StopReason;
  readonly outputTokens: number;
}

const EMPTY_DOCUMENT_ANSWER = "There is no document text to summarize.";

export function respond(request: ConverseRequest, maxTokens: number): ModelAnswer {
  const prompt = readPrompt(request);
  const lastUser = lastUserMessage(request);
  const toolResults = (lastUser?.content ?? []).flatMap((block) =>
    block.toolResult === undefined ? [] : [block.toolResult],
  );
  // After a tool round trip the model reports back in prose rather than calling tools again.
  if (toolResults.length > 0) {
    const resultText = toolResults
      .flatMap((result) =>
        result.content.map((part) => part.text ?? (part.json === undefined ? "" : JSON.stringify(part.json))),
      )
      .join("\n\n");
    const answer = summarize(resultText).text || "The tool call completed.";
    return textAnswer(answer, maxTokens, request.inferenceConfig?.stopSequences);
  }
  const tool = chooseTool(request, prompt.instructionText);
  if (tool !== undefined) {
    const reading = new DocumentReading(prompt.documentText);
    const input = generateToolInput(tool.spec.inputSchema.json, reading);
    const valid = validateJsonSchema(input, tool.spec.inputSchema.json).length === 0;
    // Under "auto" a model only calls a tool it can call properly; when forced it must try anyway.
    if (valid || tool.forced) return toolAnswer(request, tool.spec, input, maxTokens);
  }
  const asked = jsonClassificationAsked(prompt.instructionText);
  if (asked !== undefined) {
    // No tool to call (a Converse batch record has none): the label as the JSON object asked for.
    const { label, confidence } = classify(prompt.documentText, asked);
    return textAnswer(JSON.stringify({ label, confidence }), maxTokens, request.inferenceConfig?.stopSequences);
  }
  const summary = summarize(prompt.documentText, { sentenceCount: requestedSentenceCount(prompt.instructionText) });
  return textAnswer(summary.text || EMPTY_DOCUMENT_ANSWER, maxTokens, request.inferenceConfig?.stopSequences);
}

/**
 * The labels of a classification asked for as a JSON answer ("… exactly one of: a, b, c." and a
 * JSON object to answer with), or undefined: the way a prompt without tools asks for a label.
 */
function jsonClassificationAsked(instructionText: string): string[] | undefined {
  if (!/\bJSON\b/.test(instructionText)) return undefined;
  const match = /\bone of:\s*([^\n]+?)\.\s*(?:\n|$)/i.exec(instructionText);
  const labels = match?.[1]
    ?.split(",")
    .map((label) => label.trim())
    .filter((label) => label.length > 0);
  return labels && labels.length > 0 ? labels : undefined;
}

export function textAnswer(text: string, maxTokens: number, stopSequences: readonly string[] = []): ModelAnswer {
  let output = text;
  let stopReason: StopReason = "end_turn";
  for (const sequence of stopSequences) {
    const at = sequence.length > 0 ? output.indexOf(sequence) : -1;
    if (at !== -1) {
      output = output.slice(0, at);
      stopReason = "stop_sequence";
    }
  }
  if (estimateTokens(output) > maxTokens) {
    output = truncateToTokens(output, maxTokens);
    stopReason = "max_tokens";
  }
  return { content: [{ text: output }], stopReason, outputTokens: estimateTokens(output) };
}

function toolAnswer(request: ConverseRequest, spec: ToolSpec, input: unknown, maxTokens: number): ModelAnswer {
  const toolUseId = `tooluse_${createHash("sha256")
    .update(JSON.stringify(request.messages ?? []))
    .update(spec.name)
    .digest("base64url")
    .slice(0, 22)}`;
  const outputTokens = estimateTokens(JSON.stringify({ name: spec.name, input }));
  if (outputTokens > maxTokens) {
    // A real model cut off mid-call leaves an unparseable argument string, which Bedrock returns
    // as an empty input object; callers must check stopReason before trusting the input.
    return {
      content: [{ toolUse: { toolUseId, name: spec.name, input: {} } }],
      stopReason: "max_tokens",
      outputTokens: maxTokens,
    };
  }
  return { content: [{ toolUse: { toolUseId, name: spec.name, input } }], stopReason: "tool_use", outputTokens };
}

interface ChosenTool {
  readonly spec: ToolSpec;
  /** toolChoice any/tool: the model must call a tool. */
  readonly forced: boolean;
}

function chooseTool(request: ConverseRequest, instructionText: string): ChosenTool | undefined {
  const specs = (request.toolConfig?.tools ?? []).flatMap((tool) =>
    tool.toolSpec === undefined ? [] : [tool.toolSpec],
  );
  if (specs.length === 0) return undefined;
  const choice = request.toolConfig?.toolChoice;
  if (choice?.tool !== undefined) {
    const named = specs.find((spec) => spec.name === choice.tool?.name);
    return named === undefined ? undefined : { spec: named, forced: true };
  }
  const instructionTerms = [...new Set(contentTerms(instructionText))];
  const ranked = specs
    .map((spec, order) => ({
      spec,
      order,
      overlap: toolTerms(spec).filter((term) => instructionTerms.some((other) => related(term, other))).length,
    }))
    .sort((a, b) => b.overlap - a.overlap || a.order - b.order);
  const best = ranked[0];
  if (best === undefined) return undefined;
  if (choice?.any !== undefined) return { spec: best.spec, forced: true };
  // auto: call the tool the instructions point at (shared words with its name or description).
  return best.overlap > 0 ? { spec: best.spec, forced: false } : undefined;
}

/** Words every tool description and every prompt share; matching on them says nothing. */
const GENERIC_TOOL_TERMS = new Set([
  "document",
  "text",
  "input",
  "output",
  "tool",
  "use",
  "given",
  "provided",
  "following",
  "content",
  "return",
  "record",
  "result",
  "call",
  "function",
  "data",
  "field",
  "value",
  "please",
]);

function toolTerms(spec: ToolSpec): string[] {
  // "classifyDocument" / "classify_document" → "classify document".
  const name = spec.name.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/[_-]+/g, " ");
  return [...new Set(contentTerms(`${name} ${spec.description ?? ""}`))].filter(
    (term) => !GENERIC_TOOL_TERMS.has(term),
  );
}

/** Same word or same 6-letter root: "classify"/"classification", "summarize"/"summary". */
function related(a: string, b: string): boolean {
  return a === b || (a.length >= 6 && b.length >= 6 && a.slice(0, 6) === b.slice(0, 6));
}
