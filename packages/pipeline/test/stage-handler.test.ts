import { startDevcloud, type Devcloud } from "@quire/devcloud";
import { loadConfig } from "@quire/config";
import { documentSubmitted, newJobId, SCHEMA_VERSION, type DocumentSubmitted } from "@quire/contracts";
import { createLogger, type ConsumerContext } from "@quire/runtime";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createAwsClients,
  createJobLifecycle,
  createStageHandler,
  stageDependencies,
  type StageDependencies,
} from "../src/index.ts";

let devcloud: Devcloud;
let deps: StageDependencies;
beforeAll(async () => {
  devcloud = await startDevcloud({ port: 0, log: () => {}, bedrock: { timeScale: 0.01 } });
  deps = stageDependencies(loadConfig({ ...devcloud.env }), createAwsClients(devcloud.env), "summarizer");
});
afterAll(() => devcloud.stop());

const context = (): ConsumerContext => ({
  messageId: "m",
  receiveCount: 2,
  queueName: "quire-summarizer",
  signal: new AbortController().signal,
  log: createLogger({}, () => {}),
});

async function submitted(text: string): Promise<DocumentSubmitted> {
  const jobId = newJobId();
  const contentSha256 = createHash("sha256").update(text).digest("hex");
  const submittedAt = new Date().toISOString();
  const document = { kind: "inline" as const, text };
  await deps.jobs.createJob({ jobId, contentSha256, document, stages: ["summary", "classification"], submittedAt });
  return documentSubmitted.parse({
    schemaVersion: SCHEMA_VERSION,
    type: "document.submitted",
    jobId,
    submittedAt,
    contentSha256,
    document,
    stages: ["summary", "classification"],
    priority: "bulk",
  });
}

const converseCalls = () => Object.values(devcloud.bedrock.stats()).reduce((sum, s) => sum + s.calls, 0);

describe("the stage handler under redelivery", () => {
  it("takes over a computation whose worker died holding the claim, once the claim's lease lapses", async () => {
    const message = await submitted("The tenant pays rent monthly. The landlord repairs the roof.");
    const key = {
      contentSha256: message.contentSha256,
      stage: "summary" as const,
      promptVersion: deps.bedrock.summaryPromptVersion,
      modelId: deps.bedrock.modelId,
    };
    // The first delivery's worker claimed the work and died: nobody releases the claim.
    const claimedAt = Date.now();
    expect(await deps.jobs.claimComputation(key, { jobId: message.jobId, leaseMs: 600 })).toEqual({ claimed: true });

    const before = converseCalls();
    await createStageHandler("summary", { ...deps, computationLeaseMs: 600 })(message, context());
    // Taken over only once the lease, which runs from the claim, had lapsed.
    expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(600);
    expect(converseCalls() - before).toBe(1);
    expect((await deps.jobs.getJob(message.jobId))!.stageStates.summary.status).toBe("done");
  });

  it("a redelivery waits for a live holder's result instead of calling the model again", async () => {
    const message = await submitted("Dear Sir, thank you for your letter. Yours sincerely, Ann.");
    const handle = createStageHandler("summary", deps);
    const before = converseCalls();
    await Promise.all([handle(message, context()), handle(message, context()), handle(message, context())]);
    expect(converseCalls() - before).toBe(1);
  });
});

describe("job metrics", () => {
  it("counts a job in JobsCompleted once, however often its stages are delivered", async () => {
    const counted = { completed: 0, failed: 0 };
    const metrics = { jobCompleted: () => void counted.completed++, jobFailed: () => void counted.failed++ };
    const classifierDeps = stageDependencies(
      loadConfig({ ...devcloud.env }),
      createAwsClients(devcloud.env),
      "classifier",
    );
    const counting = (stageDeps: StageDependencies) => ({
      ...stageDeps,
      lifecycle: createJobLifecycle({ jobs: stageDeps.jobs, events: stageDeps.events, metrics }),
    });
    const message = await submitted("Invoice 2291. Amount due: 1,200 EUR within 30 days of receipt.");
    for (let delivery = 0; delivery < 2; delivery++) {
      await createStageHandler("summary", counting(deps))(message, context());
      await createStageHandler("classification", counting(classifierDeps))(message, context());
    }
    expect((await deps.jobs.getJob(message.jobId))!.status).toBe("complete");
    expect(counted).toEqual({ completed: 1, failed: 0 });
  });

  it("counts a failed job in JobsFailed once", async () => {
    const counted = { completed: 0, failed: 0 };
    const metrics = { jobCompleted: () => void counted.completed++, jobFailed: () => void counted.failed++ };
    const lifecycle = createJobLifecycle({ jobs: deps.jobs, events: deps.events, metrics });
    const message = await submitted("A document whose model call will never succeed.");
    const reason = { code: "MODEL_REQUEST_INVALID", message: "unknown model" };
    expect(await lifecycle.failJob(message.jobId, reason, "summary")).toBe(true);
    expect(await lifecycle.failJob(message.jobId, reason, "summary")).toBe(false);
    expect(counted).toEqual({ completed: 0, failed: 1 });
  });
});
