/**
 * The stages' batch records through a real batch inference job on devcloud (the real Bedrock and
 * S3 clients over HTTP): every answer reads back as a stage result, and the labels are the ones
 * the on-demand classifier gives the same documents.
 */
import {
  BedrockClient,
  CreateModelInvocationJobCommand,
  GetModelInvocationJobCommand,
  type GetModelInvocationJobCommandOutput,
} from "@aws-sdk/client-bedrock";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { classificationResult, summaryResult } from "@quire/contracts";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  classificationRecord,
  createBedrockStageClient,
  DEFAULT_MODEL_ID,
  DEFAULT_TAXONOMY,
  parseOutputLine,
  readClassificationAnswer,
  readSummaryAnswer,
  summaryRecord,
  type BatchRecord,
} from "../src/index.ts";
import { INVOICE_TEXT, MOTION_TEXT, testClient } from "./support.ts";

const LETTER_TEXT =
  "Dear Ms. Alvarez, thank you for your letter of 3 May regarding the lease renewal. We write to confirm our meeting next Tuesday. Sincerely, J. Park";
const texts = Array.from({ length: 100 }, (_, i) =>
  [INVOICE_TEXT, MOTION_TEXT, LETTER_TEXT][i % 3]!.replace(/\d+/, (n) => `${n}${i}`),
);

let devcloud: Devcloud;
let bedrock: BedrockClient;
let s3: S3Client;

beforeAll(async () => {
  devcloud = await startDevcloud({
    port: 0,
    topology: false,
    log: () => {},
    bedrock: { timeScale: 0.001 },
  });
  bedrock = new BedrockClient(devcloud.clientConfig);
  s3 = new S3Client({ ...devcloud.clientConfig, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: "stage-batches" }));
});
afterAll(async () => {
  await devcloud?.stop();
});

/** Runs `records` as one Converse batch job; its output lines. */
async function runBatch(name: string, records: BatchRecord[]) {
  await s3.send(
    new PutObjectCommand({
      Bucket: "stage-batches",
      Key: `in/${name}.jsonl`,
      Body: records.map((record) => JSON.stringify(record)).join("\n"),
    }),
  );
  const { jobArn } = await bedrock.send(
    new CreateModelInvocationJobCommand({
      jobName: name,
      roleArn: "arn:aws:iam::000000000000:role/batch",
      modelId: DEFAULT_MODEL_ID,
      modelInvocationType: "Converse",
      inputDataConfig: { s3InputDataConfig: { s3Uri: `s3://stage-batches/in/${name}.jsonl` } },
      outputDataConfig: { s3OutputDataConfig: { s3Uri: "s3://stage-batches/out/" } },
    }),
  );
  let job: GetModelInvocationJobCommandOutput;
  do {
    await new Promise((resolve) => setTimeout(resolve, 20));
    job = await bedrock.send(new GetModelInvocationJobCommand({ jobIdentifier: jobArn }));
  } while (!["Completed", "Failed", "PartiallyCompleted"].includes(job.status!));
  expect(job.status).toBe("Completed");
  const object = await s3.send(
    new GetObjectCommand({ Bucket: "stage-batches", Key: `out/${jobArn!.slice(-12)}/${name}.jsonl.out` }),
  );
  const lines = (await object.Body!.transformToString()).trim().split("\n");
  return new Map(lines.map((line) => parseOutputLine(line)!).map((line) => [line.recordId, line]));
}

it("every summary and classification answer of a batch job reads back as a stage result, with the on-demand classifier's labels", async () => {
  const summaries = await runBatch(
    "summaries",
    texts.map((text, i) => summaryRecord(`doc-${i}`, text)!),
  );
  const classifications = await runBatch(
    "classifications",
    texts.map((text, i) => classificationRecord(`doc-${i}`, text, DEFAULT_TAXONOMY)),
  );
  expect(summaries.size).toBe(100);
  expect(classifications.size).toBe(100);
  const onDemand = createBedrockStageClient({ client: testClient(devcloud).client });
  for (const i of [0, 1, 2]) {
    const summary = readSummaryAnswer(summaries.get(`doc-${i}`)!, DEFAULT_MODEL_ID);
    const classification = readClassificationAnswer(
      classifications.get(`doc-${i}`)!,
      DEFAULT_MODEL_ID,
      DEFAULT_TAXONOMY,
    );
    if (!summary.ok || !classification.ok) throw new Error(`doc-${i} was refused`);
    expect(summaryResult.parse(summary.result)).toEqual(summary.result);
    expect(classificationResult.parse(classification.result)).toEqual(classification.result);
    expect(summary.result.inference).toBe("batch");
    const { label } = await onDemand.classify(texts[i]!);
    expect(classification.result.label).toBe(label);
  }
  // Every answer is a result: three kinds of document, three labels.
  const labels = [...classifications.values()].map((line) => {
    const answer = readClassificationAnswer(line, DEFAULT_MODEL_ID, DEFAULT_TAXONOMY);
    if (!answer.ok) throw new Error(`${line.recordId}: ${answer.reason}`);
    return answer.result.label;
  });
  expect(new Set(labels).size).toBe(3);
});
