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
  if (input.quota.tokensPerMinute)
    limits.push(["tpm", input.quota.tokensPerMinute / Math.max(1, input.meanTokensPerCall)]);
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

export const feasibleWithin = (plan: ThroughputPlan, deadlineSeconds: number) =>
  plan.expectedSeconds <= deadlineSeconds;

/**
 * The maximum concurrency of one stage's SQS event source in Lambda, where no long-lived process
 * holds a governor: with one message per invocation, each invocation holds one Converse call, so
 * Little's law gives the calls in flight the quota sustains — RPM / 60 × mean latency — plus 20%
 * headroom for latency jitter, split evenly across the stages that share the model. AWS accepts 2
 * at least. (400 RPM, 8 s, two stages: ceil(400 / 60 × 8 × 1.2) = 64 → 32 each.)
 */
export function eventSourceMaximumConcurrency(input: {
  requestsPerMinute: number;
  meanLatencyMs: number;
  stagesSharingModel: number;
  headroomPercent?: number;
}): number {
  const headroomPercent = input.headroomPercent ?? 20;
  // Integer arithmetic: 400 × 8 s × 1.2 / 60 must be 64, not 64.00000000000001 rounded up to 65.
  const inFlight = Math.ceil(
    (input.requestsPerMinute * input.meanLatencyMs * (100 + headroomPercent)) / (60 * 1000 * 100),
  );
  return Math.max(2, Math.ceil(inFlight / Math.max(1, input.stagesSharingModel)));
}
