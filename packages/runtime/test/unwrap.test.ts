import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PermanentError, unwrapSqsBody } from "../src/index.ts";
import { createQueuePair, receiveAll, startTestCloud } from "./support/devcloud.ts";

const payload = { schemaVersion: 1, type: "document.submitted", jobId: "job_01JABCDEFGHJKMNPQRST" };

describe("unwrapSqsBody on bodies delivered by real SNS and EventBridge", () => {
  let cloud: Awaited<ReturnType<typeof startTestCloud>>;
  let sqs: SQSClient;
  let sns: SNSClient;
  let events: EventBridgeClient;

  beforeAll(async () => {
    cloud = await startTestCloud();
    sqs = cloud.sqs;
    sns = new SNSClient(cloud.devcloud.clientConfig);
    events = new EventBridgeClient(cloud.devcloud.clientConfig);
  });
  afterAll(async () => {
    sns?.destroy();
    events?.destroy();
    await cloud?.stop();
  });

  async function publishThroughSns(rawMessageDelivery: boolean) {
    const queue = await createQueuePair(sqs, rawMessageDelivery ? "sns-raw" : "sns-envelope");
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: `${queue.name}-topic` }));
    await sns.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: "sqs",
        Endpoint: queue.arn,
        Attributes: { RawMessageDelivery: String(rawMessageDelivery) },
      }),
    );
    await sns.send(new PublishCommand({ TopicArn, Message: JSON.stringify(payload) }));
    const [message] = await receiveAll(sqs, queue.url, 1);
    return message!.Body!;
  }

  it("returns the message of an SNS raw delivery as is", async () => {
    const body = await publishThroughSns(true);
    expect(JSON.parse(body)).toEqual(payload);
    expect(unwrapSqsBody(body)).toEqual(payload);
  });

  it("unwraps the Message of an SNS notification envelope", async () => {
    const body = await publishThroughSns(false);
    expect(JSON.parse(body)).toMatchObject({ Type: "Notification", TopicArn: expect.any(String) });
    expect(unwrapSqsBody(body)).toEqual(payload);
  });

  it("returns the whole EventBridge envelope with its detail as an object", async () => {
    const queue = await createQueuePair(sqs, "eventbridge");
    const bus = `${queue.name}-bus`;
    await events.send(new CreateEventBusCommand({ Name: bus }));
    await events.send(
      new PutRuleCommand({
        Name: "to-queue",
        EventBusName: bus,
        EventPattern: JSON.stringify({ source: ["quire.test"] }),
      }),
    );
    await events.send(
      new PutTargetsCommand({ Rule: "to-queue", EventBusName: bus, Targets: [{ Id: "queue", Arn: queue.arn }] }),
    );
    await events.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: bus, Source: "quire.test", DetailType: "Job Completed", Detail: JSON.stringify(payload) },
        ],
      }),
    );
    const [message] = await receiveAll(sqs, queue.url, 1);

    expect(unwrapSqsBody(message!.Body!)).toMatchObject({
      version: "0",
      source: "quire.test",
      "detail-type": "Job Completed",
      detail: payload,
    });
  });
});

describe("unwrapSqsBody on hand-made bodies", () => {
  it("returns a plain JSON body as is", () => {
    expect(unwrapSqsBody(JSON.stringify(payload))).toEqual(payload);
    expect(unwrapSqsBody("[1,2]")).toEqual([1, 2]);
  });

  it("does not mistake a message with Type Notification but no TopicArn for an SNS envelope", () => {
    const lookalike = { Type: "Notification", Message: "{}" };
    expect(unwrapSqsBody(JSON.stringify(lookalike))).toEqual(lookalike);
  });

  it("parses an EventBridge detail that was sent as a JSON string", () => {
    const event = {
      version: "0",
      id: "1",
      "detail-type": "Job Failed",
      source: "quire.x",
      detail: JSON.stringify(payload),
    };
    expect(unwrapSqsBody(JSON.stringify(event))).toEqual({ ...event, detail: payload });
  });

  it("throws PermanentError MALFORMED_MESSAGE for a body that is not JSON", () => {
    expect(() => unwrapSqsBody("not json")).toThrow(PermanentError);
    expect(() => unwrapSqsBody("not json")).toThrow(expect.objectContaining({ code: "MALFORMED_MESSAGE" }));
  });

  it("throws PermanentError MALFORMED_MESSAGE for an SNS envelope whose Message is not JSON", () => {
    const envelope = { Type: "Notification", TopicArn: "arn:aws:sns:us-east-1:000000000000:t", Message: "plain text" };
    expect(() => unwrapSqsBody(JSON.stringify(envelope))).toThrow(
      expect.objectContaining({ code: "MALFORMED_MESSAGE" }),
    );
  });
});
