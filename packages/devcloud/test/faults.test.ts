import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ServiceUnavailableException,
  ThrottlingException as BedrockThrottlingException,
} from "@aws-sdk/client-bedrock-runtime";
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  InternalServerError,
} from "@aws-sdk/client-dynamodb";
import {
  EventBridgeClient,
  InternalException,
  PutEventsCommand,
  ThrottlingException as EventsThrottlingException,
} from "@aws-sdk/client-eventbridge";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SendEmailCommand, SESv2Client, TooManyRequestsException } from "@aws-sdk/client-sesv2";
import {
  CreateTopicCommand,
  InternalErrorException,
  PublishCommand,
  SNSClient,
  ThrottledException,
} from "@aws-sdk/client-sns";
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  SendMessageCommand,
  SQSClient,
  RequestThrottled,
  type Message,
} from "@aws-sdk/client-sqs";
// The classification the clients' retry strategy applies (a dependency of every @aws-sdk client).
import { isThrottlingError as sdkIsThrottling, isTransientError as sdkIsTransient } from "@smithy/core/retry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  faultsFromEnv,
  parseFaultConfig,
  type Devcloud,
  type FaultConfigInput,
  type FaultState,
} from "../src/index.ts";
import { receiveAll, startTestDevcloud, temporaryDirectory } from "./support/devcloud.ts";

type Service = "sqs" | "sns" | "dynamodb" | "events" | "s3" | "ses" | "bedrock";
type Metadata = { $metadata: { httpStatusCode?: number; attempts?: number } };
type SdkError = Error & Metadata & { $fault?: "client" | "server"; code?: string };

const isThrottlingError = (error: SdkError) =>
  sdkIsThrottling(error as unknown as Parameters<typeof sdkIsThrottling>[0]);
const isTransientError = (error: SdkError) => sdkIsTransient(error as unknown as Parameters<typeof sdkIsTransient>[0]);

const HAIKU = "anthropic.claude-3-haiku-20240307-v1:0";

