import type { StoreTable } from "@quire/dynamo";

export {
  conditionally,
  conditionFailureItem,
  documentClient,
  epochSeconds,
  getItem,
  isConditionFailure,
  queryPartition,
  transactConditionally,
} from "@quire/dynamo";

/** What every part of the job store shares: the table (client, name, clock), the lease, the TTLs. */
export interface StoreContext extends StoreTable {
  /** How long a completion's winner has to publish before a redelivery may announce it again. */
  readonly announceLeaseMs: number;
  readonly idempotencyTtlSeconds: number;
  readonly resultCacheTtlSeconds: number;
}
