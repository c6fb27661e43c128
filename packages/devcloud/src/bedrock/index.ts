/** Local Bedrock runtime (Converse) for devcloud. See backend.ts for the request flow. */
export { createBedrockBackend } from "./backend.ts";
export type { BedrockBackend, BedrockBackendDependencies, ModelStats } from "./backend.ts";
export {
  bedrockEmulatorOptionsSchema,
  bedrockOptionsFromEnv,
  DEFAULT_MODEL_BEHAVIOUR,
  INFERENCE_PROFILE_PREFIXES,
  KNOWN_MODELS,
  modelBehaviourPatchSchema,
  modelBehaviourSchema,
  parseModelIdentifier,
} from "./config.ts";
export type {
  BedrockEmulatorOptions,
  BedrockEmulatorOptionsInput,
  ModelBehaviour,
  ModelBehaviourInput,
} from "./config.ts";
export { classify } from "./model/classify.ts";
export { validateJsonSchema } from "./model/json-schema.ts";
export { summarize } from "./model/summarize.ts";
export { estimateTokens } from "./tokens.ts";
