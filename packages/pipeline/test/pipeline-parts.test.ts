import { execFileSync } from "node:child_process";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import { PermanentError } from "@quire/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients, createEventPublisher, loadDocumentText, type AwsClients } from "../src/index.ts";

let devcloud: Devcloud;
let clients: AwsClients;
beforeAll(async () => {
  devcloud = await startDevcloud({ port: 0, log: () => {} });
  clients = createAwsClients(devcloud.env);
});
afterAll(() => devcloud.stop());

const failed = {
  schemaVersion: 1 as const,
  jobId: "job_01JABCDEFGHJKMNPQRSTVWXYZ0",
  reason: { code: "MODEL_OUTPUT_INVALID", message: "label missing" },
  failedAt: "2026-11-23T10:00:00Z",
};

describe("the event publisher", () => {
  it("puts a catalogued event as quire.<service>, and the topology's rule routes it to the notifier", async () => {
    const events = createEventPublisher({
      client: clients.events,
      busName: devcloud.resources.busNames.events!,
      service: "summarizer",
    });
    await events.put("Job Failed", failed);
    const { Messages = [] } = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: devcloud.resources.queueUrls.notifier, WaitTimeSeconds: 2 }),
    );
    expect(JSON.parse(Messages[0]!.Body!)).toMatchObject({
      source: "quire.summarizer",
      "detail-type": "Job Failed",
      detail: failed,
    });
  });

  it("refuses a detail that breaks its schema before anything is put", async () => {
    const events = createEventPublisher({ client: clients.events, busName: "quire-events", service: "summarizer" });
    await expect(events.put("Job Failed", { ...failed, reason: { code: "lowercase", message: "x" } })).rejects.toThrow(
      /UPPER_SNAKE_CASE/,
    );
  });

  it("refuses an event type the service is not a declared source of", async () => {
    const events = createEventPublisher({ client: clients.events, busName: "quire-events", service: "notifier" });
    await expect(
      events.put("Summary Completed", {
        schemaVersion: 1,
        jobId: failed.jobId,
        summary: {
          text: "x",
          modelId: "m",
          promptVersion: "v",
          usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
        },
        completedAt: failed.failedAt,
      }),
    ).rejects.toThrow(/not a declared source/);
  });
});

describe("loading a document", () => {
  it("reads a claim check from S3", async () => {
    const bucket = devcloud.resources.bucketNames.documents!;
    await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "documents/a.txt", Body: "the text" }));
    expect(await loadDocumentText(clients.s3, { kind: "s3", bucket, key: "documents/a.txt", sizeBytes: 8 })).toBe(
      "the text",
    );
  });

  it("a claim check that points at nothing is a permanent DOCUMENT_MISSING failure", async () => {
    const bucket = devcloud.resources.bucketNames.documents!;
    const missing = loadDocumentText(clients.s3, { kind: "s3", bucket, key: "documents/none.txt", sizeBytes: 8 });
    await expect(missing).rejects.toBeInstanceOf(PermanentError);
    await expect(missing).rejects.toMatchObject({ code: "DOCUMENT_MISSING" });
  });
});

describe("AWS clients and X-Ray", () => {
  /** A fresh process: Tracer decides once, at import, whether it runs in Lambda. */
  const middlewareIn = (env: Record<string, string>) => {
    const script = `import { createAwsClients } from "${new URL("../src/index.ts", import.meta.url).pathname}";
      const clients = createAwsClients({ AWS_REGION: "us-east-1" });
      const stacks = Object.fromEntries(Object.entries(clients).map(([k, c]) => [k, c.middlewareStack.identify().join(" ")]));
      // cls-hooked (the X-Ray SDK's context) marks the process when it loads: process.namespaces.
      process.stdout.write(JSON.stringify({ stacks, xrayLoaded: "namespaces" in process }));`;
    const output = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      env: { PATH: process.env.PATH, ...env },
    }).toString();
    return JSON.parse(output) as { stacks: Record<string, string>; xrayLoaded: boolean };
  };

  it("in Lambda, every client's calls are traced as X-Ray subsegments", () => {
    const { stacks, xrayLoaded } = middlewareIn({
      AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
      AWS_LAMBDA_FUNCTION_NAME: "quire-summarizer",
    });
    expect(xrayLoaded).toBe(true);
    expect(Object.keys(stacks).sort()).toEqual([
      "bedrock",
      "bedrockJobs",
      "dynamodb",
      "events",
      "kms",
      "s3",
      "ses",
      "sns",
      "sqs",
    ]);
    for (const stack of Object.values(stacks)) expect(stack).toMatch(/XRaySDKInstrumentation/);
  });

  it("outside Lambda, clients are left untraced and the X-Ray SDK is not even loaded (its async hooks tax every promise)", () => {
    const { stacks, xrayLoaded } = middlewareIn({});
    for (const stack of Object.values(stacks)) expect(stack).not.toMatch(/XRaySDKInstrumentation/);
    expect(xrayLoaded).toBe(false);
  });
});
