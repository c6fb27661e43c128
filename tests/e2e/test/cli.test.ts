import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { buildProgram } from "@quire/cli";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_KEY, startPipeline, type Pipeline } from "./support/pipeline.ts";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const sample = (name: string) => `${repo}samples/${name}.json`;
let pipeline: Pipeline;
let env: Record<string, string>;

beforeAll(async () => {
  // As under npm start: webhooks may reach loopback, so `quire listen` works.
  pipeline = await startPipeline({ env: { QUIRE_WEBHOOK_ALLOWLIST: "127.0.0.1" } });
  env = { QUIRE_API_URL: pipeline.api, QUIRE_NOTIFIER_URL: pipeline.notifierApi, QUIRE_API_KEY: API_KEY };
});
afterAll(() => pipeline?.stop());

/** The real `quire` program, in-process, against the running pipeline. */
function quire(options: { untilInterrupted?: () => Promise<void> } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  let exitCode = 0;
  const program = buildProgram({
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env,
    isTTY: false,
    setExitCode: (c) => (exitCode = c),
    ...options,
  });
  return {
    run: (...args: string[]) => program.parseAsync(["node", "quire", ...args]),
    out,
    err,
    exitCode: () => exitCode,
  };
}

describe("the quire CLI against the running pipeline", () => {
  it("submit --wait prints each job's classification and summary; status shows it again", async () => {
    const cli = quire();
    await cli.run("submit", sample("lease-agreement"), sample("freight-invoice"), "--wait", "--interval", "100");
    expect(cli.out).toHaveLength(2);
    expect(cli.out[0]).toMatch(/^job_\w+ complete contract ".+" — .+/);
    expect(cli.out[1]).toMatch(/^job_\w+ complete invoice /);

    const jobId = cli.out[0]!.split(" ")[0]!;
    const status = quire();
    await status.run("status", jobId, "--json");
    expect(JSON.parse(status.out[0]!)).toMatchObject({
      jobId,
      status: "complete",
      classification: { label: "contract" },
    });
  });

  it("submit --run --wait follows the run to completion and prints counts per classification", async () => {
    const cli = quire();
    await cli.run(
      "submit",
      sample("lease-agreement"),
      sample("freight-invoice"),
      sample("client-letter"),
      "--run",
      "--wait",
      "--interval",
      "100",
    );
    expect(cli.out[0]).toMatch(/^run_\w+: 3 documents submitted$/);
    const final = cli.out.findIndex((l) => l.includes("3/3 complete, 0 failed"));
    expect(final).toBeGreaterThan(0);
    expect(cli.out.slice(final + 1).map((l) => l.trim().split(/\s+/))).toEqual(
      expect.arrayContaining([
        ["contract", "1"],
        ["invoice", "1"],
      ]),
    );
    expect(cli.exitCode()).toBe(0);
  });

  it("listen subscribes, prints the verified job.completed of a submitted document, and unsubscribes on stop", async () => {
    let interrupt!: () => void;
    const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
    const cli = quire({ untilInterrupted: () => interrupted });
    const listening = cli.run("listen", "--events", "job.completed");
    while (!cli.err.some((l) => l.startsWith("listening on"))) await new Promise((r) => setTimeout(r, 20));
    const subscriptionId = cli.err[0]!.match(/as (sub_\w+)/)![1]!;

    const submitted = quire();
    await submitted.run("submit", sample("remote-work-policy"));
    const jobId = submitted.out[0]!.split(" ")[0]!;
    const deadline = Date.now() + 15_000;
    while (!cli.out.some((l) => l.includes(jobId)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(cli.out.find((l) => l.includes(jobId))).toMatch(new RegExp(`^job.completed ${jobId} policy `));

    interrupt();
    await listening;
    expect((await pipeline.notifierRequest(`/v1/subscriptions/${subscriptionId}`)).status).toBe(404);
  });

  it("subscribe, subscriptions, deliveries and replay manage a webhook subscription", async () => {
    let interrupt!: () => void;
    const listen = quire({ untilInterrupted: () => new Promise<void>((resolve) => (interrupt = resolve)) });
    const listening = listen.run("listen");
    while (!listen.err.some((l) => l.startsWith("listening on"))) await new Promise((r) => setTimeout(r, 20));
    const listenerSubscription = listen.err[0]!.match(/as (sub_\w+)/)![1]!;

    const subscribe = quire();
    await subscribe.run(
      "subscribe",
      "--webhook",
      "http://127.0.0.1:9/nothing-listens",
      "--events",
      "run.completed",
      "--description",
      "cli spec",
    );
    expect(subscribe.out[0]).toMatch(/^sub_\w+ webhook active \(run.completed\)$/);
    expect(subscribe.out[1]).toMatch(/^secret: whsec_/);
    const subscriptionId = subscribe.out[0]!.split(" ")[0]!;

    const list = quire();
    await list.run("subscriptions");
    expect(list.out[0]).toMatch(/^ID\s+KIND\s+TARGET\s+EVENTS\s+STATUS$/);
    expect(list.out.find((l) => l.startsWith(subscriptionId))).toMatch(
      /webhook\s+http:\/\/127.0.0.1:9\/nothing-listens\s+run.completed\s+active/,
    );

    // The listener's own delivery log: a ping through the API, then replayed with the CLI.
    const { deliveryId } = (await (
      await pipeline.notifierRequest(`/v1/subscriptions/${listenerSubscription}/test`, { method: "POST" })
    ).json()) as { deliveryId: string };
    while (!listen.out.some((l) => l.startsWith("ping"))) await new Promise((r) => setTimeout(r, 20));
    // The listener prints the ping before it answers; the worker records success only after the answer.
    await expect
      .poll(
        async () =>
          ((await (await pipeline.notifierRequest(`/v1/deliveries/${deliveryId}`)).json()) as { status: string })
            .status,
        { timeout: 15_000 },
      )
      .toBe("succeeded");
    const deliveries = quire();
    await deliveries.run("deliveries", listenerSubscription);
    expect(deliveries.out.find((l) => l.startsWith(deliveryId))).toMatch(/ping\s+succeeded\s+1\s+204 \d+ms/);
    const replay = quire();
    await replay.run("replay", deliveryId);
    expect(replay.out[0]).toMatch(new RegExp(`^dlv_\\w+ replays ${deliveryId}$`));
    while (listen.out.filter((l) => l.startsWith("ping")).length < 2) await new Promise((r) => setTimeout(r, 20));

    const remove = quire();
    await remove.run("unsubscribe", subscriptionId);
    expect(remove.out).toEqual([`${subscriptionId} deleted`]);
    interrupt();
    await listening;
  });

  it("keys create prints a key once that works on both APIs within its scopes; keys list shows it; revoke stops it", async () => {
    const created = quire();
    await created.run("keys", "create", "ops-reader", "--scopes", "jobs:read,subscriptions:manage");
    const key = created.out[0]!;
    expect(key).toMatch(/^quire_k[0-9a-f]{16}_/);
    const keyId = key.split("_")[1]!;

    const withKey = (args: string[]) => {
      const cli = quire();
      const keyed = buildProgram({
        out: (l) => cli.out.push(l),
        err: (l) => cli.err.push(l),
        env: { ...env, QUIRE_API_KEY: key },
      });
      return keyed.parseAsync(["node", "quire", ...args]).then(() => cli);
    };
    // The notifier accepts the same key (one store), and ingestion refuses what it was not granted.
    expect((await withKey(["subscriptions"])).out[0]).toBeDefined();
    await expect(withKey(["submit", sample("freight-invoice")])).rejects.toMatchObject({ code: "MISSING_SCOPE" });

    const listed = quire();
    await listed.run("keys", "list");
    expect(listed.out.join("\n")).toMatch(
      new RegExp(`${keyId}\\s+ops-reader\\s+jobs:read,subscriptions:manage\\s+active`),
    );
    expect(listed.out.join("\n")).not.toContain(key);

    const missingJob = ["status", "job_01J9Z3K4W8Q2R5T7V9X1Y3Z5A7"];
    await expect(withKey(missingJob)).rejects.toMatchObject({ code: "JOB_NOT_FOUND" });
    await quire().run("keys", "revoke", keyId);
    // At once on the API that revoked it (the notifier's process trusts it up to 10 s more).
    await expect(withKey(missingJob)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("the installed bin runs (re-executing itself on Node 24 when the shell's node is older)", async () => {
    const { stdout } = await promisify(execFile)(`${repo}node_modules/.bin/quire`, ["subscriptions", "--json"], {
      env: { ...process.env, ...env },
    });
    expect(Array.isArray(JSON.parse(stdout))).toBe(true);
  });

  it("an API error reaches the user as its code and message, with exit status 1", async () => {
    const failure = await promisify(execFile)(`${repo}node_modules/.bin/quire`, ["status", "job_0000000000NOPE"], {
      env: { ...process.env, ...env },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(failure).toMatchObject({ code: 1, stderr: "quire: JOB_NOT_FOUND: No job job_0000000000NOPE.\n" });
  });
});
