import { documentSubmitted } from "@quire/contracts";
import { createStageHandler, type StageDependencies } from "@quire/pipeline";
import { defineConsumer } from "@quire/runtime";

/** The summarizer: `document.submitted` in, the summary stage done (or dead-lettered with a reason) out. */
export const createSummarizer = (deps: StageDependencies) =>
  defineConsumer({ name: "summarizer", schema: documentSubmitted, handle: createStageHandler("summary", deps) });
