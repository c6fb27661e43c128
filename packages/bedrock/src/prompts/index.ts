/** Every prompt version, by stage. The stage client uses `current`; older ones stay for reference and replay. */
import { classificationV1 } from "./classification-v1.ts";
import { summaryV1 } from "./summary-v1.ts";

export { classificationV1, CLASSIFICATION_TOOL_NAME } from "./classification-v1.ts";
export { classificationJsonV1 } from "./classification-json-v1.ts";
export { summaryV1 } from "./summary-v1.ts";
export { wrapDocument } from "./document.ts";

export const prompts = {
  summary: { current: summaryV1, versions: { [summaryV1.version]: summaryV1 } },
  classification: { current: classificationV1, versions: { [classificationV1.version]: classificationV1 } },
} as const;
