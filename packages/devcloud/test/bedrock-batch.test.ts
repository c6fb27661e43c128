/** Bedrock batch inference through the real SDK clients over HTTP: jobs, their output in S3, their events. */
import {
  BedrockClient,
  CreateModelInvocationJobCommand,
  GetModelInvocationJobCommand,
  ListModelInvocationJobsCommand,
  StopModelInvocationJobCommand,
  type CreateModelInvocationJobCommandInput,
  type GetModelInvocationJobCommandOutput,
} from "@aws-sdk/client-bedrock";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devcloud } from "../src/index.ts";
import { receiveAll, startTestDevcloud, temporaryDirectory } from "./support/devcloud.ts";

const MODEL = "anthropic.claude-3-haiku-20240307-v1:0";
const ROLE = "arn:aws:iam::000000000000:role/bedrock-batch";
const TERMINAL = ["Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"];

/** One Converse-format record: summarise a short text. */
const record = (recordId: string, text = `Document ${recordId}. The parties agree to deliver goods by March.`) =>
  JSON.stringify({
    recordId,
    modelInput: {
      system: [{ text: "Summarize the document in one sentence." }],
      messages: [{ role: "user", content: [{ text }] }],
      inferenceConfig: { maxTokens: 200 },
    },
  });
const records = (count: number, prefix = "r") => Array.from({ length: count }, (_, i) => record(`${prefix}${i}`));

function clients(devcloud: Devcloud) {
  return {
    bedrock: new BedrockClient(devcloud.clientConfig),
    s3: new S3Client({ ...devcloud.clientConfig, forcePathStyle: true }),
  };
}

