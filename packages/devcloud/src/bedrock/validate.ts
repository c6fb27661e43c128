/**
 * Request checks Bedrock performs before running a model, each answered as a 400
 * ValidationException with a message that says what to fix (worded after the real service's).
 */
import type { ModelBehaviour } from "./config.ts";
import { validationError, type ConverseRequest } from "./wire.ts";

/** Content block members Converse defines; a block must set exactly one of them. */
const CONTENT_BLOCK_MEMBERS = [
  "text",
  "image",
  "document",
  "video",
  "audio",
  "toolUse",
  "toolResult",
  "guardContent",
  "cachePoint",
  "reasoningContent",
  "citationsContent",
  "searchResult",
] as const;

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export interface ValidatedLimits {
  /** maxTokens to honour: the request's, or the model's maximum when absent. */
  readonly maxTokens: number;
}

export function validateConverseRequest(
  request: ConverseRequest,
  model: ModelBehaviour,
  inputTokens: number,
): ValidatedLimits {
  validateMessages(request);
  const maxTokens = validateInferenceConfig(request, model);
  validateToolConfig(request, model);
  if (inputTokens > model.contextWindowTokens) {
    throw validationError(
      `Input is too long for requested model. (${inputTokens} input tokens; the model accepts ${model.contextWindowTokens}.)`,
    );
  }
  return { maxTokens };
}

function validateMessages(request: ConverseRequest): void {
  const messages = request.messages;
  if (messages === undefined || messages.length === 0) {
    throw validationError(
      "The messages field is required and must contain at least one message. Add a user message and try again.",
    );
  }
  if (messages[0]?.role !== "user") {
    throw validationError(
      "A conversation must start with a user message. Try again with a conversation that starts with a user message.",
    );
  }
  messages.forEach((message, index) => {
    if (index > 0 && messages[index - 1]?.role === message.role) {
      throw validationError(
        "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.",
      );
    }
    if (message.content.length === 0) {
      throw validationError(
        `The content field in the Message object at messages.${index} is empty. Add a ContentBlock object to the content field and try again.`,
      );
    }
    message.content.forEach((block, blockIndex) => {
      const where = `messages.${index}.content.${blockIndex}`;
      const members = CONTENT_BLOCK_MEMBERS.filter((member) => block[member] !== undefined);
      if (members.length !== 1) {
        throw validationError(
          `The ContentBlock at ${where} must set exactly one member (text, image, document, toolUse, toolResult, ...); it sets ${members.length}.`,
        );
      }
      if (block.text !== undefined && block.text.trim().length === 0) {
        throw validationError(
          `The text field in the ContentBlock object at ${where} is blank. Add text to the text field, and try again.`,
        );
      }
      if ((block.toolUse !== undefined || block.toolResult !== undefined) && request.toolConfig === undefined) {
        throw validationError("The toolConfig field must be defined when using toolUse and toolResult content blocks.");
      }
      if (block.toolUse !== undefined && message.role !== "assistant") {
        throw validationError(`The toolUse block at ${where} must be in an assistant message.`);
      }
      if (block.toolResult !== undefined && message.role !== "user") {
        throw validationError(`The toolResult block at ${where} must be in a user message.`);
      }
    });
  });
}

function validateInferenceConfig(request: ConverseRequest, model: ModelBehaviour): number {
  const config = request.inferenceConfig ?? {};
  const { maxTokens, temperature, topP } = config;
  if (maxTokens !== undefined && maxTokens < 1) {
    throw validationError(
      `1 validation error detected: Value '${maxTokens}' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1`,
    );
  }
  if (maxTokens !== undefined && maxTokens > model.maxOutputTokens) {
    throw validationError(
      `The maximum tokens you requested exceeds the model limit of ${model.maxOutputTokens}. Try again with a maximum tokens value that is lower than ${model.maxOutputTokens}.`,
    );
  }
  for (const [name, value] of [
    ["temperature", temperature],
    ["topP", topP],
  ] as const) {
    if (value !== undefined && (value < 0 || value > 1)) {
      throw validationError(
        `1 validation error detected: Value '${value}' at 'inferenceConfig.${name}' failed to satisfy constraint: Member must have value between 0 and 1`,
      );
    }
  }
  return maxTokens ?? model.maxOutputTokens;
}

function validateToolConfig(request: ConverseRequest, model: ModelBehaviour): void {
  const toolConfig = request.toolConfig;
  if (toolConfig === undefined) return;
  if (!model.supportsToolUse) throw validationError("This model doesn't support tool use.");
  const specs = toolConfig.tools.flatMap((tool) => (tool.toolSpec === undefined ? [] : [tool.toolSpec]));
  if (specs.length === 0) {
    throw validationError(
      "The toolConfig field must contain at least one tool with a toolSpec. Add a tool and try again.",
    );
  }
  const seen = new Set<string>();
  specs.forEach((spec, index) => {
    if (!TOOL_NAME.test(spec.name)) {
      throw validationError(
        `The tool name "${spec.name}" at toolConfig.tools.${index}.toolSpec.name is invalid: use 1 to 64 letters, digits, underscores or hyphens.`,
      );
    }
    if (seen.has(spec.name))
      throw validationError(
        `The tool names in toolConfig.tools must be unique; "${spec.name}" is defined more than once.`,
      );
    seen.add(spec.name);
    const schemaType = spec.inputSchema.json.type;
    if (schemaType !== undefined && schemaType !== "object") {
      throw validationError(
        `The inputSchema of tool "${spec.name}" must describe an object (type "object"), not ${JSON.stringify(schemaType)}.`,
      );
    }
  });
  const choice = toolConfig.toolChoice;
  if (choice !== undefined) {
    const set = [choice.auto, choice.any, choice.tool].filter((member) => member !== undefined).length;
    if (set !== 1) throw validationError("toolChoice must set exactly one of auto, any or tool.");
    const named = choice.tool?.name;
    if (named !== undefined && !seen.has(named)) {
      throw validationError(
        `The tool "${named}" named in toolChoice is not defined in toolConfig.tools. Define it or choose another tool and try again.`,
      );
    }
  }
}
