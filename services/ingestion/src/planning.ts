import { feasibleWithin, planThroughput } from "@quire/bedrock";
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

/**
 * Whether a run can finish by its deadline at the configured quota and latency (Little's law):
 * the rate the quota allows, the concurrency that rate needs, the expected finish.
 */
export function planRun(
  documents: readonly { text: string }[],
  deadline: string,
  settings: PlanningSettings,
  now = new Date(),
) {
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
  const meanChars = documents.reduce((sum, d) => sum + d.text.length, 0) / Math.max(1, documents.length);
  const plan = planThroughput({
    documents: documents.length,
    callsPerDocument: CALLS_PER_DOCUMENT,
    meanLatencySeconds: settings.meanLatencyMs / 1000,
    meanTokensPerCall: Math.ceil(meanChars / 4) + OUTPUT_TOKENS_PER_CALL,
    quota: { requestsPerMinute: settings.requestsPerMinute, tokensPerMinute: settings.tokensPerMinute },
  });
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
