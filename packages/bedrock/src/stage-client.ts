/**
 * The two model stages Quire runs on a document — summary and classification — as Bedrock
 * Converse calls with versioned prompts, validated answers and our retry policy.
 */
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import {
  ConverseCommand,
  type BedrockRuntimeClient,
  type ConverseCommandInput,
  type ConverseCommandOutput,
} from "@aws-sdk/client-bedrock-runtime";
import type { ClassificationResult, SummaryResult } from "@quire/contracts";
import { z } from "zod";
import { leadingExcerpt, splitForContext } from "./chunking.ts";
import { CallNotAdmittedError, ModelOutputError } from "./errors.ts";
import { classificationV1 } from "./prompts/classification-v1.ts";
import { summaryV1 } from "./prompts/summary-v1.ts";
import type { Governor, Lane } from "./admission/index.ts";
import {
  resolveRetryPolicy,
  sleep as defaultSleep,
  withRetries,
  type AttemptEvent,
  type RetryOptions,
} from "./retry.ts";
import type { TokenUsage } from "./usage.ts";

import { DEFAULT_MODEL_ID } from "@quire/contracts";
export { DEFAULT_MODEL_ID };
export const DEFAULT_TAXONOMY = ["contract", "court-filing", "correspondence", "invoice", "policy", "other"] as const;

export interface ModelCallOptions {
  /** Cancels the call and any further retries; the promise then rejects with AbortError. */
  signal?: AbortSignal;
  /** Which governor lane the call waits in: sync-mode requests go before bulk runs. */
  lane?: Lane;
  /**
   * Asked once a call is admitted — the governor's permit held — right before it goes to
   * Bedrock (each retry too): throwing cancels the call with that error, and nothing is sent.
   * A run's budget is checked here, so calls that waited for a permit do not pass it.
   */
  admit?: () => Promise<void>;
}

/** Per-call facts that are not part of the stored result: how long it took and how many calls it needed. */
export interface CallFacts {
  /** Wall-clock time of the whole operation, retries and backoff included. */
  latencyMs: number;
  /** Converse calls made (1 = no retry). */
  attempts: number;
}

export interface BedrockStageClient {
  readonly modelId: string;
  summarize(text: string, options?: ModelCallOptions & { maxTokens?: number }): Promise<SummaryResult & CallFacts>;
  classify(text: string, options?: ModelCallOptions): Promise<ClassificationResult & CallFacts>;
  readonly summaryPromptVersion: string;
  /** "classification-v1" for the default taxonomy; a custom taxonomy adds a fingerprint (see below). */
  readonly classificationPromptVersion: string;
  readonly taxonomy: readonly string[];
}

export type StageAttemptEvent = AttemptEvent & { stage: "summary" | "classification" };

export interface ConverseEvent {
  modelId: string;
  /** Time Bedrock took to answer this one request (or to refuse it). */
  latencyMs: number;
  /** Present when Bedrock answered. */
  usage?: TokenUsage;
  /** The exception's name when it did not ("ThrottlingException", "ValidationException"…). */
  error?: string;
}

export interface BedrockStageClientOptions {
  /**
   * Any BedrockRuntimeClient. Its own retries are switched off for our calls (see
   * `withoutSdkRetries`), so building it with `maxAttempts: 1` is recommended but not required.
   */
  client: BedrockRuntimeClient;
  modelId?: string;
  taxonomy?: readonly string[];
  retry?: RetryOptions;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  /**
   * The most document text one Converse call carries (default 400,000 characters, about 100k
   * tokens: inside the 128k–200k windows of the default models). Longer documents are summarized
   * map-reduce (each part, then the parts' summaries) and classified on their leading excerpt.
   */
  maxInputChars?: number;
  /** Called once per Converse call (after it settles); exceptions thrown here are ignored. */
  onAttempt?: (event: StageAttemptEvent) => void;
  /**
   * Called once per Converse request that reached Bedrock, with its own latency (admission
   * waits excluded), its token usage, or the exception name it failed with: what metrics need.
   */
  onConverse?: (event: ConverseEvent) => void;
  /**
   * Admission control shared by every stage of the process: each Converse call (each retry too)
   * waits for the model's quota and adaptive in-flight limit. Without it calls go straight out.
   */
  governor?: Governor;
  /**
   * Leave retries to the SDK client's own policy (its maxAttempts) and make one attempt of our
   * own: how most samples call Bedrock, kept for the benchmark's baseline.
   */
  sdkRetries?: boolean;
}

