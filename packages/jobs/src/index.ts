export { createJobStore, DEFAULT_ANNOUNCE_LEASE_MS, type JobStore, type JobStoreOptions } from "./job-store.ts";
export type { CreateJobInput, FailOutcome, StageOutcome } from "./jobs.ts";
export type { CreateRunInput, RunOutcomeRecorded } from "./runs.ts";
export { keptResults, type JobFilter } from "./items.ts";
export {
  jobSchema,
  jobStatus,
  runSchema,
  resultCacheKey,
  stageStatus,
  type Job,
  type JobStatus,
  type ResultCacheKey,
  type Run,
  type RunOutcome,
  type RunUsage,
  type StageResult,
  type StageState,
  type StageStatus,
} from "./schema.ts";
export {
  InvalidCursorError,
  JobNotCompleteError,
  JobNotFoundError,
  RunNotFoundError,
  StageNotRequestedError,
} from "./errors.ts";
export { durationSeconds, runDeadlineAt } from "./deadline.ts";
export { createQuotaMemberStore, type QuotaMemberItem, type QuotaMemberStore } from "./quota-members.ts";
export { createGovernorReportStore, type GovernorReport, type GovernorReportStore } from "./governor-reports.ts";
