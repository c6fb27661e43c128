import type { ModelQuota } from "./governor.ts";

export interface ThroughputPlan {
  /** Sustainable Converse calls per minute. */
  callsPerMinute: number;
  /** In-flight calls needed for that rate (Little's law: rate × latency), rounded up. */
  concurrency: number;
  /** Time for every call at that rate, plus one latency for the last ones to finish. */
  expectedSeconds: number;
  bindingConstraint: "rpm" | "tpm" | "concurrency";
}

/**
 * Little's law planning for a batch of documents against a model quota: what rate the quota
 * allows, how many calls must be in flight to reach it, and how long the batch takes. Used for
 * deadline feasibility, for a Lambda event source's maximum concurrency, and as the bench's
 * ideal time.
 */
export function planThroughput(input: {
  documents: number;
  callsPerDocument: number;
  meanLatencySeconds: number;
  meanTokensPerCall: number;
  quota: ModelQuota;
  maxConcurrency?: number;
}): ThroughputPlan {
  const limits: [ThroughputPlan["bindingConstraint"], number][] = [];
  if (input.quota.requestsPerMinute) limits.push(["rpm", input.quota.requestsPerMinute]);
  if (input.quota.tokensPerMinute) limits.push(["tpm", input.quota.tokensPerMinute / Math.max(1, input.meanTokensPerCall)]);
  if (input.maxConcurrency) limits.push(["concurrency", (input.maxConcurrency * 60) / input.meanLatencySeconds]);
  if (limits.length === 0) throw new Error("planThroughput needs a quota or a concurrency limit");
  const [bindingConstraint, callsPerMinute] = limits.reduce((a, b) => (b[1] < a[1] ? b : a));
  const calls = input.documents * input.callsPerDocument;
  return {
    callsPerMinute,
    concurrency: Math.ceil((callsPerMinute / 60) * input.meanLatencySeconds),
    expectedSeconds: (calls / callsPerMinute) * 60 + input.meanLatencySeconds,
    bindingConstraint,
  };
}

export const feasibleWithin = (plan: ThroughputPlan, deadlineSeconds: number) => plan.expectedSeconds <= deadlineSeconds;
