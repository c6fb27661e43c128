import { documentSubmitted } from "@quire/contracts";
import { createRunDeadline, createStageHandler, failJobOnDeadLetter, type StageDependencies } from "@quire/pipeline";
import { defineConsumer } from "@quire/runtime";

/**
 * The classifier: `document.submitted` in, the classification stage done out. A message it gives up on
 * (permanent failure, or the last delivery the queue allows) fails the job with the reason.
 */
export const createClassifier = (deps: StageDependencies) =>
  defineConsumer({
    name: "classifier",
    schema: documentSubmitted,
    handle: createStageHandler("classification", deps),
    onDeadLetter: failJobOnDeadLetter(deps.lifecycle, "classification"),
    // Transient failures retry until the age budget, or the run's deadline if that comes first.
    retryDeadline: createRunDeadline(deps.jobs),
  });
