import { z } from "zod";
import { isoTimestamp, runId, schemaVersion, stageName } from "./common.ts";

/**
 * `run.batch`: a run to compute through Bedrock batch inference. Ingestion publishes it (on the
 * documents topic, instead of the run's `document.submitted`); the batcher consumes it. Without
 * `submission` it asks for the batch jobs to be started; with it, for them to be checked: the
 * batcher sends itself the next check, delayed, until they have all ended.
 */
export const RUN_BATCH = "run.batch" as const;

export const runBatch = z.object({
  schemaVersion,
  type: z.literal(RUN_BATCH),
  runId,
  /** The batch jobs started for the run; absent until they are. */
  submission: z
    .object({
      jobs: z.array(z.object({ stage: stageName, jobArn: z.string().min(1) })),
    })
    .optional(),
  /**
   * When the run stops waiting for the batch: its jobs are stopped and what they have not answered
   * runs on demand, in time for the run's deadline. Absent: the batch jobs' own timeout.
   */
  fallbackAt: isoTimestamp.optional(),
  /** Whether the batch jobs were asked to stop (the fallback). */
  stopRequested: z.boolean().optional(),
});
export type RunBatch = z.infer<typeof runBatch>;
