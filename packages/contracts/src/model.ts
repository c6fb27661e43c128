/**
 * The Bedrock model Quire's prompts are written and versioned for, and what runs when
 * QUIRE_MODEL_ID is unset. One constant: the config default, the stage client's default and the
 * benchmark all read it. (A stage result is keyed by model id too, so changing it never reuses
 * an answer from another model.)
 */
export const DEFAULT_MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0";
