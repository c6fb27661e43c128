import { ConditionalCheckFailedException, PutItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { eventEnvelope, parseEventDetail } from "@quire/contracts";
import { defineConsumer, PermanentError } from "@quire/runtime";
import { z } from "zod";

const NOTIFIED_TYPES = ["Job Completed", "Job Failed", "Run Completed"] as const;
const notifiableEvent = eventEnvelope.extend({ "detail-type": z.enum(NOTIFIED_TYPES) });

/**
 * The notifier, minimal for now: every job and run outcome is recorded once (keyed by the
 * EventBridge event id, so a redelivered event is a no-op) and logged. Webhook and email
 * delivery build on these records.
 */
export const createNotifier = (deps: { dynamodb: DynamoDBClient; tableName: string }) =>
  defineConsumer({
    name: "notifier",
    schema: notifiableEvent,
    async handle(event, ctx) {
      const detailType = event["detail-type"];
      let detail: { jobId?: string; runId?: string };
      try {
        detail = parseEventDetail(detailType, event.detail);
      } catch (error) {
        throw new PermanentError("SCHEMA_VIOLATION", `${detailType} detail: ${(error as Error).message}`, { cause: error });
      }
      try {
        await deps.dynamodb.send(
          new PutItemCommand({
            TableName: deps.tableName,
            Item: {
              pk: { S: `EVENT#${event.id}` },
              sk: { S: "EVENT" },
              detailType: { S: detailType },
              source: { S: event.source },
              time: { S: event.time },
              detail: { S: JSON.stringify(event.detail) },
              ...(detail.jobId ? { jobId: { S: detail.jobId } } : {}),
              ...(detail.runId ? { runId: { S: detail.runId } } : {}),
            },
            ConditionExpression: "attribute_not_exists(pk)",
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          ctx.log.info("event already recorded", { eventId: event.id });
          return;
        }
        throw error;
      }
      ctx.log.info(`recorded ${detailType}`, { eventId: event.id, ...(detail.jobId ? { jobId: detail.jobId } : {}), ...(detail.runId ? { runId: detail.runId } : {}) });
    },
  });
