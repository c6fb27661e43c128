/**
 * A run through Bedrock batch inference on devcloud, with the real clients: the batch fills the
 * result cache, the stages complete the jobs from it — no model call but for what the batch refused.
 */
import { BedrockClient } from "@aws-sdk/client-bedrock";
import { DEFAULT_TAXONOMY } from "@quire/bedrock";
import { loadConfig } from "@quire/config";
import { newJobId, newRunId, type DocumentSubmitted } from "@quire/contracts";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import { createLogger, type ConsumerContext } from "@quire/runtime";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  createAwsClients,
  createBatchRunner,
  createStageHandler,
  loadDocumentText,
  stageDependencies,
  type BatchCheck,
  type StageDependencies,
} from "../src/index.ts";

let devcloud: Devcloud;
let summarizer: StageDependencies;
let classifier: StageDependencies;
let clients: ReturnType<typeof createAwsClients>;

beforeAll(async () => {
  // One record in ten fails in the batch (a 500 in its output line): those stages must go on demand.
  devcloud = await startDevcloud({
    port: 0,
    log: () => {},
    bedrock: { timeScale: 0.001, seed: 3, batch: { recordFailureRate: 0.1 } },
  });
  const config = loadConfig({ ...devcloud.env });
  clients = createAwsClients(devcloud.env);
  summarizer = stageDependencies(config, clients, "summarizer");
  classifier = stageDependencies(config, clients, "classifier");
});
afterAll(() => devcloud.stop());

const context = (): ConsumerContext => ({
  messageId: "m",
  receiveCount: 1,
  queueName: "quire-summarizer",
  signal: new AbortController().signal,
  log: createLogger({}, () => {}),
});
const converseCalls = () => Object.values(devcloud.bedrock.stats()).reduce((sum, s) => sum + s.calls, 0);

const KINDS = [
  "INVOICE No. 4471. Amount due: $1,250.00 for consulting services. Payment terms: net 30 days.",
  "MOTION TO DISMISS filed in the United States District Court. The defendant moves the court to dismiss the complaint.",
  "Dear Ms. Alvarez, thank you for your letter regarding the lease renewal. Sincerely, J. Park",
];

it("a run's stages complete from its batch: each answer cached once per content, the run published (twice when a check is delivered twice, each job completed once), a model call only for what the batch refused", async () => {
  const runId = newRunId();
  // 120 documents, 115 distinct (five repeat earlier ones).
  const distinct = Array.from({ length: 115 }, (_, i) => `${KINDS[i % 3]} Reference ${i}.`);
  const texts = [...distinct, ...distinct.slice(0, 5)];
  await summarizer.jobs.createRun({ runId, total: texts.length, submittedAt: new Date().toISOString() });
  const jobIds = texts.map(() => newJobId()).sort();
  for (const [i, text] of texts.entries()) {
    await summarizer.jobs.createJob({
      jobId: jobIds[i]!,
      runId,
      contentSha256: createHash("sha256").update(text).digest("hex"),
      document: { kind: "inline", text },
      stages: ["summary", "classification"],
      submittedAt: new Date().toISOString(),
    });
  }

  const published: DocumentSubmitted[] = [];
  const runner = createBatchRunner({
    bedrock: new BedrockClient(devcloud.clientConfig),
    s3: clients.s3,
    jobs: summarizer.jobs,
    loadText: (document) => loadDocumentText(clients.s3, document),
    publish: async (messages) => {
      published.push(...messages);
      return [];
    },
    bucket: devcloud.resources.bucketNames.documents!,
    roleArn: "arn:aws:iam::000000000000:role/quire-batch",
    modelId: summarizer.bedrock.modelId,
    taxonomy: DEFAULT_TAXONOMY,
    promptVersions: {
      summary: summarizer.bedrock.summaryPromptVersion,
      classification: classifier.bedrock.classificationPromptVersion,
    },
  });

  const submission = await runner.submit(runId);
  expect(submission.jobs.map((job) => job.stage)).toEqual(["summary", "classification"]);
  // A redelivered submit starts nothing new: the same jobs.
  expect(await runner.submit(runId)).toEqual(submission);
  let check: BatchCheck;
  do {
    await new Promise((resolve) => setTimeout(resolve, 25));
    check = await runner.check(submission);
  } while (check.state === "running");
  if (check.state !== "published") throw new Error("unreachable");
  // 2 stages × 115 distinct documents: each answered once, about one in ten refused.
  expect(check.cached + check.refused).toBe(230);
  expect(check.refused).toBeGreaterThan(5);
  expect(check.refused).toBeLessThan(50);
  expect(check.published).toBe(120);
  expect(published.map((message) => message.jobId)).toEqual(jobIds);
  // A check delivered twice writes the same cache entries and publishes the run again.
  const again = await runner.check(submission);
  expect(again).toEqual(check);
  expect(published.map((message) => message.jobId)).toEqual([...jobIds, ...jobIds]);

  const before = converseCalls();
  const summarize = createStageHandler("summary", summarizer);
  const classify = createStageHandler("classification", classifier);
  for (const message of published) {
    await summarize(message, context());
    await classify(message, context());
  }
  // On demand only for what the batch refused (a duplicate document shares its original's answer),
  // each job completed once though its message came twice.
  expect(converseCalls() - before).toBe(check.refused);
  const run = await summarizer.jobs.getRun(runId);
  expect(run).toMatchObject({ total: 120, complete: 120, failed: 0 });
  // Each result says how it was made (and so is priced): from the batch, or on demand for what it refused
  // (and for the repeats of a refused document: at most 5 × 2 more).
  const jobs = await summarizer.jobs.listRunJobs(runId, { limit: 1000 });
  const results = jobs.jobs.flatMap((job) => [job.stageStates.summary.result!, job.stageStates.classification.result!]);
  const onDemand = results.filter((result) => result.inference === undefined).length;
  expect(results.filter((result) => result.inference === "batch").length).toBe(240 - onDemand);
  expect(onDemand).toBeGreaterThanOrEqual(check.refused);
  expect(onDemand).toBeLessThanOrEqual(check.refused + 10);
  // 240 stage messages against devcloud: seconds alone, longer beside the other packages' suites.
}, 60_000);