async function putInput(s3: S3Client, bucket: string, key: string, lines: string[]) {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${lines.join("\n")}\n` }));
}

async function text(s3: S3Client, bucket: string, key: string) {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return object.Body!.transformToString();
}

async function untilFinished(bedrock: BedrockClient, jobArn: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let job: GetModelInvocationJobCommandOutput;
  do {
    job = await bedrock.send(new GetModelInvocationJobCommand({ jobIdentifier: jobArn }));
    if (TERMINAL.includes(job.status ?? "")) return job;
    await new Promise((resolve) => setTimeout(resolve, 20));
  } while (Date.now() < deadline);
  throw new Error(`job ${jobArn} still ${job.status} after ${timeoutMs} ms`);
}

const jobInput = (
  name: string,
  input: string,
  overrides: Partial<CreateModelInvocationJobCommandInput> = {},
): CreateModelInvocationJobCommandInput => ({
  jobName: name,
  roleArn: ROLE,
  modelId: MODEL,
  modelInvocationType: "Converse",
  inputDataConfig: { s3InputDataConfig: { s3Uri: input, s3InputFormat: "JSONL" } },
  outputDataConfig: { s3OutputDataConfig: { s3Uri: "s3://batch/out/" } },
  ...overrides,
});

describe("batch inference jobs, fast-forwarded (a simulated hour in 3.6 s)", () => {
  let devcloud: Devcloud;
  let bedrock: BedrockClient;
  let s3: S3Client;

  beforeAll(async () => {
    devcloud = await startTestDevcloud({ bedrock: { timeScale: 0.001 } });
    ({ bedrock, s3 } = clients(devcloud));
    await s3.send(new CreateBucketCommand({ Bucket: "batch" }));
  });
  afterAll(async () => {
    await devcloud?.stop();
  });

  it("a Converse job runs to Completed: every record answered once in its file's .out (in no promised order), and a manifest with the counts and tokens", async () => {
    const lines = records(120);
    await putInput(s3, "batch", "in/summaries/part-1.jsonl", lines.slice(0, 70));
    await putInput(s3, "batch", "in/summaries/part-2.jsonl", lines.slice(70));
    const { jobArn } = await bedrock.send(
      new CreateModelInvocationJobCommand(jobInput("summaries", "s3://batch/in/summaries/")),
    );
    expect(jobArn).toMatch(/^arn:aws:bedrock:[a-z0-9-]+:000000000000:model-invocation-job\/[a-z0-9]{12}$/);
    const job = await untilFinished(bedrock, jobArn!);
    expect(job).toMatchObject({
      status: "Completed",
      jobName: "summaries",
      modelId: MODEL,
      modelInvocationType: "Converse",
      totalRecordCount: 120,
      processedRecordCount: 120,
      successRecordCount: 120,
      errorRecordCount: 0,
    });
    expect(job.submitTime).toBeInstanceOf(Date);
    expect(job.endTime!.getTime()).toBeGreaterThanOrEqual(job.submitTime!.getTime());
    const jobId = jobArn!.slice(-12);
    const outputs = [
      ...(await text(s3, "batch", `out/${jobId}/part-1.jsonl.out`)).trim().split("\n"),
      ...(await text(s3, "batch", `out/${jobId}/part-2.jsonl.out`)).trim().split("\n"),
    ].map((line) => JSON.parse(line));
    expect(outputs.map((output) => output.recordId).sort()).toEqual(
      lines.map((line) => JSON.parse(line).recordId).sort(),
    );
    const first = outputs.find((output) => output.recordId === "r7");
    expect(first.modelInput.messages[0].content[0].text).toContain("Document r7");
    expect(first.modelOutput.output.message.content[0].text.length).toBeGreaterThan(0);
    expect(first.modelOutput.usage.inputTokens).toBeGreaterThan(0);
    const manifest = JSON.parse(await text(s3, "batch", `out/${jobId}/manifest.json.out`));
    expect(manifest).toMatchObject({
      totalRecordCount: 120,
      processedRecordCount: 120,
      successRecordCount: 120,
      errorRecordCount: 0,
    });
    const tokens = outputs.reduce(
      (sum, output) => ({
        input: sum.input + output.modelOutput.usage.inputTokens,
        output: sum.output + output.modelOutput.usage.outputTokens,
      }),
      { input: 0, output: 0 },
    );
    expect(manifest.inputTokenCount).toBe(tokens.input);
    expect(manifest.outputTokenCount).toBe(tokens.output);
  });

  it("each state change is announced on the default bus as aws.bedrock Batch Inference Job State Change", async () => {
    const events = new EventBridgeClient(devcloud.clientConfig);
    const sqs = new SQSClient(devcloud.clientConfig);
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "batch-job-events" }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
    await events.send(
      new PutRuleCommand({
        Name: "batch-job-events",
        EventPattern: JSON.stringify({ source: ["aws.bedrock"], "detail-type": ["Batch Inference Job State Change"] }),
      }),
    );
    await events.send(
      new PutTargetsCommand({ Rule: "batch-job-events", Targets: [{ Id: "queue", Arn: Attributes!.QueueArn! }] }),
    );
    await putInput(s3, "batch", "in/announced.jsonl", records(100));
    const { jobArn } = await bedrock.send(
      new CreateModelInvocationJobCommand(jobInput("announced", "s3://batch/in/announced.jsonl")),
    );
    await untilFinished(bedrock, jobArn!);
    const received = (await receiveAll(sqs, QueueUrl!, 5)).map((message) => JSON.parse(message.Body!));
    expect(received.map((event) => event.detail.status)).toEqual([
      "Submitted",
      "Validating",
      "Scheduled",
      "InProgress",
      "Completed",
    ]);
    expect(received[0]).toMatchObject({
      source: "aws.bedrock",
      "detail-type": "Batch Inference Job State Change",
      resources: [jobArn],
      detail: { batchJobArn: jobArn, batchJobName: "announced", batchModelId: MODEL },
    });
  });

  it("records the model refuses, or with toolConfig (which Converse batch jobs do not support), get a per-record 400 error; the rest are answered", async () => {
    const refused = JSON.stringify({ recordId: "empty", modelInput: { messages: [] } });
    const withTools = JSON.stringify({
      recordId: "tools",
      modelInput: {
        messages: [{ role: "user", content: [{ text: "Classify this." }] }],
        toolConfig: { tools: [{ toolSpec: { name: "t", inputSchema: { json: { type: "object" } } } }] },
      },
    });
    await putInput(s3, "batch", "in/mixed.jsonl", [...records(100), refused, withTools]);
    const { jobArn } = await bedrock.send(
      new CreateModelInvocationJobCommand(jobInput("mixed", "s3://batch/in/mixed.jsonl")),
    );
    const job = await untilFinished(bedrock, jobArn!);
    expect(job).toMatchObject({
      status: "Completed",
      totalRecordCount: 102,
      successRecordCount: 100,
      errorRecordCount: 2,
    });
    const outputs = (await text(s3, "batch", `out/${jobArn!.slice(-12)}/mixed.jsonl.out`))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    const errors = Object.fromEntries(
      outputs.filter((output) => output.error).map((output) => [output.recordId, output.error]),
    );
    expect(Object.keys(errors).sort()).toEqual(["empty", "tools"]);
    expect(errors.tools).toEqual({ errorCode: 400, errorMessage: expect.stringContaining("toolConfig") });
    expect(errors.empty.errorCode).toBe(400);
  });

  it("a job larger than one S3 request (input uploaded in parts, tens of MB of output) completes, its .out written whole", async () => {
    // 100 records of ~120 KB each: 12 MB of input, more of output (each line echoes its input), both
    // over the 11 MiB one request may carry; 10,000 short documents make a file this size too.
    const body = Buffer.from(
      `${Array.from({ length: 100 }, (_, i) => record(`big${i}`, `Clause ${i}. ${"The supplier shall deliver. ".repeat(4_400)}`)).join("\n")}\n`,
    );
    expect(body.length).toBeGreaterThan(11 * 1024 * 1024);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "batch", Key: "in/big.jsonl" }));
    const parts = [];
    for (let start = 0, PartNumber = 1; start < body.length; start += 6 * 1024 * 1024, PartNumber++) {
      const { ETag } = await s3.send(
        new UploadPartCommand({
          Bucket: "batch",
          Key: "in/big.jsonl",
          UploadId,
          PartNumber,
          Body: body.subarray(start, start + 6 * 1024 * 1024),
        }),
      );
      parts.push({ ETag, PartNumber });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: "batch",
        Key: "in/big.jsonl",
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    const { jobArn } = await bedrock.send(
      new CreateModelInvocationJobCommand(jobInput("big", "s3://batch/in/big.jsonl")),
    );
    const job = await untilFinished(bedrock, jobArn!, 30_000);
    expect(job).toMatchObject({ status: "Completed", successRecordCount: 100, errorRecordCount: 0 });
    const output = await text(s3, "batch", `out/${jobArn!.slice(-12)}/big.jsonl.out`);
    expect(output.length).toBeGreaterThan(body.length);
    expect(output.trim().split("\n")).toHaveLength(100);
  }, 60_000);

  it("validation fails a job with a message: fewer records than the per-job minimum, a line that is not a record, no input at all", async () => {
    await putInput(s3, "batch", "in/small.jsonl", records(99));
    await putInput(s3, "batch", "in/broken.jsonl", [...records(100), "{not json"]);
    const small = await bedrock.send(
      new CreateModelInvocationJobCommand(jobInput("small", "s3://batch/in/small.jsonl")),
    );
    const broken = await bedrock.send(
      new CreateModelInvocationJobCommand(jobInput("broken", "s3://batch/in/broken.jsonl")),
    );
    const missing = await bedrock.send(
      new CreateModelInvocationJobCommand(jobInput("missing", "s3://batch/in/nothing-here/")),
    );
    expect(await untilFinished(bedrock, small.jobArn!)).toMatchObject({
      status: "Failed",
      message: expect.stringContaining("99 records, below the minimum of 100"),
    });
    expect(await untilFinished(bedrock, broken.jobArn!)).toMatchObject({
      status: "Failed",
      message: expect.stringContaining("line 101: not valid JSON"),
    });
    expect(await untilFinished(bedrock, missing.jobArn!)).toMatchObject({
      status: "Failed",
      message: expect.stringContaining("No .jsonl input file"),
    });
  });

  it("CreateModelInvocationJob checks its request as AWS's model does, and the same clientRequestToken gives back the same job", async () => {
    const rejected = async (overrides: Partial<CreateModelInvocationJobCommandInput>) =>
      bedrock
        .send(new CreateModelInvocationJobCommand(jobInput("checked", "s3://batch/in/small.jsonl", overrides)))
        .then(
          () => undefined,
          (error: Error) => `${error.name}: ${error.message}`,
        );
    expect(await rejected({ jobName: "no spaces allowed" })).toMatch(/^ValidationException: .*'jobName'/);
    expect(await rejected({ roleArn: "not-a-role" })).toMatch(/^ValidationException: .*'roleArn'/);
    expect(await rejected({ timeoutDurationInHours: 12 })).toMatch(/^ValidationException: .*between 24 and 168/);
    expect(await rejected({ modelId: "acme.unknown-model-v1:0" })).toBe(
      "ValidationException: The provided model identifier is invalid.",
    );
    expect(await rejected({ modelInvocationType: "InvokeModel" })).toMatch(/^ValidationException: .*Converse/);
    expect(
      await rejected({ inputDataConfig: { s3InputDataConfig: { s3Uri: "https://example.com/in.jsonl" } } }),
    ).toMatch(/^ValidationException: .*s3Uri/);
    const first = await bedrock.send(
      new CreateModelInvocationJobCommand(
        jobInput("tokened", "s3://batch/in/small.jsonl", { clientRequestToken: "retry-1" }),
      ),
    );
    const again = await bedrock.send(
      new CreateModelInvocationJobCommand(
        jobInput("tokened", "s3://batch/in/small.jsonl", { clientRequestToken: "retry-1" }),
      ),
    );
    expect(again.jobArn).toBe(first.jobArn);
    // A second job under the same name (another token) conflicts.
    expect(
      await bedrock
        .send(
          new CreateModelInvocationJobCommand(
            jobInput("tokened", "s3://batch/in/small.jsonl", { clientRequestToken: "retry-2" }),
          ),
        )
        .catch((error: Error) => error.name),
    ).toBe("ConflictException");
  });

  it("GetModelInvocationJob takes the job's ARN or its id; an unknown one is ResourceNotFoundException", async () => {
    const [job] = (await bedrock.send(new ListModelInvocationJobsCommand({ nameContains: "summaries" })))
      .invocationJobSummaries!;
    const byId = await bedrock.send(new GetModelInvocationJobCommand({ jobIdentifier: job!.jobArn!.slice(-12) }));
    expect(byId.jobArn).toBe(job!.jobArn);
    await expect(
      bedrock.send(new GetModelInvocationJobCommand({ jobIdentifier: "zzzzzzzzzzzz" })),
    ).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
  });

  it("ListModelInvocationJobs filters by status and name, newest first, and pages with nextToken", async () => {
    const failed = await bedrock.send(new ListModelInvocationJobsCommand({ statusEquals: "Failed" }));
    expect(failed.invocationJobSummaries!.map((job) => job.jobName).sort()).toEqual(
      expect.arrayContaining(["broken", "missing", "small"]),
    );
    expect(failed.invocationJobSummaries!.every((job) => job.status === "Failed")).toBe(true);
    const all = await bedrock.send(new ListModelInvocationJobsCommand({}));
    const times = all.invocationJobSummaries!.map((job) => job.submitTime!.getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const pages: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await bedrock.send(
        new ListModelInvocationJobsCommand({ maxResults: 2, ...(nextToken ? { nextToken } : {}) }),
      );
      pages.push(...page.invocationJobSummaries!.map((job) => job.jobArn!));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(pages).toEqual(all.invocationJobSummaries!.map((job) => job.jobArn));
  });
});

describe("batch inference jobs that wait for capacity (stop, the per-model quota)", () => {
  let devcloud: Devcloud;
  let bedrock: BedrockClient;
  let s3: S3Client;

  beforeAll(async () => {
    // Scheduled for 100 simulated seconds = 1 s here: long enough to stop a job, or to fill the quota.
    devcloud = await startTestDevcloud({
      bedrock: { timeScale: 0.01, batch: { submittedSeconds: 0, scheduledSeconds: 100, maxActiveJobsPerModel: 2 } },
    });
    ({ bedrock, s3 } = clients(devcloud));
    await s3.send(new CreateBucketCommand({ Bucket: "batch" }));
    await putInput(s3, "batch", "in/waiting.jsonl", records(100));
  });
  afterAll(async () => {
    await devcloud?.stop();
  });

  it("a job stopped while it waits ends Stopped; stopping a finished job is a ConflictException; a model's jobs in progress are capped", async () => {
    const first = await bedrock.send(
      new CreateModelInvocationJobCommand(jobInput("first", "s3://batch/in/waiting.jsonl")),
    );
    const second = await bedrock.send(
      new CreateModelInvocationJobCommand(jobInput("second", "s3://batch/in/waiting.jsonl")),
    );
    await expect(
      bedrock.send(new CreateModelInvocationJobCommand(jobInput("third", "s3://batch/in/waiting.jsonl"))),
    ).rejects.toMatchObject({ name: "ServiceQuotaExceededException" });
    await bedrock.send(new StopModelInvocationJobCommand({ jobIdentifier: first.jobArn }));
    expect((await bedrock.send(new GetModelInvocationJobCommand({ jobIdentifier: first.jobArn }))).status).toBe(
      "Stopping",
    );
    expect((await untilFinished(bedrock, first.jobArn!)).status).toBe("Stopped");
    await expect(
      bedrock.send(new StopModelInvocationJobCommand({ jobIdentifier: first.jobArn })),
    ).rejects.toMatchObject({
      name: "ConflictException",
    });
    expect((await untilFinished(bedrock, second.jobArn!)).status).toBe("Completed");
  });
});

describe("a batch job queued for capacity", () => {
  it("stops at once when asked (as on AWS), not when its wait would have ended", async () => {
    // An hour waiting for capacity, 3.6 s here.
    const devcloud = await startTestDevcloud({ bedrock: { timeScale: 0.001, batch: { scheduledSeconds: 3600 } } });
    try {
      const { bedrock, s3 } = clients(devcloud);
      await s3.send(new CreateBucketCommand({ Bucket: "batch" }));
      await putInput(s3, "batch", "in/queued.jsonl", records(100));
      const { jobArn } = await bedrock.send(
        new CreateModelInvocationJobCommand(jobInput("queued", "s3://batch/in/queued.jsonl")),
      );
      let status: string | undefined;
      do {
        await new Promise((resolve) => setTimeout(resolve, 20));
        status = (await bedrock.send(new GetModelInvocationJobCommand({ jobIdentifier: jobArn }))).status;
      } while (status !== "Scheduled");
      const asked = Date.now();
      await bedrock.send(new StopModelInvocationJobCommand({ jobIdentifier: jobArn }));
      expect((await untilFinished(bedrock, jobArn!)).status).toBe("Stopped");
      expect(Date.now() - asked).toBeLessThan(1000);
    } finally {
      await devcloud.stop();
    }
  });
});

describe("batch inference jobs across a devcloud restart (a data dir)", () => {
  it("a job unfinished when devcloud stops starts over when it starts again, and completes; finished jobs stay listed", async () => {
    const dir = temporaryDirectory("devcloud-batch");
    const options = {
      dataDir: dir.path,
      bedrock: { timeScale: 0.01, batch: { submittedSeconds: 0, scheduledSeconds: 100 } },
    };
    try {
      let devcloud = await startTestDevcloud(options);
      let { bedrock, s3 } = clients(devcloud);
      await s3.send(new CreateBucketCommand({ Bucket: "batch" }));
      await putInput(s3, "batch", "in/restart.jsonl", records(100));
      const { jobArn } = await bedrock.send(
        new CreateModelInvocationJobCommand(jobInput("restarted", "s3://batch/in/restart.jsonl")),
      );
      expect((await bedrock.send(new GetModelInvocationJobCommand({ jobIdentifier: jobArn }))).status).not.toBe(
        "Completed",
      );
      await devcloud.stop();

      devcloud = await startTestDevcloud(options);
      ({ bedrock, s3 } = clients(devcloud));
      try {
        expect(await untilFinished(bedrock, jobArn!)).toMatchObject({ status: "Completed", successRecordCount: 100 });
        const manifest = JSON.parse(await text(s3, "batch", `out/${jobArn!.slice(-12)}/manifest.json.out`));
        expect(manifest.successRecordCount).toBe(100);
      } finally {
        await devcloud.stop();
      }
      devcloud = await startTestDevcloud(options);
      try {
        const listed = await clients(devcloud).bedrock.send(new ListModelInvocationJobsCommand({}));
        expect(listed.invocationJobSummaries!.map((job) => [job.jobArn, job.status])).toEqual([[jobArn, "Completed"]]);
      } finally {
        await devcloud.stop();
      }
    } finally {
      dir.remove();
    }
  });
});