describe("fault injection at the devcloud edge, seen through the AWS SDK v3 clients", () => {
  let devcloud: Devcloud;
  let topicArn: string;
  const table = "faults-table";
  const bucket = "faults-bucket";
  const clients: { destroy(): void }[] = [];

  function client<T extends { destroy(): void }>(made: T): T {
    clients.push(made);
    return made;
  }

  /** One call per service, on a client with `maxAttempts` (undefined: the SDK's default, 3). */
  function probe(service: Service, maxAttempts?: number): { operation: string; call: () => Promise<Metadata> } {
    const config = { ...devcloud.clientConfig, ...(maxAttempts ? { maxAttempts } : {}) };
    switch (service) {
      case "sqs": {
        const sqs = client(new SQSClient(config));
        return {
          operation: "GetQueueUrl",
          call: () => sqs.send(new GetQueueUrlCommand({ QueueName: "faults-queue" })),
        };
      }
      case "sns": {
        const sns = client(new SNSClient(config));
        return {
          operation: "Publish",
          call: () => sns.send(new PublishCommand({ TopicArn: topicArn, Message: "hello" })),
        };
      }
      case "dynamodb": {
        const dynamodb = client(new DynamoDBClient(config));
        return {
          operation: "GetItem",
          call: () => dynamodb.send(new GetItemCommand({ TableName: table, Key: { id: { S: "x" } } })),
        };
      }
      case "events": {
        const events = client(new EventBridgeClient(config));
        return {
          operation: "PutEvents",
          call: () =>
            events.send(
              new PutEventsCommand({ Entries: [{ Source: "quire.test", DetailType: "Probe", Detail: "{}" }] }),
            ),
        };
      }
      case "s3": {
        const s3 = client(new S3Client({ ...config, forcePathStyle: true }));
        return {
          operation: "PutObject",
          call: () => s3.send(new PutObjectCommand({ Bucket: bucket, Key: "probe.txt", Body: "probe" })),
        };
      }
      case "ses": {
        const ses = client(new SESv2Client(config));
        return {
          operation: "SendEmail",
          call: () =>
            ses.send(
              new SendEmailCommand({
                FromEmailAddress: "quire@example.com",
                Destination: { ToAddresses: ["faults@example.com"] },
                Content: { Simple: { Subject: { Data: "probe" }, Body: { Text: { Data: "probe" } } } },
              }),
            ),
        };
      }
      case "bedrock": {
        // BedrockRuntimeClient's default handler: HTTP/2.
        const bedrock = client(new BedrockRuntimeClient(config));
        return {
          operation: "Converse",
          call: () =>
            bedrock.send(
              new ConverseCommand({
                modelId: HAIKU,
                messages: [{ role: "user", content: [{ text: "Say hi." }] }],
                inferenceConfig: { maxTokens: 20 },
              }),
            ),
        };
      }
    }
  }

  async function failure(promise: Promise<unknown>): Promise<SdkError> {
    try {
      await promise;
    } catch (error) {
      return error as SdkError;
    }
    throw new Error("expected the call to fail, but it succeeded");
  }

  async function admin(
    method: string,
    body?: unknown,
  ): Promise<{ status: number; json: FaultState & { message?: string } }> {
    const response = await fetch(`${devcloud.endpoint}/_quire/faults`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, json: (await response.json()) as FaultState & { message?: string } };
  }

  beforeAll(async () => {
    devcloud = await startTestDevcloud({ topology: false });
    const config = devcloud.clientConfig;
    await client(new SQSClient(config)).send(new CreateQueueCommand({ QueueName: "faults-queue" }));
    ({ TopicArn: topicArn } = (await client(new SNSClient(config)).send(
      new CreateTopicCommand({ Name: "faults-topic" }),
    )) as { TopicArn: string });
    await client(new DynamoDBClient(config)).send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    await client(new S3Client({ ...config, forcePathStyle: true })).send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(async () => {
    for (const made of clients) made.destroy();
    await devcloud?.stop();
  });

  describe("each injected error is AWS's own answer for that service's protocol", () => {
    // [service, kind, code asked for, the SDK's error name, status, how the retry strategy classes it, the modeled
    // class]
    const cases: Array<
      [
        Service,
        string,
        string | undefined,
        string,
        number,
        "transient" | "throttling",
        (abstract new (...args: never[]) => Error)?,
      ]
    > = [
      ["sqs", "InternalError", undefined, "InternalError", 500, "transient"],
      ["sqs", "ServiceUnavailable", undefined, "ServiceUnavailable", 503, "transient"],
      ["sqs", "Throttling", undefined, "RequestThrottled", 403, "throttling", RequestThrottled],
      ["sqs", "Throttling", "ThrottlingException", "ThrottlingException", 400, "throttling"],
      ["sns", "InternalError", undefined, "InternalErrorException", 500, "transient", InternalErrorException],
      ["sns", "ServiceUnavailable", undefined, "ServiceUnavailable", 503, "transient"],
      ["sns", "Throttling", undefined, "ThrottledException", 429, "throttling", ThrottledException],
      ["dynamodb", "InternalError", undefined, "InternalServerError", 500, "transient", InternalServerError],
      ["dynamodb", "ServiceUnavailable", undefined, "ServiceUnavailable", 503, "transient"],
      [
        "dynamodb",
        "Throttling",
        undefined,
        "ProvisionedThroughputExceededException",
        400,
        "throttling",
        ProvisionedThroughputExceededException,
      ],
      ["dynamodb", "Throttling", "ThrottlingException", "ThrottlingException", 400, "throttling"],
      ["dynamodb", "Throttling", "RequestLimitExceeded", "RequestLimitExceeded", 400, "throttling"],
      ["events", "InternalError", undefined, "InternalException", 500, "transient", InternalException],
      ["events", "ServiceUnavailable", undefined, "ServiceUnavailable", 503, "transient"],
      ["events", "Throttling", undefined, "ThrottlingException", 400, "throttling", EventsThrottlingException],
      ["s3", "InternalError", undefined, "InternalError", 500, "transient"],
      ["s3", "ServiceUnavailable", undefined, "ServiceUnavailable", 503, "transient"],
      ["s3", "Throttling", undefined, "SlowDown", 503, "throttling"],
      ["ses", "InternalError", undefined, "InternalServiceErrorException", 500, "transient"],
      ["ses", "ServiceUnavailable", undefined, "ServiceUnavailable", 503, "transient"],
      ["ses", "Throttling", undefined, "TooManyRequestsException", 429, "throttling", TooManyRequestsException],
      ["bedrock", "InternalError", undefined, "InternalServerException", 500, "transient"],
      [
        "bedrock",
        "ServiceUnavailable",
        undefined,
        "ServiceUnavailableException",
        503,
        "transient",
        ServiceUnavailableException,
      ],
      ["bedrock", "Throttling", undefined, "ThrottlingException", 429, "throttling", BedrockThrottlingException],
    ];

    it.each(cases)("%s %s %s → %s %i (%s)", async (service, kind, code, name, status, classification, modeled) => {
      const { operation, call } = probe(service, 1);
      devcloud.faults.configure({
        rules: [
          { service, operations: [operation], error: kind as "InternalError", ...(code ? { code } : {}), count: 1 },
        ],
      });
      const error = await failure(call());
      expect(error.name).toBe(name);
      expect(error.$metadata.httpStatusCode).toBe(status);
      expect(error.$metadata.attempts).toBe(1);
      expect(error.$fault).toBe(status >= 500 ? "server" : "client");
      if (modeled) expect(error).toBeInstanceOf(modeled);
      if (classification === "throttling") expect(isThrottlingError(error)).toBe(true);
      else expect(isTransientError(error)).toBe(true);
      // A count of 1: the next call is not faulted.
      await expect(call()).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
    });

    it("ConnectionReset drops the connection without an answer: a transient network error to the SDK", async () => {
      for (const service of ["sqs", "bedrock"] as const) {
        const { call } = probe(service, 1);
        devcloud.faults.configure({ rules: [{ service, error: "ConnectionReset", count: 1 }] });
        const error = await failure(call());
        expect(error.$metadata.httpStatusCode).toBeUndefined();
        expect(isTransientError(error)).toBe(true);
        if (service === "sqs") expect(error.code).toBe("ECONNRESET"); // HTTP/1.1: a TCP reset
      }
    });

    it("a faulted request never reaches the emulator", async () => {
      const sqs = client(new SQSClient({ ...devcloud.clientConfig, maxAttempts: 1 }));
      const dynamodb = client(new DynamoDBClient({ ...devcloud.clientConfig, maxAttempts: 1 }));
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "faults-untouched" }));
      devcloud.faults.configure({
        rules: [
          { service: "sqs", operations: ["SendMessage"], error: "InternalError", count: 1 },
          { service: "dynamodb", operations: ["PutItem"], error: "Throttling", count: 1 },
        ],
      });
      await failure(sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "lost?" })));
      await failure(dynamodb.send(new PutItemCommand({ TableName: table, Item: { id: { S: "untouched" } } })));
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
      );
      expect(Attributes?.ApproximateNumberOfMessages).toBe("0");
      const { Item } = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { id: { S: "untouched" } } }));
      expect(Item).toBeUndefined();
    });
  });

  describe("the SDK's own retries ride out transient faults, as in production", () => {
    const services: Service[] = ["sqs", "sns", "dynamodb", "events", "s3", "ses", "bedrock"];

    it.each(services)("%s: two 5xx answers, then success on the SDK's third attempt", async (service) => {
      const { operation, call } = probe(service);
      devcloud.faults.configure({
        rules: [
          { service, operations: [operation], error: "InternalError", count: 1 },
          { service, operations: [operation], error: "ServiceUnavailable", count: 1 },
        ],
      });
      const output = await call();
      expect(output.$metadata).toMatchObject({ httpStatusCode: 200, attempts: 3 });
      expect(devcloud.faults.state().rules.map((rule) => rule.injected)).toEqual([1, 1]);
    });

    it("a throttling answer is retried (SNS's 429 Throttled)", async () => {
      const { call } = probe("sns");
      devcloud.faults.configure({ rules: [{ service: "sns", error: "Throttling", count: 1 }] });
      expect((await call()).$metadata).toMatchObject({ httpStatusCode: 200, attempts: 2 });
    });

    it("a reset connection is retried, over HTTP/1.1 (SQS) and HTTP/2 (Bedrock)", async () => {
      for (const service of ["sqs", "bedrock"] as const) {
        const { call } = probe(service);
        devcloud.faults.configure({ rules: [{ service, error: "ConnectionReset", count: 1 }] });
        expect((await call()).$metadata).toMatchObject({ httpStatusCode: 200, attempts: 2 });
      }
    });
  });

  describe("windows, rates and seeds", () => {
    const outcomes = async (call: () => Promise<unknown>, times: number) => {
      let pattern = "";
      for (let i = 0; i < times; i++)
        pattern += await call().then(
          () => ".",
          () => "F",
        );
      return pattern;
    };

    it("rate 1 with count N fails exactly the next N matching calls, then passes", async () => {
      const { call } = probe("sqs", 1);
      devcloud.faults.configure({
        rules: [{ service: "sqs", operations: ["GetQueueUrl"], error: "ServiceUnavailable", count: 3 }],
      });
      // Other operations do not match the rule and do not use up its count.
      await client(new SQSClient({ ...devcloud.clientConfig, maxAttempts: 1 })).send(new ListQueuesCommand({}));
      expect(await outcomes(call, 6)).toBe("FFF...");
      expect(devcloud.faults.state().rules[0]).toMatchObject({ state: "expired", matched: 3, injected: 3 });
    });

    it("skip lets the first calls through before the count starts", async () => {
      const { call } = probe("dynamodb", 1);
      devcloud.faults.configure({ rules: [{ service: "dynamodb", error: "Throttling", skip: 2, count: 2 }] });
      expect(await outcomes(call, 5)).toBe("..FF.");
    });

    it("a time window relative to when the config was applied", async () => {
      const { call } = probe("sqs", 1);
      devcloud.faults.configure({ rules: [{ service: "sqs", error: "InternalError", from: "300ms", until: 1300 }] });
      expect(await outcomes(call, 1)).toBe(".");
      expect(devcloud.faults.state().rules[0]!.state).toBe("pending");
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect(await outcomes(call, 1)).toBe("F");
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await outcomes(call, 1)).toBe(".");
      expect(devcloud.faults.state().rules[0]!.state).toBe("expired");
    });

    it("the same seed gives the same sequence; another seed another one", async () => {
      const { call } = probe("sqs", 1);
      const config = (seed: number): FaultConfigInput => ({
        seed,
        rules: [{ service: "sqs", error: "InternalError", rate: 0.5 }],
      });
      devcloud.faults.configure(config(42));
      const first = await outcomes(call, 24);
      devcloud.faults.configure(config(42));
      const again = await outcomes(call, 24);
      devcloud.faults.configure(config(43));
      const other = await outcomes(call, 24);
      expect(again).toBe(first);
      expect(first).toMatch(/F/);
      expect(first).toMatch(/\./);
      expect(other).not.toBe(first);
    });

    it("Latency delays the request, which then reaches the emulator", async () => {
      const { call } = probe("sqs", 1);
      devcloud.faults.configure({ rules: [{ service: "sqs", error: "Latency", latencyMs: 400, count: 1 }] });
      const started = performance.now();
      await expect(call()).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
      expect(performance.now() - started).toBeGreaterThanOrEqual(390);
      const quick = performance.now();
      await call();
      expect(performance.now() - quick).toBeLessThan(390);
    });
  });

  describe("PUT / GET / DELETE /_quire/faults", () => {
    it("changes the faults at run time, reports them, and clears them", async () => {
      const { call } = probe("events", 1);
      const put = await admin("PUT", {
        seed: 3,
        rules: [{ id: "bus-down", service: "events", error: "InternalError" }],
      });
      expect(put.status).toBe(200);
      expect(put.json).toMatchObject({
        active: true,
        seed: 3,
        rules: [{ id: "bus-down", state: "active", matched: 0, injected: 0 }],
      });
      expect((await failure(call())).name).toBe("InternalException");
      expect((await failure(call())).name).toBe("InternalException");
      const get = await admin("GET");
      expect(get.json.rules[0]).toMatchObject({ id: "bus-down", matched: 2, injected: 2 });
      const cleared = await admin("DELETE");
      expect(cleared.json).toMatchObject({ active: false, rules: [] });
      await expect(call()).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
    });

    it("refuses an invalid config, naming the field, and keeps the one in force", async () => {
      await admin("PUT", { rules: [{ service: "sqs", error: "Throttling", count: 1 }] });
      const refused = await admin("PUT", { rules: [{ service: "sqs", error: "Throttling", rate: 2 }] });
      expect(refused.status).toBe(400);
      expect(refused.json.message).toMatch(/rules\[0\]\.rate/);
      expect((await admin("GET")).json.rules).toHaveLength(1);
    });

    it("never faults devcloud's own endpoints", async () => {
      devcloud.faults.configure({ rules: [{ error: "InternalError" }, { error: "ConnectionReset" }] });
      expect((await fetch(`${devcloud.endpoint}/_quire/health`)).status).toBe(200);
      expect((await admin("GET")).status).toBe(200);
      expect((await admin("DELETE")).json.active).toBe(false);
    });
  });

  describe("SQS duplicate deliveries", () => {
    async function queue(name: string) {
      const sqs = client(new SQSClient(devcloud.clientConfig));
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
      return { sqs, url: QueueUrl! };
    }

    it("delivers a received message again: same body, attributes and MessageId, its own receipt handle", async () => {
      const { sqs, url } = await queue("faults-duplicates");
      devcloud.faults.configure({ duplicateDeliveries: { rate: 1, copies: 2 } });
      for (const n of [1, 2, 3]) {
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: url,
            MessageBody: `job-${n}`,
            MessageAttributes: { n: { DataType: "Number", StringValue: String(n) } },
          }),
        );
      }
      const received = await receiveAll(sqs, url, 6, 5000);
      const byBody = new Map<string, Message[]>();
      for (const message of received) byBody.set(message.Body!, [...(byBody.get(message.Body!) ?? []), message]);
      expect([...byBody.keys()].sort()).toEqual(["job-1", "job-2", "job-3"]);
      for (const [body, deliveries] of byBody) {
        expect(deliveries).toHaveLength(2);
        const [first, second] = deliveries as [Message, Message];
        expect(second.MessageId).toBe(first.MessageId);
        expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);
        expect(second.MessageAttributes?.n?.StringValue).toBe(body.slice(4));
        expect(second.Attributes?.SentTimestamp).toBe(first.Attributes?.SentTimestamp);
      }
      expect(devcloud.faults.state().duplicateDeliveries?.stats).toMatchObject({
        received: 3,
        duplicated: 3,
        copiesSent: 3,
        copiesReceived: 3,
      });
      // Each delivery is deleted on its own; then the queue is empty.
      for (const message of received)
        await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle! }));
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        }),
      );
      expect(Attributes).toMatchObject({
        ApproximateNumberOfMessages: "0",
        ApproximateNumberOfMessagesNotVisible: "0",
      });
    });

    it("copies: 3 delivers three times; queues limits it to the named queues", async () => {
      const three = await queue("faults-three");
      const spared = await queue("faults-spared");
      devcloud.faults.configure({ duplicateDeliveries: { rate: 1, copies: 3, queues: ["faults-three"] } });
      await three.sqs.send(new SendMessageCommand({ QueueUrl: three.url, MessageBody: "thrice" }));
      await spared.sqs.send(new SendMessageCommand({ QueueUrl: spared.url, MessageBody: "once" }));
      expect((await receiveAll(three.sqs, three.url, 3, 5000)).map((m) => m.Body)).toEqual([
        "thrice",
        "thrice",
        "thrice",
      ]);
      expect((await receiveAll(spared.sqs, spared.url, 2, 1500)).map((m) => m.Body)).toEqual(["once"]);
    });
  });
});

