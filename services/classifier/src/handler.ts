import { documentSubmitted } from "@quire/contracts";
import { createStageHandler, type StageDependencies } from "@quire/pipeline";
import { defineConsumer } from "@quire/runtime";

/** The classifier: `document.submitted` in, the classification stage done (or dead-lettered with a reason) out. */
export const createClassifier = (deps: StageDependencies) =>
  defineConsumer({ name: "classifier", schema: documentSubmitted, handle: createStageHandler("classification", deps) });
