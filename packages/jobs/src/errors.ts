/** The job does not exist: a message for a job that was never stored, or a typo in an id. */
export class JobNotFoundError extends Error {
  override readonly name = "JobNotFoundError";
  readonly code = "JOB_NOT_FOUND";
  readonly jobId: string;
  constructor(jobId: string) {
    super(`No job ${jobId}.`);
    this.jobId = jobId;
  }
}

export class RunNotFoundError extends Error {
  override readonly name = "RunNotFoundError";
  readonly code = "RUN_NOT_FOUND";
  readonly runId: string;
  constructor(runId: string) {
    super(`No run ${runId}.`);
    this.runId = runId;
  }
}

/** A stage was started or completed for a job that did not ask for it: a wiring bug, not a retryable state. */
export class StageNotRequestedError extends Error {
  override readonly name = "StageNotRequestedError";
  readonly code = "STAGE_NOT_REQUESTED";
  constructor(jobId: string, stage: string) {
    super(`Job ${jobId} did not request the ${stage} stage.`);
  }
}

/** markCompletionPublished on a job that is not complete. */
export class JobNotCompleteError extends Error {
  override readonly name = "JobNotCompleteError";
  readonly code = "JOB_NOT_COMPLETE";
  constructor(jobId: string) {
    super(`Job ${jobId} is not complete.`);
  }
}

export class InvalidCursorError extends Error {
  override readonly name = "InvalidCursorError";
  readonly code = "INVALID_CURSOR";
  constructor(cursor: string) {
    super(`Not a cursor this listing produced: ${cursor.slice(0, 64)}`);
  }
}
