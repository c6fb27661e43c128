import { documentSubmitted } from "@quire/contracts";
import { createRunDeadline, createStageHandler, failJobOnDeadLetter, type StageDependencies } from "@quire/pipeline";
import { defineConsumer } from "@quire/runtime";

/**
 * The summarizer: `document.submitted` in, the summary stage done out. A message it gives up on
 * (permanent failure, or the last delivery the queue allows) fails the job with the reason.
 */
export const createSummarizer = (deps: StageDependencies) =>
  defineConsumer({
    name: "summarizer",
    schema: documentSubmitted,
    handle: createStageHandler("summary", deps),
    onDeadLetter: failJobOnDeadLetter(deps.lifecycle, "summary"),
    // Transient failures retry until the age budget, or the run's deadline if that comes first.
    retryDeadline: createRunDeadline(deps.jobs),
  });
