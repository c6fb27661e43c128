import { costOf, feasibleWithin, planThroughput, type PriceTable } from "@quire/bedrock";
import { durationSeconds } from "@quire/jobs";

export interface PlanningSettings {
  requestsPerMinute?: number | undefined;
  tokensPerMinute?: number | undefined;
  meanLatencyMs: number;
}

// One parser for run deadlines: the job store reads the same durations when a run's retries run out.
export { durationSeconds } from "@quire/jobs";

/** Summary and classification: two Converse calls per document. */
const CALLS_PER_DOCUMENT = 2;
/** Output a call reserves on top of its input (the prompts' maxTokens, roughly averaged over both stages). */
const OUTPUT_TOKENS_PER_CALL = 400;

/** What planning reads of a run's documents: how many, and their characters in all (a manifest's, counted as it streams by). */
export interface DocumentStats {
  count: number;
  characters: number;
}
type Documents = readonly { text: string }[] | DocumentStats;
const statsOf = (documents: Documents): DocumentStats =>
  "count" in documents
    ? documents
    : { count: documents.length, characters: documents.reduce((sum, d) => sum + d.text.length, 0) };

/** The run on demand at the configured quota and latency (Little's law): rate, concurrency, expected time. */
export function onDemandThroughput(documents: Documents, settings: PlanningSettings) {
  const { count, characters } = statsOf(documents);
  const meanChars = characters / Math.max(1, count);
  return planThroughput({
    documents: count,
    callsPerDocument: CALLS_PER_DOCUMENT,
    meanLatencySeconds: settings.meanLatencyMs / 1000,
    meanTokensPerCall: Math.ceil(meanChars / 4) + OUTPUT_TOKENS_PER_CALL,
    quota: { requestsPerMinute: settings.requestsPerMinute, tokensPerMinute: settings.tokensPerMinute },
  });
}

/**
 * Whether a run can finish by its deadline at the configured quota and latency (Little's law):
 * the rate the quota allows, the concurrency that rate needs, the expected finish.
 */
export function planRun(documents: Documents, deadline: string, settings: PlanningSettings, now = new Date()) {
  const deadlineSeconds = durationSeconds(deadline);
  const deadlineAt = new Date(now.getTime() + deadlineSeconds * 1000).toISOString();
  if (!settings.requestsPerMinute && !settings.tokensPerMinute) {
    return {
      deadline,
      deadlineAt,
      feasible: null,
      reason:
        "No Bedrock quota is configured (QUIRE_BEDROCK_RPM / QUIRE_BEDROCK_TPM), so feasibility cannot be judged.",
    };
  }
  const plan = onDemandThroughput(documents, settings);
  return {
    deadline,
    deadlineAt,
    feasible: feasibleWithin(plan, deadlineSeconds),
    expectedFinish: new Date(now.getTime() + plan.expectedSeconds * 1000).toISOString(),
    expectedSeconds: Math.ceil(plan.expectedSeconds),
    requiredConcurrency: plan.concurrency,
    callsPerMinute: Math.floor(plan.callsPerMinute),
    bindingConstraint: plan.bindingConstraint,
    assumptions: {
      requestsPerMinute: settings.requestsPerMinute ?? null,
      tokensPerMinute: settings.tokensPerMinute ?? null,
      meanLatencyMs: settings.meanLatencyMs,
      callsPerDocument: CALLS_PER_DOCUMENT,
    },
  };
}

/** How a run's model calls are made: Converse one by one, or Bedrock batch inference. */
export type InferenceMode = "onDemand" | "batch";

export interface InferenceSettings {
  /** Whether batch inference is set up (a service role for Bedrock: QUIRE_BATCH_ROLE_ARN). */
  batchAvailable: boolean;
  /** How long a batch job is expected to take (QUIRE_BATCH_TURNAROUND_SECONDS). */
  batchTurnaroundSeconds: number;
  /** A batch job's fewest records (AWS's quota): a smaller run cannot go batch. */
  batchMinRecords: number;
  modelId: string;
  prices: PriceTable;
  /**
   * The run has a budget: it runs on demand, where the spend is checked before each model call.
   * A batch job is bought whole once submitted, and nothing stops it at the budget.
   */
  budgeted?: boolean;
}

