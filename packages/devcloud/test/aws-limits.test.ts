import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import {
  CreateTopicCommand,
  PublishBatchCommand,
  PublishCommand,
  SNSClient,
  type PublishBatchRequestEntry,
} from "@aws-sdk/client-sns";
import { CreateQueueCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devcloud } from "../src/index.ts";
import {
  DYNAMODB_MAX_ITEM_BYTES,
  EVENTBRIDGE_PUT_EVENTS_MAX_BYTES,
  EVENTBRIDGE_PUT_EVENTS_MAX_ENTRIES,
  SNS_MAX_BATCH_BYTES,
  SNS_MAX_BATCH_ENTRIES,
  SNS_MAX_MESSAGE_BYTES,
  SQS_MAX_BATCH_BYTES,
  SQS_MAX_MESSAGE_BYTES,
} from "../src/limits.ts";
import { startTestDevcloud } from "./support/devcloud.ts";

/**
 * AWS's size and count limits, answered through the real SDK v3 clients as AWS answers them:
 * just under each limit passes, just over fails with the error name the SDK gives for AWS's
 * error. The numbers are AWS's (see src/limits.ts); the specs restate them so a wrong constant
 * cannot make its own spec pass.
 */
describe("AWS limits at the devcloud edge", () => {
  let devcloud: Devcloud;
  let sns: SNSClient;
  let sqs: SQSClient;
  let events: EventBridgeClient;
  let dynamodb: DynamoDBClient;

  beforeAll(async () => {
    devcloud = await startTestDevcloud({ topology: false });
    // No retries: a limit error is a client fault and must surface on the first answer.
    const config = { ...devcloud.clientConfig, maxAttempts: 1 };
    sns = new SNSClient(config);
    sqs = new SQSClient(config);
    events = new EventBridgeClient(config);
    dynamodb = new DynamoDBClient(config);
  });
  afterAll(() => devcloud.stop());

  it("uses AWS's current numbers", () => {
    expect({
      SNS_MAX_MESSAGE_BYTES,
      SNS_MAX_BATCH_BYTES,
      SNS_MAX_BATCH_ENTRIES,
      SQS_MAX_MESSAGE_BYTES,
      SQS_MAX_BATCH_BYTES,
      EVENTBRIDGE_PUT_EVENTS_MAX_BYTES,
      EVENTBRIDGE_PUT_EVENTS_MAX_ENTRIES,
      DYNAMODB_MAX_ITEM_BYTES,
    }).toEqual({
      SNS_MAX_MESSAGE_BYTES: 262_144,
      SNS_MAX_BATCH_BYTES: 262_144,
      SNS_MAX_BATCH_ENTRIES: 10,
      SQS_MAX_MESSAGE_BYTES: 1_048_576,
      SQS_MAX_BATCH_BYTES: 1_048_576,
      EVENTBRIDGE_PUT_EVENTS_MAX_BYTES: 1_048_576,
      EVENTBRIDGE_PUT_EVENTS_MAX_ENTRIES: 10,
      DYNAMODB_MAX_ITEM_BYTES: 409_600,
    });
  });

  describe("SNS", () => {
    let TopicArn: string;
    beforeAll(async () => {
      ({ TopicArn } = (await sns.send(new CreateTopicCommand({ Name: "limits" }))) as { TopicArn: string });
    });
    // Attribute bytes count too: name "kind" (4) + DataType "String" (6) + value "pdf" (3) = 13.
    const attribute = { kind: { DataType: "String", StringValue: "pdf" } };
    const attributeBytes = 13;

    it("Publish: body + attributes of 262,144 bytes passes, 262,145 is InvalidParameter", async () => {
      await sns.send(new PublishCommand({ TopicArn, Message: "x".repeat(262_144) }));
      await sns.send(
        new PublishCommand({ TopicArn, Message: "x".repeat(262_144 - attributeBytes), MessageAttributes: attribute }),
      );
      await expect(sns.send(new PublishCommand({ TopicArn, Message: "x".repeat(262_145) }))).rejects.toMatchObject({
        name: "InvalidParameterException",
        $metadata: { httpStatusCode: 400 },
      });
      await expect(
        sns.send(
          new PublishCommand({ TopicArn, Message: "x".repeat(262_145 - attributeBytes), MessageAttributes: attribute }),
        ),
      ).rejects.toMatchObject({ name: "InvalidParameterException" });
    });

    it("PublishBatch: entries totalling 262,144 bytes pass, 262,145 is BatchRequestTooLong", async () => {
      const batch = (total: number): PublishBatchRequestEntry[] => [
        { Id: "a", Message: "a".repeat(131_072 - attributeBytes), MessageAttributes: attribute },
        { Id: "b", Message: "b".repeat(total - 131_072) },
      ];
      const { Successful = [], Failed = [] } = await sns.send(
        new PublishBatchCommand({ TopicArn, PublishBatchRequestEntries: batch(262_144) }),
      );
      expect(Failed).toEqual([]);
      expect(Successful.map((s) => s.Id)).toEqual(["a", "b"]);
      await expect(
        sns.send(new PublishBatchCommand({ TopicArn, PublishBatchRequestEntries: batch(262_145) })),
      ).rejects.toMatchObject({
        name: "BatchRequestTooLongException",
        $metadata: { httpStatusCode: 400 },
      });
    });

    it("PublishBatch: a single entry over 262,144 bytes fails the whole request", async () => {
      await expect(
        sns.send(
          new PublishBatchCommand({
            TopicArn,
            PublishBatchRequestEntries: [{ Id: "big", Message: "x".repeat(262_145) }],
          }),
        ),
      ).rejects.toMatchObject({ name: "BatchRequestTooLongException" });
    });

    it("PublishBatch: 10 entries pass, 11 are TooManyEntriesInBatchRequest", async () => {
      const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ Id: `e${i}`, Message: `m${i}` }));
      const { Successful = [] } = await sns.send(
        new PublishBatchCommand({ TopicArn, PublishBatchRequestEntries: entries(10) }),
      );
      expect(Successful).toHaveLength(10);
      await expect(
        sns.send(new PublishBatchCommand({ TopicArn, PublishBatchRequestEntries: entries(11) })),
      ).rejects.toMatchObject({
        name: "TooManyEntriesInBatchRequestException",
        $metadata: { httpStatusCode: 400 },
      });
    });
  });

  describe("SQS", () => {
    let QueueUrl: string;
    beforeAll(async () => {
      ({ QueueUrl } = (await sqs.send(new CreateQueueCommand({ QueueName: "limits" }))) as { QueueUrl: string });
    });
    // name "kind" (4) + DataType "String" (6) + value "pdf" (3) = 13 bytes.
    const attribute = { kind: { DataType: "String", StringValue: "pdf" } };
    const attributeBytes = 13;

    it("SendMessage: body + attributes of 1,048,576 bytes passes, 1,048,577 is InvalidParameterValue", async () => {
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "x".repeat(1_048_576) }));
      await sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: "x".repeat(1_048_576 - attributeBytes),
          MessageAttributes: attribute,
        }),
      );
      await expect(
        sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "x".repeat(1_048_577) })),
      ).rejects.toMatchObject({
        name: "InvalidParameterValue",
        $metadata: { httpStatusCode: 400 },
      });
      await expect(
        sqs.send(
          new SendMessageCommand({
            QueueUrl,
            MessageBody: "x".repeat(1_048_577 - attributeBytes),
            MessageAttributes: attribute,
          }),
        ),
      ).rejects.toMatchObject({ name: "InvalidParameterValue" });
    });

    it("SendMessageBatch: entries totalling 1,048,576 bytes pass, 1,048,577 is BatchRequestTooLong", async () => {
      const batch = (total: number) => [
        { Id: "a", MessageBody: "a".repeat(524_288 - attributeBytes), MessageAttributes: attribute },
        { Id: "b", MessageBody: "b".repeat(total - 524_288) },
      ];
      const { Successful = [], Failed = [] } = await sqs.send(
        new SendMessageBatchCommand({ QueueUrl, Entries: batch(1_048_576) }),
      );
      expect(Failed).toEqual([]);
      expect(Successful.map((s) => s.Id)).toEqual(["a", "b"]);
      await expect(
        sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: batch(1_048_577) })),
      ).rejects.toMatchObject({
        name: "BatchRequestTooLong",
        $metadata: { httpStatusCode: 400 },
      });
    });
  });

  describe("EventBridge PutEvents", () => {
    // Entry size per "Calculating PutEvents event entry size": Time 14 bytes if present, then the
    // UTF-8 bytes of Source, DetailType, Detail and each of Resources.
    const entry = (size: number, extras: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry => {
      const fixed =
        (extras.Time ? 14 : 0) +
        "quire.test".length +
        "Big".length +
        '{"b":""}'.length +
        (extras.Resources ?? []).reduce((n, r) => n + Buffer.byteLength(r), 0);
      return {
        Source: "quire.test",
        DetailType: "Big",
        Detail: JSON.stringify({ b: "x".repeat(size - fixed) }),
        ...extras,
      };
    };

    it("an entry of 1,048,576 bytes passes, 1,048,577 is a ValidationException for the request", async () => {
      const { FailedEntryCount, Entries } = await events.send(new PutEventsCommand({ Entries: [entry(1_048_576)] }));
      expect(FailedEntryCount).toBe(0);
      expect(Entries![0]!.EventId).toBeDefined();
      await expect(events.send(new PutEventsCommand({ Entries: [entry(1_048_577)] }))).rejects.toMatchObject({
        name: "ValidationException",
        message: "Total size of the entries in the request is over the limit.",
        $metadata: { httpStatusCode: 400 },
      });
    });

    it("Time counts 14 bytes and Resources count their UTF-8 bytes", async () => {
      const extras = { Time: new Date("2026-12-01T00:00:00Z"), Resources: ["arn:aws:s3:::quire-documents/é"] };
      await events.send(new PutEventsCommand({ Entries: [entry(1_048_576, extras)] }));
      await expect(events.send(new PutEventsCommand({ Entries: [entry(1_048_577, extras)] }))).rejects.toMatchObject({
        name: "ValidationException",
      });
    });

    it("the limit is on the total of all entries in the request", async () => {
      await events.send(new PutEventsCommand({ Entries: [entry(524_288), entry(524_288)] }));
      await expect(
        events.send(new PutEventsCommand({ Entries: [entry(524_288), entry(524_289)] })),
      ).rejects.toMatchObject({
        name: "ValidationException",
        message: "Total size of the entries in the request is over the limit.",
      });
    });

    it("10 entries pass, 11 are a ValidationException", async () => {
      const entries = (n: number) =>
        Array.from({ length: n }, (_, i) => ({ Source: "quire.test", DetailType: "Small", Detail: `{"i":${i}}` }));
      const { FailedEntryCount } = await events.send(new PutEventsCommand({ Entries: entries(10) }));
      expect(FailedEntryCount).toBe(0);
      await expect(events.send(new PutEventsCommand({ Entries: entries(11) }))).rejects.toMatchObject({
        name: "ValidationException",
        message: expect.stringMatching(
          /at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10/,
        ),
        $metadata: { httpStatusCode: 400 },
      });
    });
  });

  describe("DynamoDB item size", () => {
    const TableName = "limits";
    beforeAll(async () => {
      await dynamodb.send(
        new CreateTableCommand({
          TableName,
          KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
          AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
          BillingMode: "PAY_PER_REQUEST",
        }),
      );
    });
    // Item size = UTF-8 bytes of every attribute name and string value: "pk" (2) + "k1" (2) + "blob" (4) = 8 + the
    // blob.
    const item = (blob: string) => ({ pk: { S: "k1" }, blob: { S: blob } });

    it("PutItem: 409,600 bytes pass, 409,601 are a ValidationException", async () => {
      await dynamodb.send(new PutItemCommand({ TableName, Item: item("x".repeat(409_600 - 8)) }));
      await expect(
        dynamodb.send(new PutItemCommand({ TableName, Item: item("x".repeat(409_601 - 8)) })),
      ).rejects.toMatchObject({
        name: "ValidationException",
        message: "Item size has exceeded the maximum allowed size",
        $metadata: { httpStatusCode: 400 },
      });
    });

    it("PutItem and BatchWriteItem count strings in UTF-8 bytes, not characters", async () => {
      // "é" is 2 bytes in UTF-8: 204,796 of them + 8 = 409,600 bytes; one more is 409,602.
      await dynamodb.send(new PutItemCommand({ TableName, Item: item("é".repeat(204_796)) }));
      await expect(
        dynamodb.send(new PutItemCommand({ TableName, Item: item("é".repeat(204_797)) })),
      ).rejects.toMatchObject({
        name: "ValidationException",
        message: "Item size has exceeded the maximum allowed size",
      });
      await expect(
        dynamodb.send(
          new BatchWriteItemCommand({
            RequestItems: { [TableName]: [{ PutRequest: { Item: item("é".repeat(204_797)) } }] },
          }),
        ),
      ).rejects.toMatchObject({
        name: "ValidationException",
        message: "Item size has exceeded the maximum allowed size",
      });
      // Attribute names count in UTF-8 bytes as well: "blöb" is 5 bytes.
      await expect(
        dynamodb.send(
          new PutItemCommand({ TableName, Item: { pk: { S: "k1" }, blöb: { S: "x".repeat(409_600 - 8) } } }),
        ),
      ).rejects.toMatchObject({ name: "ValidationException" });
    });

    it("UpdateItem: an update that grows the item past 409,600 bytes is a ValidationException", async () => {
      const update = (blob: string) =>
        dynamodb.send(
          new UpdateItemCommand({
            TableName,
            Key: { pk: { S: "k1" } },
            UpdateExpression: "SET #b = :b",
            ExpressionAttributeNames: { "#b": "blob" },
            ExpressionAttributeValues: { ":b": { S: blob } },
          }),
        );
      await update("é".repeat(204_796));
      await expect(update("é".repeat(204_797))).rejects.toMatchObject({
        name: "ValidationException",
        message: "Item size to update has exceeded the maximum allowed size",
      });
      await expect(update("x".repeat(409_601 - 8))).rejects.toMatchObject({ name: "ValidationException" });
    });
  });
});
