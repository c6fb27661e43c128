import { SQSClient, ListQueuesCommand, SendMessageCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { GetSubscriptionAttributesCommand, ListSubscriptionsByTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, ListRulesCommand, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SendEmailCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { BedrockRuntimeClient, ConverseCommand } from "@aws-sdk/client-bedrock-runtime";
import { renderAwsApiResources, topology } from "@quire/topology";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devcloud } from "../src/index.ts";
import { receiveAll, startTestDevcloud, temporaryDirectory } from "./support/devcloud.ts";

describe("devcloud provisions the topology declaration", () => {
  let devcloud: Devcloud;
  beforeAll(async () => {
    devcloud = await startTestDevcloud();
  });
  afterAll(() => devcloud.stop());

  it("answers 200 on /_quire/health with every backend up", async () => {
    const response = await fetch(`${devcloud.endpoint}/_quire/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: "ok",
      services: {
        sns: "up",
        sqs: "up",
        s3: "up",
        dynamodb: "up",
        events: "up",
        bedrock: "up",
        ses: "up",
        kms: "up",
      },
    });
  });

  it("creates every declared queue and DLQ, with the declared redrive policy", async () => {
    const sqs = new SQSClient(devcloud.clientConfig);
    const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
    const declared = renderAwsApiResources(topology).queues;
    expect(QueueUrls.map((url) => url.split("/").pop()).sort()).toEqual(
      declared.flatMap((q) => [q.name, q.dlqName]).sort(),
    );
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: devcloud.resources.queueUrls.summarizer, AttributeNames: ["All"] }),
    );
    expect(JSON.parse(Attributes!.RedrivePolicy!).maxReceiveCount).toBe(topology.queues.summarizer.maxReceiveCount);
    expect(Attributes!.VisibilityTimeout).toBe(String(topology.queues.summarizer.visibilityTimeoutSeconds));
  });

  it("subscribes each stage's queue to the topic with raw delivery and the declared filter", async () => {
    const sns = new SNSClient(devcloud.clientConfig);
    const { Subscriptions = [] } = await sns.send(
      new ListSubscriptionsByTopicCommand({ TopicArn: devcloud.resources.topicArns.documents }),
    );
    const declared = Object.values(topology.subscriptions);
    // Bulk and interactive queues of both stages.
    expect(Subscriptions.map((s) => s.Endpoint).sort()).toEqual(
      declared.map((d) => devcloud.resources.queueArns[d.queue]).sort(),
    );
    for (const subscription of Subscriptions) {
      const { Attributes = {} } = await sns.send(
        new GetSubscriptionAttributesCommand({ SubscriptionArn: subscription.SubscriptionArn }),
      );
      const expected = declared.find((d) => devcloud.resources.queueArns[d.queue] === subscription.Endpoint)!;
      expect(Attributes.RawMessageDelivery).toBe("true");
      expect(JSON.parse(Attributes.FilterPolicy!)).toEqual(expected.filterPolicy);
    }
  });

  it("routes Job Completed on the bus to the notifier's queue, per the declared rule", async () => {
    const events = new EventBridgeClient(devcloud.clientConfig);
    const { Rules = [] } = await events.send(
      new ListRulesCommand({ EventBusName: devcloud.resources.busNames.events }),
    );
    expect(Rules.map((r) => r.Name).sort()).toEqual(
      renderAwsApiResources(topology)
        .rules.map((r) => r.name)
        .sort(),
    );
    await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: devcloud.resources.busNames.events,
            Source: "quire.classifier",
            DetailType: "Job Completed",
            Detail: '{"jobId":"job_x"}',
          },
        ],
      }),
    );
    const sqs = new SQSClient(devcloud.clientConfig);
    const [message] = await receiveAll(sqs, devcloud.resources.queueUrls.notifier!, 1);
    expect(JSON.parse(message!.Body!).detail).toEqual({ jobId: "job_x" });
  });

  it("prints env lines that name every provisioned resource", () => {
    expect(devcloud.env).toMatchObject({
      AWS_ENDPOINT_URL: devcloud.endpoint,
      QUIRE_TOPIC_DOCUMENTS_ARN: devcloud.resources.topicArns.documents,
      QUIRE_QUEUE_SUMMARIZER_URL: devcloud.resources.queueUrls.summarizer,
      QUIRE_DLQ_SUMMARIZER_URL: devcloud.resources.deadLetterQueueUrls.summarizer,
      QUIRE_BUS_EVENTS_NAME: "quire-events",
      QUIRE_TABLE_JOBS_NAME: "quire-jobs",
      QUIRE_BUCKET_DOCUMENTS_NAME: "quire-documents",
      QUIRE_KEY_SECRETS_ID: "alias/quire-secrets",
    });
  });

  it("hands out AWS-shaped queue URLs that carry the region and the edge's port", () => {
    expect(devcloud.resources.queueUrls.summarizer).toBe(
      `http://sqs.us-east-1.localhost:${devcloud.port}/000000000000/quire-summarizer`,
    );
  });

  it("serves Converse to a BedrockRuntimeClient with its default HTTP/2 handler", async () => {
    const bedrock = new BedrockRuntimeClient(devcloud.clientConfig);
    const response = await bedrock.send(
      new ConverseCommand({
        modelId: "anthropic.claude-3-haiku-20240307-v1:0",
        messages: [
          {
            role: "user",
            content: [{ text: "Summarize: The tenant pays rent monthly. The landlord repairs the roof." }],
          },
        ],
        inferenceConfig: { maxTokens: 50 },
      }),
    );
    expect(response.output?.message?.content?.[0]?.text).toMatch(/rent|roof/);
    expect(response.usage!.totalTokens).toBe(response.usage!.inputTokens! + response.usage!.outputTokens!);
    bedrock.destroy();
  });

  it("refuses an unsigned request as AWS does: 403 MissingAuthenticationToken", async () => {
    const response = await fetch(`${devcloud.endpoint}/whatever`, { method: "POST", body: "{}" });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({
      __type: "MissingAuthenticationTokenException",
      message: "Missing Authentication Token",
    });
  });

  it("refuses a service it does not emulate, naming it", async () => {
    const response = await fetch(`${devcloud.endpoint}/`, {
      method: "POST",
      headers: {
        authorization:
          "AWS4-HMAC-SHA256 Credential=AKID/20261123/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=x",
      },
      body: "{}",
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/"kinesis"/);
  });
});

describe("devcloud state survives a restart on the same data dir", () => {
  const dir = temporaryDirectory("quire-restart");
  afterAll(() => dir.remove());

  it("keeps queued messages, items, objects, rules and mail, and provisions without duplicating", async () => {
    const first = await startTestDevcloud({ dataDir: dir.path });
    const sqs = new SQSClient(first.clientConfig);
    await sqs.send(new SendMessageCommand({ QueueUrl: first.resources.queueUrls.summarizer, MessageBody: "kept" }));
    await new DynamoDBClient(first.clientConfig).send(
      new PutItemCommand({
        TableName: first.resources.tableNames.jobs,
        Item: { pk: { S: "job#kept" }, sk: { S: "job" } },
      }),
    );
    await new S3Client({ ...first.clientConfig, forcePathStyle: true }).send(
      new PutObjectCommand({ Bucket: first.resources.bucketNames.documents, Key: "kept.txt", Body: "kept" }),
    );
    await new SESv2Client(first.clientConfig).send(
      new SendEmailCommand({
        FromEmailAddress: "q@example.com",
        Destination: { ToAddresses: ["a@example.com"] },
        Content: { Simple: { Subject: { Data: "kept" }, Body: { Text: { Data: "kept" } } } },
      }),
    );
    await first.stop();

    const second = await startTestDevcloud({ dataDir: dir.path, port: 0 });
    try {
      const [message] = await receiveAll(new SQSClient(second.clientConfig), second.resources.queueUrls.summarizer!, 1);
      expect(message?.Body).toBe("kept");
      const { Item } = await new DynamoDBClient(second.clientConfig).send(
        new GetItemCommand({
          TableName: second.resources.tableNames.jobs,
          Key: { pk: { S: "job#kept" }, sk: { S: "job" } },
        }),
      );
      expect(Item).toBeDefined();
      const object = await new S3Client({ ...second.clientConfig, forcePathStyle: true }).send(
        new GetObjectCommand({ Bucket: second.resources.bucketNames.documents, Key: "kept.txt" }),
      );
      expect(await object.Body!.transformToString()).toBe("kept");
      expect(second.outbox.list().map((m) => m.subject)).toEqual(["kept"]);
      const { Rules = [] } = await new EventBridgeClient(second.clientConfig).send(
        new ListRulesCommand({ EventBusName: "quire-events" }),
      );
      expect(Rules).toHaveLength(Object.keys(topology.rules).length);
      const { Subscriptions = [] } = await new SNSClient(second.clientConfig).send(
        new ListSubscriptionsByTopicCommand({ TopicArn: second.resources.topicArns.documents }),
      );
      expect(Subscriptions).toHaveLength(Object.keys(topology.subscriptions).length);
    } finally {
      await second.stop();
    }
  });
});