/** Input tokens a call adds to the document's own (system prompt, instructions, taxonomy): a rough mean of both stages. */
const PROMPT_TOKENS_PER_CALL = 250;
/** Output tokens a call is expected to produce (a summary, a label): a rough mean of both stages. */
const EXPECTED_OUTPUT_TOKENS_PER_CALL = 150;
/** On-demand time kept in reserve before a deadline when a batch is given up: 25 % over the estimate, and a minute. */
const fallbackReserveSeconds = (onDemandSeconds: number) => Math.ceil(onDemandSeconds * 1.25) + 60;

/**
 * The choice between on-demand and batch inference for a run, with why, and what each option is
 * expected to take and cost. `auto` (the default) goes batch only when that is safe: batch is set
 * up, the run has enough documents for a batch job, and its deadline leaves room for the batch's
 * turnaround and, should the batch be late, for the whole run on demand after it (the fallback).
 */
export function chooseInference(
  documents: Documents,
  requested: InferenceMode | "auto",
  deadline: { seconds: number; at: Date } | undefined,
  onDemandSeconds: number | undefined,
  settings: InferenceSettings,
  now = new Date(),
) {
  const { count, characters } = statsOf(documents);
  const calls = count * CALLS_PER_DOCUMENT;
  const tokens = {
    inputTokens: Math.ceil(characters / 4) * CALLS_PER_DOCUMENT + calls * PROMPT_TOKENS_PER_CALL,
    outputTokens: calls * EXPECTED_OUTPUT_TOKENS_PER_CALL,
  };
  const finish = (seconds: number | undefined) =>
    seconds === undefined ? undefined : new Date(now.getTime() + seconds * 1000).toISOString();
  const options = {
    onDemand: {
      ...(onDemandSeconds !== undefined
        ? { expectedSeconds: Math.ceil(onDemandSeconds), expectedFinish: finish(onDemandSeconds)! }
        : {}),
      ...optionalCost(costOf(tokens, settings.modelId, settings.prices, "onDemand")),
    },
    batch: {
      available: settings.batchAvailable,
      expectedSeconds: settings.batchTurnaroundSeconds,
      expectedFinish: finish(settings.batchTurnaroundSeconds)!,
      ...optionalCost(costOf(tokens, settings.modelId, settings.prices, "batch")),
    },
  };
  const estimate = { expectedTokens: tokens, options };
  const onDemand = (why: string) => ({ mode: "onDemand" as const, why, ...estimate });

  if (requested === "onDemand") return onDemand("Asked for (mode onDemand).");
  if (settings.budgeted) {
    return onDemand(
      "The run has a budget: on demand its spend is checked before each model call, and a batch job, once submitted, is spent whole.",
    );
  }
  if (!settings.batchAvailable) {
    return onDemand("Batch inference is not set up here (QUIRE_BATCH_ROLE_ARN names no service role for Bedrock).");
  }
  if (count < settings.batchMinRecords) {
    return onDemand(`A batch job takes at least ${settings.batchMinRecords} records; this run has ${count} documents.`);
  }
  // The run on demand after a batch that was late: what the fallback keeps before the deadline.
  const reserve =
    onDemandSeconds !== undefined
      ? fallbackReserveSeconds(onDemandSeconds)
      : deadline
        ? Math.floor(deadline.seconds / 2)
        : undefined;
  const fallbackAt =
    deadline && reserve !== undefined ? new Date(deadline.at.getTime() - reserve * 1000).toISOString() : undefined;
  const batch = (why: string) => ({
    mode: "batch" as const,
    why,
    ...(fallbackAt ? { fallbackAt } : {}),
    ...estimate,
  });
  if (requested === "batch") {
    return batch(
      fallbackAt
        ? `Asked for (mode batch); if the batch has not finished by ${fallbackAt}, what it has not answered runs on demand, in time for the deadline.`
        : "Asked for (mode batch), at the batch price.",
    );
  }
  if (!deadline) return onDemand("No deadline: the run goes as fast as the quota allows.");
  if (reserve === undefined || deadline.seconds < settings.batchTurnaroundSeconds + reserve) {
    return onDemand(
      `The deadline (${deadline.seconds} s) leaves no room for a batch (expected ${settings.batchTurnaroundSeconds} s) and the run on demand after it, should the batch be late (${reserve ?? "?"} s).`,
    );
  }
  return batch(
    `The deadline leaves room for a batch (expected ${settings.batchTurnaroundSeconds} s) at about half the price, and for the run on demand after it should the batch be late: a fallback at ${fallbackAt}.`,
  );
}
export type InferencePlan = ReturnType<typeof chooseInference>;

const optionalCost = (costUsd: number | undefined) => (costUsd === undefined ? {} : { costUsd });
