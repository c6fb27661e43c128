import { documentSubmitted } from "@quire/contracts";
import { createStageHandler, failJobOnDeadLetter, type StageDependencies } from "@quire/pipeline";
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
  });
