import { createHash } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { newJobId, newRunId, type ClassificationResult, type SummaryResult } from "@quire/contracts";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import { createJobStore, type CreateJobInput, type JobStore, type JobStoreOptions } from "../../src/index.ts";

export interface TestCloud {
  devcloud: Devcloud;
  client: DynamoDBClient;
  tableName: string;
  /** A store on the provisioned jobs table; options override the defaults (a clock, a lease). */
  store(options?: Partial<Omit<JobStoreOptions, "client" | "tableName">>): JobStore;
  /** A store on its own client that counts the DynamoDB operations it sends, by name. */
  countingStore(): { store: JobStore; calls: () => Record<string, number> };
  stop(): Promise<void>;
}

/** devcloud in memory on a free port, quiet, with the topology's jobs table. */
export async function startTestCloud(): Promise<TestCloud> {
  const devcloud = await startDevcloud({ port: 0, log: process.env.DEBUG ? console.error : () => {} });
  const client = new DynamoDBClient(devcloud.clientConfig);
  const tableName = devcloud.resources.tableNames.jobs;
  if (!tableName) throw new Error("devcloud provisioned no jobs table");
  return {
    devcloud,
    client,
    tableName,
    store: (options = {}) => createJobStore({ client, tableName, ...options }),
    countingStore() {
      const counting = new DynamoDBClient(devcloud.clientConfig);
      const calls: Record<string, number> = {};
      counting.middlewareStack.add(
        (next, context) => (args) => {
          const name = context.commandName ?? "unknown";
          calls[name] = (calls[name] ?? 0) + 1;
          return next(args);
        },
        { step: "initialize", name: "countCalls" },
      );
      return { store: createJobStore({ client: counting, tableName }), calls: () => ({ ...calls }) };
    },
    async stop() {
      client.destroy();
      await devcloud.stop();
    },
  };
}

/** A clock the test moves by hand, for leases and expiry. */
export function manualClock(start = new Date("2030-01-01T00:00:00.000Z")) {
  let current = start.getTime();
  return {
    now: () => new Date(current),
    advance(ms: number) {
      current += ms;
    },
  };
}

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export function jobInput(overrides: Partial<CreateJobInput> = {}): CreateJobInput {
  const text = `document ${Math.random()}`;
  return {
    jobId: newJobId(),
    contentSha256: sha256(text),
    document: { kind: "inline", text },
    stages: ["summary", "classification"],
    submittedAt: new Date().toISOString(),
    ...overrides,
  };
}

export { newJobId, newRunId };

const usage = { inputTokens: 100, outputTokens: 20, totalTokens: 120 };

export const summary = (text = "A short summary."): SummaryResult => ({
  modelId: "model-a",
  promptVersion: "summary-v1",
  usage,
  text,
});

export const classification = (label = "invoice", confidence = 0.9): ClassificationResult => ({
  modelId: "model-a",
  promptVersion: "classification-v1",
  usage,
  label,
  confidence,
});
