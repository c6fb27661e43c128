export {
  callOutcomeOf,
  createGovernor,
  type AcquireOptions,
  type CallResult,
  type Governor,
  type GovernorOptions,
  type Lane,
  type ModelQuota,
  type ModelStats,
  type Permit,
} from "./governor.ts";
export {
  createQuotaMembership,
  fairShares,
  fixedQuotaShare,
  shareOf,
  type MemberReport,
  type QuotaMember,
  type QuotaMemberStore,
  type QuotaMembership,
  type QuotaMembershipOptions,
  type QuotaShare,
  type QuotaShareView,
} from "./quota-share.ts";
export { eventSourceMaximumConcurrency, feasibleWithin, planThroughput, type ThroughputPlan } from "./plan.ts";
export { QuotaPacer, type PacerContext, type PacerDecision, type QuotaPacerOptions } from "./quota-pacer.ts";
export { TokenBucket } from "./token-bucket.ts";
export {
  CircuitBreaker,
  CircuitOpenError,
  type CallHealth,
  type CircuitBreakerOptions,
  type CircuitState,
} from "./circuit-breaker.ts";