describe("devcloud started with a fault config", () => {
  it("provisions the topology unfaulted, then applies the config", async () => {
    const devcloud = await startTestDevcloud({ faults: { seed: 9, rules: [{ error: "InternalError" }] } });
    try {
      expect(devcloud.resources.queueUrls.summarizer).toBeDefined();
      const sqs = new SQSClient({ ...devcloud.clientConfig, maxAttempts: 1 });
      await expect(sqs.send(new ListQueuesCommand({}))).rejects.toMatchObject({
        name: "InternalError",
        $metadata: { httpStatusCode: 500 },
      });
      sqs.destroy();
      expect(devcloud.faults.state()).toMatchObject({ seed: 9, rules: [{ injected: 1 }] });
    } finally {
      await devcloud.stop();
    }
  });

  it("refuses an invalid config before starting anything", async () => {
    await expect(
      startTestDevcloud({ topology: false, faults: { rules: [{ error: "Latency" }] } as FaultConfigInput }),
    ).rejects.toThrow(/latencyMs/);
  });
});

describe("the fault config", () => {
  it("validates rules and names what is wrong", () => {
    expect(
      parseFaultConfig({ rules: [{ error: "Latency", latencyMs: 5, from: "1.5s", until: "2m" }] }).rules[0],
    ).toMatchObject({ rate: 1, from: 1500, until: 120_000 });
    expect(() => parseFaultConfig({ rules: [{ error: "Boom" }] })).toThrow(/rules\[0\]\.error/);
    expect(() => parseFaultConfig({ rules: [{ error: "Throttling", rate: -0.1 }] })).toThrow(/rules\[0\]\.rate/);
    expect(() => parseFaultConfig({ rules: [{ error: "Throttling", code: "SlowDown" }] })).toThrow(/needs a service/);
    expect(() => parseFaultConfig({ rules: [{ service: "sqs", error: "Throttling", code: "SlowDown" }] })).toThrow(
      /RequestThrottled or ThrottlingException/,
    );
    expect(() => parseFaultConfig({ rules: [{ service: "sqs", error: "Throttling", windw: 1 }] })).toThrow(/windw/);
    expect(() => parseFaultConfig({ rules: [{ error: "InternalError", from: "10s", until: "5s" }] })).toThrow(/until/);
    expect(() => parseFaultConfig({ duplicateDeliveries: { rate: 0.5, copies: 4 } })).toThrow(/copies/);
    expect(parseFaultConfig({})).toEqual({ seed: 1, rules: [] });
  });

  it("reads QUIRE_DEVCLOUD_FAULTS as inline JSON or a file path", () => {
    const json = '{"seed": 5, "rules": [{"service": "s3", "error": "Throttling", "rate": 0.2}]}';
    const directory = temporaryDirectory("faults");
    try {
      const file = join(directory.path, "faults.json");
      writeFileSync(file, json);
      expect(faultsFromEnv({ QUIRE_DEVCLOUD_FAULTS: json })).toEqual(JSON.parse(json));
      expect(faultsFromEnv({ QUIRE_DEVCLOUD_FAULTS: file })).toEqual(JSON.parse(json));
      expect(faultsFromEnv({})).toBeUndefined();
      expect(() => faultsFromEnv({ QUIRE_DEVCLOUD_FAULTS: '{"rules": [{"error": "Slow"}]}' })).toThrow(
        /QUIRE_DEVCLOUD_FAULTS/,
      );
      expect(() => faultsFromEnv({ QUIRE_DEVCLOUD_FAULTS: join(directory.path, "missing.json") })).toThrow(
        /cannot read/,
      );
    } finally {
      directory.remove();
    }
  });
});
