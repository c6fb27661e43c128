import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { conditionally, type StoreTable } from "@quire/dynamo";
import { eventKey, recordExpiresAt } from "./keys.ts";

/**
 * Which EventBridge events were fanned out into deliveries: a redelivered `Job Completed` finds
 * its event already fanned out and creates nothing new.
 */
export function createEventRecords(table: StoreTable) {
  const { db, tableName: TableName, now } = table;
  return {
    /**
     * Remember an EventBridge event. `fannedOut` says whether an earlier delivery of the same
     * event already created every notification for it (then a redelivery has nothing to do).
     */
    async recordEvent(eventId: string, detailType: string): Promise<{ fannedOut: boolean }> {
      const first = await conditionally(() =>
        db.send(
          new PutCommand({
            TableName,
            Item: {
              ...eventKey(eventId),
              detailType,
              receivedAt: now().toISOString(),
              expiresAt: recordExpiresAt(table),
            },
            ConditionExpression: "attribute_not_exists(pk)",
          }),
        ),
      );
      if (first) return { fannedOut: false };
      const { Item } = await db.send(new GetCommand({ TableName, Key: eventKey(eventId), ConsistentRead: true }));
      return { fannedOut: Boolean(Item?.fannedOutAt) };
    },
    async markEventFannedOut(eventId: string, deliveries: number): Promise<void> {
      await db.send(
        new UpdateCommand({
          TableName,
          Key: eventKey(eventId),
          UpdateExpression: "SET fannedOutAt = :now, deliveries = :n",
          ExpressionAttributeValues: { ":now": now().toISOString(), ":n": deliveries },
        }),
      );
    },
  };
}

export type EventRecords = ReturnType<typeof createEventRecords>;
