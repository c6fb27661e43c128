import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { documentClient, type StoreTable } from "@quire/dynamo";
import { createDeliveryRecords, type DeliveryRecords } from "./records/deliveries.ts";
import { createEventRecords, type EventRecords } from "./records/events.ts";
import { createSubscriptionRecords, type SubscriptionRecords } from "./records/subscriptions.ts";
import type { SecretBox } from "./secrets.ts";

export type { SecretRotation } from "./records/subscriptions.ts";
export type { AttemptRecord, Delivery, DeliveryStatus } from "./records/types.ts";

/**
 * Subscriptions, deliveries and the delivery log in the notifications table, built like the job
 * store (@quire/jobs): one module per kind of record over a shared table (@quire/dynamo), each
 * transition a conditional write, so a redelivered SQS message or two workers on one delivery
 * cannot both act — the loser learns it lost and stands down.
 */
export interface NotificationStore extends SubscriptionRecords, EventRecords, DeliveryRecords {}

export interface NotificationStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /**
   * Seals webhook signing secrets before they are written and opens them to sign a delivery
   * (kmsSecretBox over the deployment's key). Required: there is no way to store one in plain text.
   */
  secrets: SecretBox;
  now?: () => Date;
}

export function createNotificationStore(options: NotificationStoreOptions): NotificationStore {
  const table: StoreTable = {
    db: documentClient(options.client),
    tableName: options.tableName,
    now: options.now ?? (() => new Date()),
  };
  return {
    ...createSubscriptionRecords(table, options.secrets),
    ...createEventRecords(table),
    ...createDeliveryRecords(table),
  };
}
