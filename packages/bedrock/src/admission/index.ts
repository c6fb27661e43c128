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
  fixedQuotaShare,
  shareOf,
  type QuotaMember,
  type QuotaMemberStore,
  type QuotaMembership,
  type QuotaMembershipOptions,
  type QuotaShare,
} from "./quota-share.ts";
export { eventSourceMaximumConcurrency, feasibleWithin, planThroughput, type ThroughputPlan } from "./plan.ts";
export { TokenBucket } from "./token-bucket.ts";
export {
  CircuitBreaker,
  CircuitOpenError,
  type CallHealth,
  type CircuitBreakerOptions,
  type CircuitState,
} from "./circuit-breaker.ts";
