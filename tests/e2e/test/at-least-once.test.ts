import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, type Message } from "@aws-sdk/client-sqs";
import { createSummarizer } from "@quire/summarizer";
import { lambdaHandlerFor, stageDependencies } from "@quire/pipeline";
import { createLogger, startLocalRunner } from "@quire/runtime";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectEvents, ofType } from "./support/bus-spy.ts";
import { startPipeline, waitForJob, type Pipeline } from "./support/pipeline.ts";

async function drain(pipeline: Pipeline, queueUrl: string, count: number): Promise<Message[]> {
  const messages: Message[] = [];
  const deadline = Date.now() + 10_000;
  while (messages.length < count && Date.now() < deadline) {
    const { Messages = [] } = await pipeline.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
    );
    messages.push(...Messages);
  }
  return messages;
}

const converseCalls = (pipeline: Pipeline) =>
  Object.values(pipeline.devcloud.bedrock.stats()).reduce((sum, model) => sum + model.calls, 0);

describe("at-least-once delivery", () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({ bedrock: { timeScale: 0.02 }, workers: false });
  });
  afterAll(() => pipeline.stop());

  it("every message delivered twice still means one Converse call per stage and one Job Completed per job", async () => {
    const jobIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await pipeline.request("/v1/documents", {
        json: { text: `Invoice ${i}. Amount due ${i}00.00. Total due in 30 days.` },
      });
      jobIds.push(((await response.json()) as { jobId: string }).jobId);
    }
    for (const queueUrl of [pipeline.config.QUIRE_QUEUE_SUMMARIZER_URL, pipeline.config.QUIRE_QUEUE_CLASSIFIER_URL]) {
      const messages = await drain(pipeline, queueUrl, 5);
      expect(messages).toHaveLength(5);
      for (const m of messages) {
        for (let copy = 0; copy < 2; copy++)
          await pipeline.clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: m.Body! }));
        await pipeline.clients.sqs.send(
          new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }),
        );
      }
    }
    const callsBefore = converseCalls(pipeline);
    pipeline.startWorkers();
    for (const jobId of jobIds) expect((await waitForJob(pipeline, jobId)).status).toBe("complete");
    const events = await collectEvents(pipeline, (seen) => ofType(seen, "Job Completed").length >= 5);
    events.push(...(await collectEvents(pipeline, () => false, 2000)));
    await pipeline.stopWorkers();

    expect(converseCalls(pipeline) - callsBefore).toBe(10);
    expect(
      ofType(events, "Job Completed")
        .map((e) => e.detail.jobId)
        .sort(),
    ).toEqual([...jobIds].sort());
  });

  it("the same document submitted twice is answered from the result cache, without calling Bedrock again", async () => {
    pipeline.startWorkers();
    const text = "Dear Ms. Ray, thank you for the quick reply about the lease. Yours sincerely, Tom Quill.";
    const first = (await (await pipeline.request("/v1/documents?wait=20", { json: { text } })).json()) as {
      status: string;
    };
    expect(first.status).toBe("complete");
    const callsBefore = converseCalls(pipeline);
    const second = (await (
      await pipeline.request("/v1/documents?wait=20", { json: { text, title: "again" } })
    ).json()) as { status: string; jobId: string };
    await pipeline.stopWorkers();
    expect(second.status).toBe("complete");
    expect(converseCalls(pipeline) - callsBefore).toBe(0);
  });

  it("a worker stopped mid-message releases it, and the job still completes exactly once", async () => {
    // 40 s of simulated model time (0.8 s real at this time scale): long enough to stop mid-call.
    pipeline.devcloud.bedrock.configureModel(pipeline.config.QUIRE_MODEL_ID, {
      latency: { distribution: "fixed", meanMs: 40_000, jitterMs: 0, perOutputTokenMs: 0 },
    });
    try {
      const { jobId } = (await (
        await pipeline.request("/v1/documents", {
          json: { text: "INVOICE 7. Amount due 70.00. Total due in 30 days." },
        })
      ).json()) as { jobId: string };
      const stopped = startLocalRunner(
        createSummarizer(stageDependencies(pipeline.config, pipeline.clients, "summarizer")),
        {
          sqs: pipeline.clients.sqs,
          queueUrl: pipeline.config.QUIRE_QUEUE_SUMMARIZER_URL,
          deadLetterQueueUrl: pipeline.config.QUIRE_DLQ_SUMMARIZER_URL,
          waitTimeSeconds: 1,
          shutdownGraceMs: 0,
          log: createLogger({}, () => {}),
        },
      );
      const deadline = Date.now() + 10_000;
      while (stopped.stats.inFlight === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(stopped.stats.inFlight).toBe(1);
      await stopped.stop();
      expect(stopped.stats.succeeded).toBe(0);

      pipeline.startWorkers();
      expect((await waitForJob(pipeline, jobId, 30_000)).status).toBe("complete");
      const events = await collectEvents(pipeline, (seen) =>
        ofType(seen, "Job Completed").some((e) => e.detail.jobId === jobId),
      );
      events.push(...(await collectEvents(pipeline, () => false, 1500)));
      await pipeline.stopWorkers();
      expect(ofType(events, "Job Completed").filter((e) => e.detail.jobId === jobId)).toHaveLength(1);
    } finally {
      pipeline.devcloud.bedrock.configureModel(pipeline.config.QUIRE_MODEL_ID, {
        latency: { distribution: "normal", meanMs: 300, jitterMs: 75, perOutputTokenMs: 5 },
      });
    }
  });

  it("a message that is not a document.submitted lands in the DLQ with its reason", async () => {
    await pipeline.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: pipeline.config.QUIRE_QUEUE_SUMMARIZER_URL,
        MessageBody: '{"hello":"world"}',
      }),
    );
    pipeline.startWorkers();
    const [dead] = await drain(pipeline, pipeline.config.QUIRE_DLQ_SUMMARIZER_URL, 1);
    await pipeline.stopWorkers();
    expect(dead?.Body).toBe('{"hello":"world"}');
    expect(dead?.MessageAttributes?.["quire.failure.code"]?.StringValue).toBe("SCHEMA_VIOLATION");
  });

  it("the Lambda host processes a real SQS-shaped event and reports no failures", async () => {
    const response = await pipeline.request("/v1/documents", {
      json: { text: "Dear Ms. Ray, thank you for your letter. Yours sincerely, Tom." },
    });
    const { jobId } = (await response.json()) as { jobId: string };
    const [message] = await drain(pipeline, pipeline.config.QUIRE_QUEUE_SUMMARIZER_URL, 1);
    const event: SQSEvent = {
      Records: [
        {
          messageId: message!.MessageId!,
          receiptHandle: message!.ReceiptHandle!,
          body: message!.Body!,
          attributes: {
            ApproximateReceiveCount: message!.Attributes?.ApproximateReceiveCount ?? "1",
            SentTimestamp: message!.Attributes?.SentTimestamp ?? String(Date.now()),
            SenderId: "devcloud",
            ApproximateFirstReceiveTimestamp: String(Date.now()),
          },
          messageAttributes: {},
          md5OfBody: message!.MD5OfBody!,
          eventSource: "aws:sqs",
          eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:quire-summarizer",
          awsRegion: "us-east-1",
        },
      ],
    };
    const handler = lambdaHandlerFor(
      createSummarizer(stageDependencies(pipeline.config, pipeline.clients, "summarizer")),
      pipeline.config,
      pipeline.clients,
      "summarizer",
    );
    const result = await handler(event, {} as never);
    expect(result).toEqual({ batchItemFailures: [] });
    const job = (await (await pipeline.request(`/v1/jobs/${jobId}`)).json()) as {
      stages: { summary: { status: string } };
    };
    expect(job.stages.summary.status).toBe("done");
  });
});

describe("a job that can never succeed", () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({ bedrock: { timeScale: 0.02 }, modelId: "acme.no-such-model-v1" });
  });
  afterAll(() => pipeline.stop());

  it("is failed with the reason, announced by one Job Failed, and dead-lettered with that reason", async () => {
    const response = await pipeline.request("/v1/documents", { json: { text: "Some text that no model will read." } });
    const { jobId } = (await response.json()) as { jobId: string };
    const job = (await waitForJob(pipeline, jobId)) as { status: string; error: { code: string; message: string } };
    expect(job.status).toBe("failed");
    expect(job.error.code).toBe("MODEL_REQUEST_INVALID");
    const events = await collectEvents(pipeline, (seen) => ofType(seen, "Job Failed").length > 0);
    events.push(...(await collectEvents(pipeline, () => false, 1500)));
    expect(ofType(events, "Job Failed").map((e) => e.detail.jobId)).toEqual([jobId]);
    const [dead] = await drain(pipeline, pipeline.config.QUIRE_DLQ_SUMMARIZER_URL, 1);
    expect(dead?.MessageAttributes?.["quire.failure.code"]?.StringValue).toBe("MODEL_REQUEST_INVALID");
  });
});
