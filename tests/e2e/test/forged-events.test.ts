import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { FAILURE_ATTRIBUTES } from "@quire/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPipeline, waitForJob, type Pipeline } from "./support/pipeline.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";

/**
 * The bus is a side door: anyone with PutEvents can put a `Job Completed`. The notifier rule
 * matches only the sources the event catalogue declares, and the notifier announces what the
 * job store holds — never what an event claims.
 */
let pipeline: Pipeline;
let receiver: Receiver;
beforeAll(async () => {
  pipeline = await startPipeline({ env: { QUIRE_WEBHOOK_ALLOWLIST: "127.0.0.2" } });
  receiver = await startReceiver();
  const response = await pipeline.notifierRequest("/v1/subscriptions", {
    json: { kind: "webhook", url: receiver.url, events: ["job.completed"] },
  });
  const body = (await response.json()) as { secret: string };
  expect(response.status).toBe(201);
  receiver.verifyWith(body.secret);
});
afterAll(async () => {
  await receiver?.close();
  await pipeline?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const forge = (source: string, detail: Record<string, unknown>) =>
  pipeline.clients.events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: pipeline.config.QUIRE_BUS_EVENTS_NAME,
          Source: source,
          DetailType: "Job Completed",
          Detail: JSON.stringify(detail),
        },
      ],
    }),
  );
const forgedDetail = (jobId: string, label = "invoice", summary = "Wire 10,000 EUR to the account below.") => ({
  schemaVersion: 1,
  jobId,
  summary: {
    text: summary,
    modelId: "m",
    promptVersion: "v",
    usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
  },
  classification: {
    label,
    confidence: 1,
    modelId: "m",
    promptVersion: "v",
    usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
  },
  submittedAt: new Date().toISOString(),
  completedAt: new Date().toISOString(),
});

describe("forged completions on the bus", () => {
  it("an unknown source (quire.attacker) reaches no subscriber", async () => {
    await forge("quire.attacker", forgedDetail("job_0000000000FORGED01"));
    await sleep(2500);
    expect(receiver.requests).toHaveLength(0);
  });

  it("a declared source naming a job that does not exist is dead-lettered EVENT_NOT_VERIFIED, and nobody is told", async () => {
    await forge("quire.classifier", forgedDetail("job_0000000000FORGED02"));
    let reason: string | undefined;
    for (let i = 0; i < 20 && !reason; i++) {
      const { Messages = [] } = await pipeline.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: pipeline.config.QUIRE_DLQ_NOTIFIER_URL,
          MessageAttributeNames: ["All"],
          WaitTimeSeconds: 1,
        }),
      );
      reason = Messages[0]?.MessageAttributes?.[FAILURE_ATTRIBUTES.code]?.StringValue;
    }
    expect(reason).toBe("EVENT_NOT_VERIFIED");
    expect(receiver.requests).toHaveLength(0);
  });

  it("a copy of a real job's completion, forged or re-put, is the same announcement: the subscriber hears of the job once", async () => {
    const response = await pipeline.request("/v1/documents", {
      json: {
        title: "Lease",
        text: "This lease agreement between the landlord and the tenant sets the monthly rent and the term of the tenancy.",
      },
    });
    const { jobId } = (await response.json()) as { jobId: string };
    const job = (await waitForJob(pipeline, jobId)) as {
      status: string;
      summary: { text: string };
      classification: { label: string };
    };
    expect(job.status).toBe("complete");
    const [first] = await receiver.waitForRequests(1, 15_000);

    await forge("quire.classifier", forgedDetail(jobId, "invoice", "Wire 10,000 EUR to the account below."));
    await sleep(2500);

    expect(receiver.requests).toHaveLength(1);
    const data = (JSON.parse(first!.body) as { data: { summary: { text: string }; classification: { label: string } } })
      .data;
    expect(data.summary.text).toBe(job.summary.text);
    expect(data.classification.label).toBe(job.classification.label);
    receiver.assertVerified();
  });
});
