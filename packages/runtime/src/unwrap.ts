import { PermanentError } from "./errors.ts";

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    // Retrying cannot fix bytes: dead-letter at once.
    throw new PermanentError("MALFORMED_MESSAGE", `${what} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * An SNS subscription without raw delivery wraps the message. `TopicArn` is required as well
 * as `Type`, so a plain message that happens to carry `Type: "Notification"` is not mistaken
 * for an envelope (Quire's own messages use lower-case `type`).
 */
function isSnsEnvelope(value: JsonObject): value is JsonObject & { Message: string } {
  return value.Type === "Notification" && typeof value.Message === "string" && typeof value.TopicArn === "string";
}

/** What an EventBridge rule with an SQS target delivers when it has no input transformer. */
function isEventBridgeEnvelope(value: JsonObject): boolean {
  return typeof value["detail-type"] === "string" && typeof value.source === "string" && "detail" in value;
}

/**
 * Unwrap an SQS body to the JSON value the consumer's schema parses:
 * - SNS raw delivery and plain SQS messages: the body itself;
 * - SNS envelope (`Type: "Notification"`): the parsed `Message`;
 * - EventBridge event: the whole envelope (consumers route on `detail-type` and correlate on
 *   `id`), with `detail` parsed should a producer have sent it as a JSON string.
 * Invalid JSON anywhere → PermanentError("MALFORMED_MESSAGE").
 */
export function unwrapSqsBody(body: string): unknown {
  const value = parseJson(body, "SQS message body");
  if (!isObject(value)) return value;
  if (isSnsEnvelope(value)) return parseJson(value.Message, "SNS notification Message");
  if (isEventBridgeEnvelope(value) && typeof value.detail === "string") {
    return { ...value, detail: parseJson(value.detail, "EventBridge event detail") };
  }
  return value;
}
