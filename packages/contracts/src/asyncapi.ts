import { z } from "zod";
import {
  DOCUMENT_SUBMITTED,
  MESSAGE_TYPE_ATTRIBUTE,
  PRIORITY_ATTRIBUTE,
  documentSubmitted,
} from "./document-submitted.ts";
import { eventCatalog } from "./events.ts";
import { RUN_BATCH, runBatch } from "./run-batch.ts";

/** `Summary Completed` → `summaryCompleted`: AsyncAPI component keys must be identifiers. */
const camelKey = (name: string) =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word, i) => (i === 0 ? word.toLowerCase() : word[0]!.toUpperCase() + word.slice(1).toLowerCase()))
    .join("");

const jsonSchemaOf = (schema: z.ZodType) => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: "draft-07", io: "output" }) as Record<
    string,
    unknown
  >;
  return rest;
};

/**
 * The AsyncAPI 3 description of every message Quire sends, derived from the zod schemas so the
 * document cannot drift from the code. `npm run generate --workspace @quire/contracts` writes
 * it to `asyncapi.json`; a test fails when the committed copy is stale.
 */
export function buildAsyncApiDocument() {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};

  const documentKey = camelKey(DOCUMENT_SUBMITTED);
  schemas[documentKey] = jsonSchemaOf(documentSubmitted);
  messages[documentKey] = {
    name: DOCUMENT_SUBMITTED,
    title: "Document submitted",
    summary: "A document to summarize and classify; fanned out by SNS to one SQS queue per stage.",
    contentType: "application/json",
    payload: { $ref: `#/components/schemas/${documentKey}` },
    bindings: {
      sns: {},
      sqs: {},
    },
    headers: {
      type: "object",
      description: `SNS message attributes. Subscriptions filter on \`${MESSAGE_TYPE_ATTRIBUTE}\` and \`${PRIORITY_ATTRIBUTE}\` (each stage has a bulk and an interactive queue).`,
      properties: {
        [MESSAGE_TYPE_ATTRIBUTE]: { type: "string", const: DOCUMENT_SUBMITTED },
        [PRIORITY_ATTRIBUTE]: { type: "string", enum: ["bulk", "interactive"] },
      },
    },
  };
  const runBatchKey = camelKey(RUN_BATCH);
  schemas[runBatchKey] = jsonSchemaOf(runBatch);
  messages[runBatchKey] = {
    name: RUN_BATCH,
    title: "Run to batch",
    summary:
      "A run to compute through Bedrock batch inference, instead of its document.submitted: the batcher starts the batch jobs, then sends the same message to its own queue, delayed, with `submission` (checks) until they have ended, and publishes the run's document.submitted for the stages to complete from the answers.",
    contentType: "application/json",
    payload: { $ref: `#/components/schemas/${runBatchKey}` },
    bindings: { sns: {}, sqs: {} },
    headers: {
      type: "object",
      description: `SNS message attributes: the batcher's subscription takes \`${MESSAGE_TYPE_ATTRIBUTE}\` ${RUN_BATCH} only.`,
      properties: { [MESSAGE_TYPE_ATTRIBUTE]: { type: "string", const: RUN_BATCH } },
    },
  };
  channels[documentKey] = {
    address: "documents",
    title: "Document topic (SNS)",
    description: "SNS topic with raw delivery to the per-service SQS queues.",
    messages: {
      [documentKey]: { $ref: `#/components/messages/${documentKey}` },
      [runBatchKey]: { $ref: `#/components/messages/${runBatchKey}` },
    },
  };
  operations[`publish${documentKey[0]!.toUpperCase()}${documentKey.slice(1)}`] = {
    action: "send",
    title: "quire.ingestion publishes document.submitted",
    channel: { $ref: `#/channels/${documentKey}` },
    messages: [{ $ref: `#/channels/${documentKey}/messages/${documentKey}` }],
  };

  operations.publishRunBatch = {
    action: "send",
    title: "quire.ingestion publishes run.batch",
    channel: { $ref: `#/channels/${documentKey}` },
    messages: [{ $ref: `#/channels/${documentKey}/messages/${runBatchKey}` }],
  };

  for (const [detailType, entry] of Object.entries(eventCatalog)) {
    // Suffixed so "Document Submitted" (EventBridge) and "document.submitted" (SNS) stay distinct.
    const key = `${camelKey(detailType)}Event`;
    schemas[key] = jsonSchemaOf(entry.detail);
    messages[key] = {
      name: detailType,
      title: detailType,
      summary: `EventBridge event with detail-type "${detailType}" from ${entry.sources.join(", ")}.`,
      contentType: "application/json",
      payload: { $ref: `#/components/schemas/${key}` },
      correlationId: {
        description: "Jobs and runs are correlated by their ids throughout the pipeline.",
        location: detailType === "Run Completed" ? "$message.payload#/runId" : "$message.payload#/jobId",
      },
    };
    channels[key] = {
      address: `quire/${detailType}`,
      title: `${detailType} (EventBridge)`,
      description: `Events on the Quire bus whose detail-type is "${detailType}". The payload is the event's \`detail\`.`,
      messages: { [key]: { $ref: `#/components/messages/${key}` } },
    };
    operations[`put${key[0]!.toUpperCase()}${key.slice(1, -"Event".length)}`] = {
      action: "send",
      title: `${entry.sources.join(" | ")} puts ${detailType}`,
      channel: { $ref: `#/channels/${key}` },
      messages: [{ $ref: `#/channels/${key}/messages/${key}` }],
    };
  }

  return {
    asyncapi: "3.0.0",
    info: {
      title: "Quire events",
      version: "1.0.0",
      description:
        "Every message Quire's services exchange: document.submitted and run.batch on SNS, completion events on EventBridge. Generated from packages/contracts; do not edit by hand.",
    },
    defaultContentType: "application/json",
    channels,
    operations,
    components: { messages, schemas },
  };
}