/** Tokens a request will be charged before Bedrock says: ~4 characters a token, plus the output it reserves. */
export function estimateRequestTokens(input: ConverseCommandInput): number {
  const chars =
    JSON.stringify(input.messages ?? []).length +
    JSON.stringify(input.system ?? []).length +
    JSON.stringify(input.toolConfig ?? {}).length;
  return Math.ceil(chars / 4) + (input.inferenceConfig?.maxTokens ?? 0);
}

/**
 * The SDK's retry middleware, replaced for one command by a pass-through. A command's middleware
 * is concatenated after the client's, and an entry with the same name and `override: true`
 * replaces the client's entry in that merged stack only — so the shared client is untouched and
 * other callers keep their retries. Name, step and priority must match the SDK's
 * `retryMiddlewareOptions` (@smithy/core retry); if the SDK ever renamed it, this would merely
 * add a no-op and the test counting calls on the emulator would catch the multiplied attempts.
 */
const SDK_RETRY_MIDDLEWARE = {
  name: "retryMiddleware",
  tags: ["RETRY"],
  step: "finalizeRequest" as const,
  priority: "high" as const,
  override: true,
};

export function withoutSdkRetries(command: ConverseCommand): ConverseCommand {
  command.middlewareStack.add((next) => (args) => next(args), SDK_RETRY_MIDDLEWARE);
  return command;
}

/** `label` from the taxonomy and `confidence` in [0, 1]: the tool answer we accept. */
export function classificationInputSchema(taxonomy: readonly string[]) {
  const labels = taxonomy.join(", ");
  return z.object({
    label: z.enum(taxonomy as readonly [string, ...string[]], {
      error: (issue) =>
        issue.input === undefined
          ? "label is missing"
          : typeof issue.input === "string"
            ? `label ${quoteShort(issue.input)} is not in the taxonomy (${labels})`
            : `label must be a string, got ${describeType(issue.input)}`,
    }),
    confidence: z
      .number({
        error: (issue) =>
          issue.input === undefined
            ? "confidence is missing"
            : `confidence must be a number, got ${describeType(issue.input)}`,
      })
      .min(0, { error: (issue) => `confidence ${String(issue.input)} is below 0` })
      .max(1, { error: (issue) => `confidence ${String(issue.input)} is above 1` }),
  });
}

/**
 * Model output, not document text — but a confused model can echo the document, so a quoted
 * value is cut short before it goes into an error message.
 */
function quoteShort(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

function describeType(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
}

function checkTaxonomy(taxonomy: readonly string[]): readonly string[] {
  if (taxonomy.length === 0) throw new TypeError("taxonomy needs at least one label");
  const labels = taxonomy.map((label) => label.trim());
  if (labels.some((label) => label.length === 0)) throw new TypeError("taxonomy labels must be non-empty");
  if (new Set(labels).size !== labels.length) throw new TypeError("taxonomy labels must be unique");
  return Object.freeze(labels);
}

function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((label, index) => label === b[index]);
}

/**
 * The classification prompt's version for a taxonomy. The labels are part of the prompt and the
 * tool schema, so results under different taxonomies must not share a result-cache entry: a
 * custom taxonomy gets "+tx-<8 hex of sha256 of the ordered labels>" appended (to classification-v1,
 * or to `baseVersion`: the batch prompt's).
 */
export function classificationPromptVersionFor(
  taxonomy: readonly string[],
  baseVersion: string = classificationV1.version,
): string {
  if (sameLabels(taxonomy, DEFAULT_TAXONOMY)) return baseVersion;
  const fingerprint = createHash("sha256").update(JSON.stringify(taxonomy)).digest("hex").slice(0, 8);
  return `${baseVersion}+tx-${fingerprint}`;
}

function usageOf(response: ConverseCommandOutput): TokenUsage {
  const inputTokens = response.usage?.inputTokens ?? 0;
  const outputTokens = response.usage?.outputTokens ?? 0;
  return { inputTokens, outputTokens, totalTokens: response.usage?.totalTokens ?? inputTokens + outputTokens };
}

const FILTERED_STOP_REASONS = new Set(["content_filtered", "guardrail_intervened"]);

