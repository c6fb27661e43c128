import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { BedrockRuntimeClient, ConverseCommand } from "@aws-sdk/client-bedrock-runtime";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BedrockClient, GetModelInvocationJobCommand, ListModelInvocationJobsCommand } from "@aws-sdk/client-bedrock";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { costOf, DEFAULT_PRICES } from "@quire/bedrock";
import { createJobStore } from "@quire/jobs";
import { API_KEY, MODEL_ID, startCluster, type ProcessReport } from "./cluster.ts";
import type { BenchDocument } from "./documents.ts";

export interface Sample {
  /** Simulated seconds since the run was submitted. */
  t: number;
  inFlight: number;
  succeeded: number;
  throttles: number;
  finished: number;
}

export interface ScenarioResult {
  name: string;
  description: string;
  documents: number;
  wallSeconds: number;
  /** How long POST /v1/runs took (wall). */
  submitSeconds: number;
  /**
   * Wall time scaled back to real (simulated) seconds. The submission is counted as it took:
   * it is HTTP and DynamoDB work, which no time scale slows down or speeds up in reality.
   */
  seconds: number;
  /** CPU of the bench's own process over the run: devcloud (in-process) and the bench's polling. */
  devcloudCpuMs: number;
  docsPerSecond: number;
  complete: number;
  failed: number;
  bedrock: {
    calls: number;
    succeeded: number;
    throttles: number;
    callsPerDocument: number;
    peakInFlight: number;
    meanTokensPerCall: number;
    /** Tokens of the successful calls (what AWS bills), the foreign client's included when there is one. */
    inputTokens?: number;
    outputTokens?: number;
  };
  /**
   * What the run cost on demand, US dollars: by Quire's own count (GET /v1/runs/{id} usage, each
   * job's kept results once) and as AWS would bill the successful calls devcloud answered (at the
   * same price table; undefined with a foreign client, whose calls devcloud counts alike).
   * Absent (with the token counts) from results recorded before it was measured.
   */
  cost?: { countedUsd: number; billedUsd: number | undefined };
  /**
   * The AWS requests devcloud served from submission to the end, by `service:Operation` (the
   * bench's polling of the run included: one GetItem a second or so). Absent from older results.
   */
  requests?: Record<string, number>;
  jobLatencySeconds: { p50: number; p95: number };
  completions: { events: number; uniqueJobs: number; lost: number; duplicated: number };
  processes: ProcessReport[];
  samples: Sample[];
  /**
   * A run through batch inference: its batch jobs and what they answered, as their manifests say
   * (records, tokens), and what AWS would bill for those tokens at the batch rate.
   */
  batch?: {
    jobs: string[];
    records: number;
    answered: number;
    inputTokens: number;
    outputTokens: number;
    billedUsd: number | undefined;
  };
  /** A foreign client's calls on the same model's quota (not counted above). */
  foreign?: { fromSeconds: number; requestsPerMinute: number; calls: number; succeeded: number; throttles: number };
}

/**
 * Another application on the same model's quota: it sends `requestsPerMinute` (of the quota's
 * minutes, scaled) from a moment on, at a steady pace, whatever the answers — the governor's
 * share of the quota shrinks under it. Its calls are counted apart, so the pipeline's are not mixed in.
 */
function startForeignClient(
  devcloud: Awaited<ReturnType<typeof startCluster>>["devcloud"],
  pace: { requestsPerMinute: number; timeScale: number },
) {
  const client = new BedrockRuntimeClient({ ...devcloud.clientConfig, maxAttempts: 1 });
  const counts = { calls: 0, succeeded: 0, throttles: 0, inFlight: 0 };
  const timer = setInterval(
    () => {
      counts.calls++;
      counts.inFlight++;
      client
        .send(
          new ConverseCommand({
            modelId: MODEL_ID,
            messages: [{ role: "user", content: [{ text: "Another application's request on the same quota." }] }],
            inferenceConfig: { maxTokens: 64 },
          }),
        )
        .then(
          () => counts.succeeded++,
          (error: { name?: string }) => {
            if (error.name === "ThrottlingException") counts.throttles++;
          },
        )
        .finally(() => counts.inFlight--);
    },
    (60_000 * pace.timeScale) / pace.requestsPerMinute,
  );
  return {
    counts,
    stop: () => {
      clearInterval(timer);
      client.destroy();
    },
  };
}

