import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devcloud } from "../src/index.ts";
import { startTestDevcloud } from "./support/devcloud.ts";

describe("devcloud counts the AWS requests it serves", () => {
  let devcloud: Devcloud;
  beforeAll(async () => {
    devcloud = await startTestDevcloud();
  });
  afterAll(() => devcloud.stop());

  it("by service and operation, whatever the protocol (JSON target, query action, S3 method), until reset", async () => {
    devcloud.requests.reset();
    const env = devcloud.env;
    const table = env.QUIRE_TABLE_JOBS_NAME!;
    const dynamodb = new DynamoDBClient(devcloud.clientConfig);
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: "A" }, sk: { S: "A" } } }));
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: "B" }, sk: { S: "B" } } }));
    await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "A" }, sk: { S: "A" } } }));
    await new SQSClient(devcloud.clientConfig).send(
      new SendMessageCommand({ QueueUrl: env.QUIRE_QUEUE_SUMMARIZER_URL!, MessageBody: "{}" }),
    );
    await new SNSClient(devcloud.clientConfig).send(
      new PublishCommand({ TopicArn: env.QUIRE_TOPIC_DOCUMENTS_ARN!, Message: "{}" }),
    );
    await new S3Client({ ...devcloud.clientConfig, forcePathStyle: true }).send(
      new PutObjectCommand({ Bucket: env.QUIRE_BUCKET_DOCUMENTS_NAME!, Key: "k", Body: "x" }),
    );
    expect(devcloud.requests.counts()).toEqual({
      "dynamodb:GetItem": 1,
      "dynamodb:PutItem": 2,
      "s3:PUT": 1,
      "sns:Publish": 1,
      "sqs:SendMessage": 1,
    });
    const stats = (await (await fetch(`${devcloud.endpoint}/_quire/stats`)).json()) as { requests: object };
    expect(stats.requests).toEqual(devcloud.requests.counts());
    devcloud.requests.reset();
    expect(devcloud.requests.counts()).toEqual({});
  });
});