export function createBedrockStageClient(options: BedrockStageClientOptions): BedrockStageClient {
  const { client } = options;
  const modelId = options.modelId ?? DEFAULT_MODEL_ID;
  if (modelId.trim().length === 0) throw new TypeError("modelId must be non-empty");
  const taxonomy = checkTaxonomy(options.taxonomy ?? DEFAULT_TAXONOMY);
  const policy = resolveRetryPolicy(
    options.sdkRetries
      ? { ...options.retry, maxAttempts: 1, modelErrorRetries: 0, invalidOutputRetries: 0 }
      : options.retry,
  );
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const toolSpec = classificationV1.toolSpec(taxonomy);
  const inputSchema = classificationInputSchema(taxonomy);
  const classificationPromptVersion = classificationPromptVersionFor(taxonomy);
  const summaryPromptVersion = summaryV1.version;
  const maxInputChars = options.maxInputChars ?? DEFAULT_MAX_INPUT_CHARS;

  async function converse(
    input: ConverseCommandInput,
    signal: AbortSignal,
    callOptions: ModelCallOptions | undefined,
  ): Promise<ConverseCommandOutput> {
    const command = new ConverseCommand(input);
    const lane = callOptions?.lane;
    const admit = callOptions?.admit;
    const request = async () => {
      try {
        await admit?.();
      } catch (error) {
        throw new CallNotAdmittedError(error);
      }
      return client.send(options.sdkRetries ? command : withoutSdkRetries(command), { abortSignal: signal });
    };
    const send = options.onConverse ? () => observed(request) : request;
    if (!options.governor) return send();
    return options.governor.run(modelId, { estimatedTokens: estimateRequestTokens(input), lane, signal }, send);
  }

  async function observed(request: () => Promise<ConverseCommandOutput>): Promise<ConverseCommandOutput> {
    const started = performance.now();
    const report = (event: Omit<ConverseEvent, "modelId" | "latencyMs">) => {
      try {
        options.onConverse?.({ modelId, latencyMs: Math.round(performance.now() - started), ...event });
      } catch {
        // A metrics hook must never change the outcome of a model call.
      }
    };
    try {
      const response = await request();
      report({ usage: usageOf(response) });
      return response;
    } catch (error) {
      report({ error: (error as { name?: string } | null)?.name ?? "Error" });
      throw error;
    }
  }

  async function run<T extends { usage: TokenUsage }>(
    stage: StageAttemptEvent["stage"],
    callOptions: ModelCallOptions | undefined,
    attempt: (signal: AbortSignal) => Promise<T>,
  ): Promise<T & CallFacts> {
    const started = performance.now();
    const onAttempt = options.onAttempt;
    const { value, attempts } = await withRetries(attempt, {
      policy,
      sleep,
      random,
      signal: callOptions?.signal,
      throttlesPacedByGovernor: options.governor !== undefined,
      onAttempt: onAttempt === undefined ? undefined : (event) => onAttempt({ ...event, stage }),
    });
    return { ...value, latencyMs: Math.round(performance.now() - started), attempts };
  }

  return {
    modelId,
    taxonomy,
    summaryPromptVersion,
    classificationPromptVersion,

    // async, so that even argument errors arrive as rejections rather than synchronous throws.
    async summarize(text, callOptions) {
      if (text.length <= maxInputChars) return summarizeOnce(text, callOptions);
      // Map-reduce: summarize each part, then summarize the parts' summaries (again, if needed).
      const started = performance.now();
      let attempts = 0;
      const usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
      let current = text;
      while (current.length > maxInputChars) {
        const parts: string[] = [];
        for (const chunk of splitForContext(current, maxInputChars)) {
          const part = await summarizeOnce(chunk, callOptions);
          attempts += part.attempts;
          for (const k of ["inputTokens", "outputTokens", "totalTokens"] as const) usage[k] += part.usage[k];
          parts.push(part.text);
        }
        const combined = parts.join("\n\n");
        // Summaries that do not shrink would never converge: keep what fits.
        current = combined.length < current.length ? combined : leadingExcerpt(combined, maxInputChars);
      }
      const result = await summarizeOnce(current, callOptions);
      attempts += result.attempts;
      for (const k of ["inputTokens", "outputTokens", "totalTokens"] as const) usage[k] += result.usage[k];
      return { ...result, usage, attempts, latencyMs: Math.round(performance.now() - started) };
    },

    async classify(text, callOptions) {
      // The opening of a document (title, parties, headings) is what decides its kind.
      return classifyOnce(leadingExcerpt(text, maxInputChars), callOptions);
    },
  };

  async function summarizeOnce(text: string, callOptions: (ModelCallOptions & { maxTokens?: number }) | undefined) {
    const maxTokens = callOptions?.maxTokens ?? summaryV1.inferenceConfig.maxTokens;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RangeError("maxTokens must be a positive integer");
    const request: ConverseCommandInput = {
      modelId,
      system: [{ text: summaryV1.system }],
      messages: [{ role: "user", content: [{ text: summaryV1.renderUserMessage(text) }] }],
      inferenceConfig: { ...summaryV1.inferenceConfig, maxTokens },
    };
    return run("summary", callOptions, async (signal) => {
      const response = await converse(request, signal, callOptions);
      const usage = usageOf(response);
      if (response.stopReason !== undefined && FILTERED_STOP_REASONS.has(response.stopReason)) {
        throw new ModelOutputError(
          "content-filtered",
          `The summary was withheld by Bedrock (stopReason ${response.stopReason}).`,
          { usage },
        );
      }
      const summary = (response.output?.message?.content ?? [])
        .flatMap((block) => (block.text === undefined ? [] : [block.text]))
        .join("")
        .trim();
      if (summary.length === 0) {
        throw new ModelOutputError(
          "empty-answer",
          `The model returned an empty summary (stopReason ${response.stopReason ?? "none"}).`,
          { usage },
        );
      }
      // A max_tokens stop is accepted: the caller asked for at most maxTokens, and a cut-off summary is still a
      // summary.
      const result: SummaryResult = { text: summary, modelId, promptVersion: summaryPromptVersion, usage };
      return result;
    });
  }

  async function classifyOnce(text: string, callOptions: ModelCallOptions | undefined) {
    const request: ConverseCommandInput = {
      modelId,
      system: [{ text: classificationV1.system }],
      messages: [{ role: "user", content: [{ text: classificationV1.renderUserMessage(text, taxonomy) }] }],
      inferenceConfig: { ...classificationV1.inferenceConfig },
      toolConfig: {
        tools: [{ toolSpec }],
        // Forced: the model must answer through the tool, never in prose.
        toolChoice: { tool: { name: toolSpec.name } },
      },
    };
    return run("classification", callOptions, async (signal) => {
      const response = await converse(request, signal, callOptions);
      const usage = usageOf(response);
      const stopReason = response.stopReason ?? "none";
      if (FILTERED_STOP_REASONS.has(stopReason)) {
        throw new ModelOutputError(
          "content-filtered",
          `The classification was withheld by Bedrock (stopReason ${stopReason}).`,
          { usage },
        );
      }
      const toolUse = (response.output?.message?.content ?? []).find(
        (block) => block.toolUse?.name === toolSpec.name,
      )?.toolUse;
      if (toolUse === undefined) {
        throw new ModelOutputError(
          "missing-tool-use",
          `The model did not call ${toolSpec.name} (stopReason ${stopReason}).`,
          { usage },
        );
      }
      const parsed = inputSchema.safeParse(canonicalLabel(toolUse.input, taxonomy));
      if (!parsed.success) {
        const problems = parsed.error.issues.map((issue) => issue.message).join("; ");
        // Cut off mid-call, Bedrock hands back an empty or partial input: say so rather than blame the schema.
        const problem = stopReason === "max_tokens" ? "truncated" : "schema-violation";
        const why = problem === "truncated" ? " — the answer hit maxTokens" : "";
        throw new ModelOutputError(problem, `${toolSpec.name} input is invalid: ${problems}${why}.`, { usage });
      }
      const result: ClassificationResult = {
        label: parsed.data.label,
        confidence: parsed.data.confidence,
        modelId,
        promptVersion: classificationPromptVersion,
        usage,
      };
      return result;
    });
  }
}

const DEFAULT_MAX_INPUT_CHARS = 400_000;

/**
 * Accepts "Invoice" or " invoice " for "invoice": a casing slip is not worth a retry. Anything
 * that is not the same label is left for the schema to reject.
 */
export function canonicalLabel(input: unknown, taxonomy: readonly string[]): unknown {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return input;
  const record = input as Record<string, unknown>;
  const label = record.label;
  if (typeof label !== "string" || taxonomy.includes(label)) return input;
  const wanted = label.trim().toLowerCase();
  const match = taxonomy.find((candidate) => candidate.toLowerCase() === wanted);
  return match === undefined ? input : { ...record, label: match };
}
