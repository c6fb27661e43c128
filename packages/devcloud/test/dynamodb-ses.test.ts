import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { SendEmailCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devcloud } from "../src/index.ts";
import { startTestDevcloud, temporaryDirectory } from "./support/devcloud.ts";

describe("DynamoDB through the devcloud edge", () => {
  let devcloud: Devcloud;
  let dynamodb: DynamoDBClient;
  let table: string;

  beforeAll(async () => {
    devcloud = await startTestDevcloud();
    dynamodb = new DynamoDBClient(devcloud.clientConfig);
    table = devcloud.resources.tableNames.jobs!;
  });
  afterAll(() => devcloud.stop());

  it("the provisioned jobs table is ACTIVE with its key schema and GSI", async () => {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: table }));
    expect(Table!.TableStatus).toBe("ACTIVE");
    expect(Table!.KeySchema).toEqual([
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ]);
    expect(Table!.GlobalSecondaryIndexes!.map((i) => i.IndexName)).toEqual(["byRun"]);
  });

  it("of 20 racing conditional puts of one key, exactly one wins", async () => {
    const attempts = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        dynamodb.send(
          new PutItemCommand({
            TableName: table,
            Item: { pk: { S: "job#race" }, sk: { S: "job" }, winner: { N: String(i) } },
            ConditionExpression: "attribute_not_exists(pk)",
          }),
        ),
      ),
    );
    expect(attempts.filter((a) => a.status === "fulfilled")).toHaveLength(1);
    const failures = attempts.filter((a) => a.status === "rejected") as PromiseRejectedResult[];
    expect(failures.every((f) => f.reason instanceof ConditionalCheckFailedException)).toBe(true);
  });

  it("a conditional update applies only when its condition holds", async () => {
    const key = { pk: { S: "job#cond" }, sk: { S: "job" } };
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { ...key, status: { S: "pending" } } }));
    const markProcessing = () =>
      dynamodb.send(
        new UpdateItemCommand({
          TableName: table,
          Key: key,
          UpdateExpression: "SET #s = :next",
          ConditionExpression: "#s = :expected",
          ExpressionAttributeNames: { "#s": "status" },
          ExpressionAttributeValues: { ":next": { S: "processing" }, ":expected": { S: "pending" } },
        }),
      );
    await markProcessing();
    await expect(markProcessing()).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    const { Item } = await dynamodb.send(new GetItemCommand({ TableName: table, Key: key }));
    expect(Item!.status).toEqual({ S: "processing" });
  });
});

describe("SESv2 outbox", () => {
  const dir = temporaryDirectory("quire-ses");
  let devcloud: Devcloud;
  let ses: SESv2Client;

  beforeAll(async () => {
    devcloud = await startTestDevcloud({ topology: false, dataDir: dir.path });
    ses = new SESv2Client(devcloud.clientConfig);
  });
  afterAll(async () => {
    await devcloud.stop();
    dir.remove();
  });

  it("SendEmail puts a multipart .eml in the outbox and lists it over HTTP", async () => {
    const { MessageId } = await ses.send(
      new SendEmailCommand({
        FromEmailAddress: "quire@example.com",
        Destination: { ToAddresses: ["ada@example.com"] },
        Content: {
          Simple: {
            Subject: { Data: "Job complete: Lease — Unit 4" },
            Body: { Text: { Data: "Summary: fine." }, Html: { Data: "<p>Summary: fine.</p>" } },
          },
        },
      }),
    );
    const response = await fetch(`${devcloud.endpoint}/_quire/outbox?to=ada@example.com`);
    const { messages } = (await response.json()) as { messages: { id: string; subject: string; file: string }[] };
    expect(messages.map((m) => [m.id, m.subject])).toEqual([[MessageId, "Job complete: Lease — Unit 4"]]);
    const eml = readFileSync(messages[0]!.file, "utf8");
    expect(eml).toMatch(/^From: quire@example.com\r\n/);
    expect(eml).toContain("Content-Type: multipart/alternative");
    expect(eml).toContain(`Subject: =?UTF-8?B?${Buffer.from("Job complete: Lease — Unit 4").toString("base64")}?=`);
    expect(eml).toContain(Buffer.from("Summary: fine.").toString("base64"));
  });

  it("SendEmail without a recipient is a BadRequestException", async () => {
    await expect(
      ses.send(
        new SendEmailCommand({
          FromEmailAddress: "quire@example.com",
          Destination: {},
          Content: { Simple: { Subject: { Data: "x" }, Body: { Text: { Data: "y" } } } },
        }),
      ),
    ).rejects.toMatchObject({ name: "BadRequestException", message: expect.stringMatching(/Destination/) });
  });
});