/** On-demand calls' tokens at the on-demand rate, and a batch's at the batch rate: what AWS would bill. */
function billed(onDemand: { input: number; output: number }, batch: ScenarioResult["batch"]): number | undefined {
  const calls = costOf({ inputTokens: onDemand.input, outputTokens: onDemand.output }, MODEL_ID, DEFAULT_PRICES);
  if (!batch) return calls;
  return calls === undefined || batch.billedUsd === undefined ? undefined : calls + batch.billedUsd;
}

/** The run's batch jobs, from the batch API and each one's manifest in S3 (what an AWS user would read). */
async function batchJobsOf(
  devcloud: Awaited<ReturnType<typeof startCluster>>["devcloud"],
): Promise<NonNullable<ScenarioResult["batch"]>> {
  const bedrock = new BedrockClient(devcloud.clientConfig);
  const s3 = new S3Client({ ...devcloud.clientConfig, forcePathStyle: true });
  const totals = { jobs: [] as string[], records: 0, answered: 0, inputTokens: 0, outputTokens: 0 };
  try {
    const { invocationJobSummaries = [] } = await bedrock.send(new ListModelInvocationJobsCommand({}));
    for (const summary of invocationJobSummaries) {
      const job = await bedrock.send(new GetModelInvocationJobCommand({ jobIdentifier: summary.jobArn }));
      totals.jobs.push(job.status!);
      const uri = new URL(job.outputDataConfig!.s3OutputDataConfig!.s3Uri!);
      const jobId = job.jobArn!.slice(job.jobArn!.lastIndexOf("/") + 1);
      const key = `${uri.pathname.slice(1)}${jobId}/manifest.json.out`;
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: uri.host, Key: key }));
        const manifest = JSON.parse(await object.Body!.transformToString()) as {
          totalRecordCount?: number;
          successRecordCount?: number;
          inputTokenCount?: number;
          outputTokenCount?: number;
        };
        totals.records += manifest.totalRecordCount ?? 0;
        totals.answered += manifest.successRecordCount ?? 0;
        totals.inputTokens += manifest.inputTokenCount ?? 0;
        totals.outputTokens += manifest.outputTokenCount ?? 0;
      } catch {
        // A job that failed or was stopped before any output has no manifest.
      }
    }
  } finally {
    bedrock.destroy();
    s3.destroy();
  }
  return {
    ...totals,
    billedUsd: costOf(
      { inputTokens: totals.inputTokens, outputTokens: totals.outputTokens },
      MODEL_ID,
      DEFAULT_PRICES,
      "batch",
    ),
  };
}

export const percentile = (sorted: readonly number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]! : 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every Job Completed on the bus, caught by a rule into a queue the bench drains at the end. */
async function spyOnCompletions(devcloud: Awaited<ReturnType<typeof startCluster>>["devcloud"]) {
  const sqs = new SQSClient(devcloud.clientConfig);
  const events = new EventBridgeClient(devcloud.clientConfig);
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "bench-completions" }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
  const bus = devcloud.env.QUIRE_BUS_EVENTS_NAME!;
  await events.send(
    new PutRuleCommand({
      Name: "bench-completions",
      EventBusName: bus,
      EventPattern: JSON.stringify({ source: [{ prefix: "quire." }], "detail-type": ["Job Completed"] }),
    }),
  );
  await events.send(
    new PutTargetsCommand({
      Rule: "bench-completions",
      EventBusName: bus,
      Targets: [{ Id: "bench", Arn: Attributes!.QueueArn! }],
    }),
  );
  return {
    async drain(): Promise<string[]> {
      const jobIds: string[] = [];
      const drainer = async () => {
        for (let empty = 0; empty < 2; ) {
          const { Messages = [] } = await sqs.send(
            new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
          );
          if (!Messages.length) {
            empty++;
            continue;
          }
          empty = 0;
          for (const m of Messages) jobIds.push((JSON.parse(m.Body!) as { detail: { jobId: string } }).detail.jobId);
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl,
              Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
            }),
          );
        }
      };
      await Promise.all([drainer(), drainer(), drainer(), drainer()]);
      return jobIds;
    },
  };
}

