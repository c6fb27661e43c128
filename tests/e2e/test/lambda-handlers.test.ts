import { ReceiveMessageCommand, SendMessageCommand, type Message } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2, Context, SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkResponse } from "./support/openapi.ts";
import { API_KEY, startPipeline, waitForJob, type Pipeline } from "./support/pipeline.ts";

type BatchHandler = (event: SQSEvent, context: Context) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
const lambdaContext = { awsRequestId: "test", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

function sqsEvent(messages: Message[], queueName: string): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body!,
      attributes: {
        ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? "1",
        SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
        SenderId: "devcloud",
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody!,
      eventSource: "aws:sqs",
      eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${queueName}`,
      awsRegion: "us-east-1",
    })),
  };
}

/**
 * The modules Lambda would load (`services/<name>/src/lambda.ts`), imported for real with the
 * environment a deployment sets, each driven with an SQS batch built from messages received
 * from devcloud — the workers are off, so the Lambda handlers do all the work.
 */
describe("each service's Lambda handler module", () => {
  let pipeline: Pipeline;
  let handlers: {
    summarizer: BatchHandler;
    classifier: BatchHandler;
    notifier: BatchHandler;
    api: (
      e: APIGatewayProxyEventV2,
      c: Context,
    ) => Promise<{ statusCode: number; body: string; headers?: Record<string, string> }>;
  };

  beforeAll(async () => {
    pipeline = await startPipeline({ bedrock: { timeScale: 0.02 }, workers: false });
    Object.assign(process.env, pipeline.devcloud.env, { QUIRE_API_KEY: API_KEY, QUIRE_LOG_LEVEL: "silent" });
    handlers = {
      summarizer: (await import("@quire/summarizer/lambda")).handler as unknown as BatchHandler,
      classifier: (await import("@quire/classifier/lambda")).handler as unknown as BatchHandler,
      notifier: (await import("@quire/notifier/lambda")).handler as unknown as BatchHandler,
      api: (await import("@quire/ingestion/lambda")).api as never,
    };
  });
  afterAll(() => pipeline.stop());

  const receive = async (queueUrl: string, count: number) => {
    const messages: Message[] = [];
    for (let i = 0; i < 10 && messages.length < count; i++) {
      const { Messages = [] } = await pipeline.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ["All"],
        }),
      );
      messages.push(...Messages);
    }
    return messages;
  };

  it("the API handler answers an HTTP API event; the stage and notifier handlers take a document through to Job Completed", async () => {
    const response = await handlers.api(
      {
        version: "2.0",
        routeKey: "$default",
        rawPath: "/v1/documents",
        rawQueryString: "",
        headers: { "x-api-key": API_KEY, "content-type": "application/json", host: "api.example.com" },
        body: JSON.stringify({ text: "INVOICE 12. Amount due 99.00. Total due in 30 days." }),
        isBase64Encoded: false,
        requestContext: {
          http: {
            method: "POST",
            path: "/v1/documents",
            protocol: "HTTP/1.1",
            sourceIp: "127.0.0.1",
            userAgent: "test",
          },
        },
      } as unknown as APIGatewayProxyEventV2,
      lambdaContext,
    );
    expect(response.statusCode).toBe(202);
    // Through the Lambda adapter too, the answer is what the OpenAPI document describes (support/setup.ts asserts it).
    checkResponse(
      "ingestion",
      "POST",
      "/v1/documents",
      response.statusCode,
      response.headers?.["content-type"] ?? null,
      response.body,
    );
    const { jobId } = JSON.parse(response.body) as { jobId: string };

    for (const [name, queueUrl] of [
      ["summarizer", pipeline.config.QUIRE_QUEUE_SUMMARIZER_URL],
      ["classifier", pipeline.config.QUIRE_QUEUE_CLASSIFIER_URL],
    ] as const) {
      const messages = await receive(queueUrl, 1);
      expect(await handlers[name](sqsEvent(messages, `quire-${name}`), lambdaContext)).toEqual({
        batchItemFailures: [],
      });
    }
    expect((await waitForJob(pipeline, jobId, 5000)).status).toBe("complete");

    const [jobCompleted] = await receive(pipeline.config.QUIRE_QUEUE_NOTIFIER_URL, 1);
    expect(JSON.parse(jobCompleted!.Body!)["detail-type"]).toBe("Job Completed");
    expect(await handlers.notifier(sqsEvent([jobCompleted!], "quire-notifier"), lambdaContext)).toEqual({
      batchItemFailures: [],
    });
  });

  it("dead-letters a poison message and reports no batch item failure for it", async () => {
    await pipeline.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: pipeline.config.QUIRE_QUEUE_NOTIFIER_URL, MessageBody: '{"not":"an event"}' }),
    );
    const messages = await receive(pipeline.config.QUIRE_QUEUE_NOTIFIER_URL, 1);
    expect(await handlers.notifier(sqsEvent(messages, "quire-notifier"), lambdaContext)).toEqual({
      batchItemFailures: [],
    });
    const [dead] = await receive(pipeline.config.QUIRE_DLQ_NOTIFIER_URL, 1);
    expect(dead?.Body).toBe('{"not":"an event"}');
  });
});
