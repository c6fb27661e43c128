import { DEFAULT_MODEL_ID } from "@quire/bedrock";
import { buildProgram } from "@quire/cli";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectEvents, ofType, type SpiedEvent } from "./support/bus-spy.ts";
import { API_KEY, startPipeline, type Pipeline } from "./support/pipeline.ts";

/**
 * Why something failed, and sending it back to work, through the `quire dlq` commands against the
 * running pipeline: the model fails every document (a cause that does not go away by retrying),
 * the jobs fail and their messages are dead-lettered with the reason; once the model is fixed,
 * redriving the DLQs completes every job exactly once, and the run's counts end right.
 */
let pipeline: Pipeline;
let env: Record<string, string>;
beforeAll(async () => {
  pipeline = await startPipeline({ bedrock: { models: { [DEFAULT_MODEL_ID]: { faults: { modelErrorRate: 1 } } } } });
  env = { QUIRE_API_URL: pipeline.api, QUIRE_NOTIFIER_URL: pipeline.notifierApi, QUIRE_API_KEY: API_KEY };
});
afterAll(() => pipeline?.stop());

function quire() {
  const out: string[] = [];
  const err: string[] = [];
  const program = buildProgram({
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env,
    isTTY: false,
    setExitCode: () => {},
  });
  return { run: (...args: string[]) => program.parseAsync(["node", "quire", ...args]), out, err };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function runCounts(runId: string) {
  return (
    (await (await pipeline.request(`/v1/runs/${runId}`)).json()) as {
      counts: { total: number; complete: number; failed: number };
    }
  ).counts;
}
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(200);
  }
}

describe("dead letters and redrive, through the CLI", () => {
  it("lists failures by queue and code, shows one, and redrives them once the cause is fixed: every job completes once, the run ends 3/3", async () => {
    const response = await pipeline.request("/v1/runs", {
      json: {
        documents: [1, 2, 3].map((n) => ({
          title: `Memo ${n}`,
          text: `Memo ${n}: the quarterly review moves to room ${n}0${n}. Bring the figures.`,
        })),
      },
    });
    const { runId, jobIds } = (await response.json()) as { runId: string; jobIds: string[] };
    expect(
      await until(
        () => runCounts(runId),
        (c) => c.failed === 3,
      ),
    ).toMatchObject({ total: 3, complete: 0, failed: 3 });

    // Every stage message of the failed jobs is in its DLQ: the failing call's reason, or JOB_FAILED.
    const list = quire();
    await until(
      async () => {
        list.out.length = 0;
        await list.run("dlq");
        return list.out.slice(1).reduce((sum, line) => sum + Number(line.split(/\s+/)[1]), 0);
      },
      (count) => count >= 6,
    );
    expect(list.out[0]).toMatch(/^QUEUE\s+COUNT\s+CODE/);
    const rows = list.out.slice(1).map((line) => line.split(/\s+/));
    expect(
      rows
        .filter((row) => row[0] === "summarizer" || row[0] === "classifier")
        .reduce((sum, row) => sum + Number(row[1]), 0),
    ).toBe(6);
    expect(rows.map((row) => row[2])).toContain("MODEL_OUTPUT_INVALID");

    const [queue, , code, , messageId] = rows.find((row) => row[2] === "MODEL_OUTPUT_INVALID")!;
    const show = quire();
    await show.run("dlq", "show", queue!, messageId!);
    expect(show.out[0]).toMatch(/^MODEL_OUTPUT_INVALID: /);
    expect(show.out.some((line) => /^job\s+job_/.test(line))).toBe(true);

    // The cause is fixed; one queue by failure code, the other whole (a move task).
    pipeline.devcloud.bedrock.configureModel(DEFAULT_MODEL_ID, { faults: { modelErrorRate: 0 } });
    const other = queue === "summarizer" ? "classifier" : "summarizer";
    const byCode = quire();
    await byCode.run("dlq", "redrive", queue!, "--code", code!);
    expect(byCode.out[0]).toMatch(/^Redrove \d+ of \d+ dead letters in /);
    await byCode.run("dlq", "redrive", queue!);
    const whole = quire();
    await whole.run("dlq", "redrive", other);
    expect(whole.out[0]).toMatch(/move task/);

    const counts = await until(
      () => runCounts(runId),
      (c) => c.complete === 3,
      45_000,
    );
    expect(counts).toMatchObject({ total: 3, complete: 3, failed: 0 });
    for (const jobId of jobIds) {
      expect(await (await pipeline.request(`/v1/jobs/${jobId}`)).json()).toMatchObject({
        status: "complete",
        classification: { label: expect.any(String) },
      });
    }
    const status = quire();
    await status.run("dlq", "status", other);
    expect(status.out[1]).toMatch(/^COMPLETED/);

    // What subscribers saw: each job failed, then completed, once each; the run announced twice, the last with the
    // final counts.
    const events: SpiedEvent[] = await collectEvents(
      pipeline,
      (seen) => ofType(seen, "Run Completed").length >= 2 && ofType(seen, "Job Completed").length >= 3,
      20_000,
    );
    await sleep(1000);
    events.push(...(await collectEvents(pipeline, () => false, 1500)));
    for (const jobId of jobIds) {
      expect(ofType(events, "Job Failed").filter((event) => event.detail.jobId === jobId)).toHaveLength(1);
      expect(ofType(events, "Job Completed").filter((event) => event.detail.jobId === jobId)).toHaveLength(1);
    }
    const runs = ofType(events, "Run Completed").filter((event) => event.detail.runId === runId);
    expect(runs.map((event) => [event.detail.completed, event.detail.failed])).toEqual([
      [0, 3],
      [3, 0],
    ]);

    const empty = quire();
    await empty.run("dlq");
    expect(empty.out).toEqual(["No dead letters."]);
  }, 120_000);
});