/**
 * One run of the real pipeline: submit the documents as one run through the HTTP API, sample
 * Bedrock's in-flight calls, throughput and throttles until the run completes, then count
 * completions (none lost, none twice), job latencies and each process's report.
 */
export async function runPipelineScenario(options: {
  name: string;
  description: string;
  documents: readonly BenchDocument[];
  timeScale: number;
  behaviour: Record<string, unknown>;
  serviceEnv: Record<string, string>;
  workersPerStage: number;
  timeoutSeconds: number;
  log: (line: string) => void;
  /** A foreign client taking part of the quota from a simulated moment on. */
  foreign?: { fromSeconds: number; requestsPerMinute: number };
  /** More of POST /v1/runs's body (`mode: "batch"`). */
  runBody?: Record<string, unknown>;
  /** More of devcloud's Bedrock settings (its batch jobs'). */
  bedrock?: Record<string, unknown>;
}): Promise<ScenarioResult> {
  const { timeScale } = options;
  const cluster = await startCluster({
    bedrock: { timeScale, seed: 11, models: { [MODEL_ID]: options.behaviour }, ...options.bedrock },
    serviceEnv: options.serviceEnv,
    workersPerStage: options.workersPerStage,
  });
  try {
    const spy = await spyOnCompletions(cluster.devcloud);
    let foreign: ReturnType<typeof startForeignClient> | undefined;
    let peakInFlight = 0;
    /** The model's counters, less the foreign client's calls. */
    const stats = () => {
      const all = cluster.devcloud.bedrock.stats()[MODEL_ID] ?? {
        inFlight: 0,
        succeeded: 0,
        throttles: 0,
        calls: 0,
        peakInFlight: 0,
        tokens: { total: 0, input: 0, output: 0 },
      };
      const f = foreign?.counts ?? { calls: 0, succeeded: 0, throttles: 0, inFlight: 0 };
      const inFlight = all.inFlight - f.inFlight;
      peakInFlight = Math.max(peakInFlight, inFlight);
      return {
        ...all,
        inFlight,
        calls: all.calls - f.calls,
        succeeded: all.succeeded - f.succeeded,
        throttles: all.throttles - f.throttles,
        // With a foreign client, the peak is the sampled one (devcloud's counts both).
        peakInFlight: foreign ? peakInFlight : all.peakInFlight,
      };
    };
    // From here on, every AWS request devcloud serves is the run's (and the bench's own polling of it).
    cluster.devcloud.requests.reset();
    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    const simulated = () => (performance.now() - started) / 1000 / timeScale;
    const samples: Sample[] = [];
    let finished = 0;
    let runId: string | undefined;
    const sampler = setInterval(() => {
      if (options.foreign && !foreign && simulated() >= options.foreign.fromSeconds)
        foreign = startForeignClient(cluster.devcloud, {
          requestsPerMinute: options.foreign.requestsPerMinute,
          timeScale,
        });
      const s = stats();
      samples.push({ t: simulated(), inFlight: s.inFlight, succeeded: s.succeeded, throttles: s.throttles, finished });
    }, 250);

    const response = await fetch(`${cluster.api}/v1/runs`, {
      method: "POST",
      headers: { "x-api-key": API_KEY, "content-type": "application/json" },
      body: JSON.stringify({ documents: options.documents, ...options.runBody }),
    });
    if (response.status !== 202) throw new Error(`POST /v1/runs answered ${response.status}: ${await response.text()}`);
    runId = ((await response.json()) as { runId: string }).runId;
    const submitSeconds = (performance.now() - started) / 1000;
    options.log(
      `  ${options.name}: ${options.documents.length} documents submitted in ${((performance.now() - started) / 1000).toFixed(1)} s (${runId})`,
    );

    let run: { status: string; counts: { complete: number; failed: number }; usage?: { costUsd: number } } | undefined;
    let lastLog = 0;
    for (;;) {
      run = (await (
        await fetch(`${cluster.api}/v1/runs/${runId}`, { headers: { "x-api-key": API_KEY } })
      ).json()) as typeof run;
      finished = run!.counts.complete + run!.counts.failed;
      if (run!.status === "complete") break;
      if ((performance.now() - started) / 1000 > options.timeoutSeconds) {
        options.log(
          `  ${options.name}: gave up after ${options.timeoutSeconds} s with ${finished}/${options.documents.length} finished`,
        );
        break;
      }
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        const s = stats();
        options.log(
          `  ${options.name}: ${finished}/${options.documents.length} finished, ${s.inFlight} in flight at Bedrock, ${s.throttles} throttles`,
        );
      }
      await sleep(200);
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuAtStart);
    clearInterval(sampler);
    foreign?.stop();
    samples.push({
      t: simulated(),
      ...(({ inFlight, succeeded, throttles }) => ({ inFlight, succeeded, throttles }))(stats()),
      finished,
    });
    const bedrock = stats();

    await sleep(1000);
    const completed = await spy.drain();
    const unique = new Set(completed);

    const store = createJobStore({
      client: new DynamoDBClient(cluster.devcloud.clientConfig),
      tableName: cluster.devcloud.resources.tableNames.jobs!,
    });
    const latencies: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listRunJobs(runId, { limit: 500, ...(cursor ? { cursor } : {}) });
      for (const job of page.jobs) {
        if (job.completedAt)
          latencies.push((Date.parse(job.completedAt) - Date.parse(job.submittedAt)) / 1000 / timeScale);
      }
      cursor = page.cursor;
    } while (cursor);
    latencies.sort((a, b) => a - b);

    const requests = cluster.devcloud.requests.counts();
    const batch = options.runBody?.mode === "batch" ? await batchJobsOf(cluster.devcloud) : undefined;
    const processes = await cluster.stop();
    const n = options.documents.length;
    return {
      name: options.name,
      description: options.description,
      documents: n,
      wallSeconds,
      submitSeconds,
      seconds: submitSeconds + (wallSeconds - submitSeconds) / timeScale,
      devcloudCpuMs: Math.round((cpu.user + cpu.system) / 1000),
      docsPerSecond: run!.counts.complete / (submitSeconds + (wallSeconds - submitSeconds) / timeScale),
      complete: run!.counts.complete,
      failed: run!.counts.failed,
      bedrock: {
        calls: bedrock.calls,
        succeeded: bedrock.succeeded,
        throttles: bedrock.throttles,
        callsPerDocument: bedrock.succeeded / n,
        peakInFlight: bedrock.peakInFlight,
        meanTokensPerCall: bedrock.succeeded ? bedrock.tokens.total / bedrock.succeeded : 0,
        inputTokens: bedrock.tokens.input,
        outputTokens: bedrock.tokens.output,
      },
      requests,
      cost: {
        countedUsd: run!.usage?.costUsd ?? 0,
        billedUsd: foreign ? undefined : billed(bedrock.tokens, batch),
      },
      ...(batch ? { batch } : {}),
      jobLatencySeconds: { p50: percentile(latencies, 50), p95: percentile(latencies, 95) },
      completions: {
        events: completed.length,
        uniqueJobs: unique.size,
        lost: n - unique.size,
        duplicated: completed.length - unique.size,
      },
      processes,
      samples,
      ...(options.foreign
        ? {
            foreign: {
              ...options.foreign,
              calls: foreign?.counts.calls ?? 0,
              succeeded: foreign?.counts.succeeded ?? 0,
              throttles: foreign?.counts.throttles ?? 0,
            },
          }
        : {}),
    };
  } catch (error) {
    await cluster.stop().catch(() => {});
    throw error;
  }
}
