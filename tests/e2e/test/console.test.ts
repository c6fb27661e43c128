/// <reference lib="dom" />
import { createServer } from "node:net";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { DEFAULT_MODEL_ID } from "@quire/bedrock";
import { startConsoleServer, type ConsoleServer } from "@quire/console";
import { queueOf } from "@quire/pipeline";
import { topology } from "@quire/topology";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  accessibilityViolations,
  browserRequired,
  describeViolations,
  findChromium,
  INSTALL_HINT,
  launchChromium,
  screenshot,
} from "./support/browser.ts";
import { API_KEY, startPipeline, type Pipeline } from "./support/pipeline.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";

/**
 * The console in real headless Chromium, against the whole pipeline on devcloud: what a person
 * sees and does — sign in with a key, watch a run's counts and chart move to completion, open a
 * job, redrive a poison message from dead letters, replay a failed webhook delivery — each page
 * checked with axe-core (WCAG 2.1 AA) and saved as a screenshot (tests/e2e/.artifacts/console).
 */
const chromiumPath = findChromium();
if (!chromiumPath && browserRequired())
  throw new Error(`${INSTALL_HINT} (QUIRE_BROWSER_REQUIRED/CI is set: the browser specs must run.)`);
if (!chromiumPath) console.warn(`\n  SKIPPING the console's browser specs. ${INSTALL_HINT}\n`);

const DOCUMENTS = 24;
const KINDS = [
  "This Agreement is made between the parties. The Tenant shall pay rent. The Landlord hereby grants the lease.",
  "INVOICE number 88. Amount due 120.00. Total due within 30 days. Payment terms net 30.",
  "Dear Sir, thank you for your letter. We will reply soon. Yours sincerely, the team.",
  "Plaintiff moves the Court to dismiss. The defendant filed a motion. Case No. 12-cv-1.",
];

/**
 * A free port below Linux's ephemeral range (32768+), for the console's origin: the pipeline's
 * servers, which bind port 0 after this is chosen, then cannot be given the same one.
 */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
}

describe.skipIf(!chromiumPath)("the console, in Chromium", () => {
  let pipeline: Pipeline;
  let site: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let receiver: Receiver;
  let runId: string;

  beforeAll(async () => {
    const port = await freePort();
    receiver = await startReceiver();
    pipeline = await startPipeline({
      // ~1.5 s per model call: a run of 24 takes several seconds, long enough to watch it move.
      bedrock: { models: { [DEFAULT_MODEL_ID]: { latency: { meanMs: 1500, jitterMs: 300 } } } },
      env: {
        QUIRE_CONSOLE_ORIGINS: `http://127.0.0.1:${port}`,
        // A known quota: a run's deadline is planned against it, and the run page shows that plan.
        QUIRE_BEDROCK_RPM: "600",
        QUIRE_BEDROCK_LATENCY_MS: "1500",
        QUIRE_WEBHOOK_ALLOWLIST: "127.0.0.2",
        QUIRE_WEBHOOK_RETRY_SCHEDULE: "1s",
        QUIRE_NOTIFIER_TIME_SCALE: "0.01",
        QUIRE_WEBHOOK_TIMEOUT_MS: "3000",
      },
    });
    site = await startConsoleServer({
      ingestionApi: pipeline.api,
      notifierApi: pipeline.notifierApi,
      devcloudEndpoint: pipeline.devcloud.endpoint,
      port,
    });
    browser = await launchChromium(chromiumPath!);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await receiver?.close();
    await pipeline?.stop();
  });

  async function expectAccessible(name: string) {
    await screenshot(page, name);
    expect(describeViolations(await accessibilityViolations(page))).toEqual([]);
  }

  it("asks for an API key, keeps it for the tab, and shows the runs", async () => {
    await page.goto(site.url);
    await expectAccessible("sign-in");
    await page.getByLabel("API key").fill(API_KEY);
    await page.getByRole("button", { name: "Open the console" }).click();
    await expect.poll(() => page.getByRole("heading", { name: "Runs" }).count()).toBe(1);
    await page.reload();
    await expect.poll(() => page.getByRole("heading", { name: "Runs" }).count()).toBe(1);
    await expectAccessible("runs-empty");
  });

  it("shows a run's counts and chart moving to completion, live, without a reload", async () => {
    const response = await pipeline.request("/v1/runs", {
      json: {
        documents: Array.from({ length: DOCUMENTS }, (_, i) => ({
          title: `Document ${i}`,
          text: `${KINDS[i % KINDS.length]} Number ${i}.`,
          metadata: { n: i, batch: i < 12 ? "first" : "second" },
        })),
        deadline: "PT10M",
      },
    });
    ({ runId } = (await response.json()) as { runId: string });
    await page.getByRole("link", { name: runId }).click();
    await expect.poll(() => page.locator("h1").textContent()).toContain(runId);

    const complete = page.locator('[data-count="complete"]');
    const seen = new Set<number>();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      seen.add(Number((await complete.textContent())?.replace(/,/g, "")));
      if (seen.has(DOCUMENTS)) break;
      await page.waitForTimeout(250);
    }
    expect([...seen], "the complete counts shown").toContain(DOCUMENTS);
    // It was watched moving: at least one count between none and all showed on the way.
    expect(
      [...seen].some((n) => n > 0 && n < DOCUMENTS),
      `the complete counts shown: ${[...seen]}`,
    ).toBe(true);
    await expect.poll(() => page.locator("h1 .status").textContent()).toBe("complete");
    const points = (await page.locator("polyline.progress").getAttribute("points"))!.split(" ");
    expect(points.length).toBeGreaterThan(2);
    expect(await page.locator('[data-count="failed"]').textContent()).toBe("0");
    // The plan it was given, and the verdict against the deadline.
    const plan = page.getByRole("region", { name: "The plan it was given" });
    expect(await plan.textContent()).toContain("Verdict at submissionfeasible");
    const progress = await page.getByRole("region", { name: "Progress" }).textContent();
    expect(progress).toContain("on track");
    // What it cost: the run's own counted usage, priced (the default model has a default price).
    expect(progress).toMatch(/Cost so far \(on demand\)\$0\.0*[1-9]/);
    // How its model calls were made, as chosen at submission.
    expect(progress).toContain("Model callson demand");
    // Counts by classification add up to the run.
    const byLabel = await page.locator(".hbars li .num").allTextContents();
    expect(byLabel.map(Number).reduce((a, b) => a + b, 0)).toBe(DOCUMENTS);
    await expectAccessible("run");
  });

  it("lists the run's jobs a page at a time, filters them, and opens one with its results and timeline", async () => {
    const jobLinks = page.locator("table a[href^='#/jobs/']");
    await expect.poll(() => jobLinks.count()).toBe(DOCUMENTS);
    await page.getByLabel("Metadata (key:value)").fill("batch:second");
    await page.getByLabel("Metadata (key:value)").press("Enter");
    await expect.poll(() => jobLinks.count()).toBe(DOCUMENTS - 12);
    await page.getByLabel("Metadata (key:value)").fill("n:7");
    await page.getByLabel("Metadata (key:value)").press("Enter");
    await expect.poll(() => jobLinks.count()).toBe(1);
    await page.getByLabel("Metadata (key:value)").fill("");
    await page.getByLabel("Metadata (key:value)").press("Enter");
    await expect.poll(() => jobLinks.count()).toBe(DOCUMENTS);
    await page.getByLabel("Title contains").fill("Document 7");
    await page.getByLabel("Title contains").press("Enter");
    await expect.poll(() => jobLinks.count()).toBe(1);
    await jobLinks.first().click();
    await expect.poll(() => page.locator("h1").textContent()).toContain("job_");
    await expect.poll(() => page.getByRole("heading", { name: "Summary" }).count()).toBe(1);
    expect(await page.locator(".summary-text").textContent()).not.toBe("");
    expect(await page.locator(".timeline").textContent()).toContain("Job Completed");
    expect(await page.locator(".timeline").textContent()).toContain("Summary Completed");
    await expectAccessible("job");
  });

  it("shows a poison message in dead letters, grouped by its code, and redrives it", async () => {
    const { queueUrl } = queueOf(pipeline.config, "summarizer");
    await pipeline.clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "{not json" }));
    await page.getByRole("link", { name: "Dead letters" }).click();
    const group = page.locator("details summary code", { hasText: "MALFORMED_MESSAGE" });
    await expect.poll(() => group.count(), { timeout: 30_000 }).toBe(1);
    await expectAccessible("dead-letters");
    // The message moves back to its queue (and, still poison, soon returns: the panel may change under us),
    // so the redrive is read from the API's answer to the page.
    const redriven = page.waitForResponse(
      (response) =>
        response.url().endsWith("/v1/dead-letters/summarizer/redrive") && response.request().method() === "POST",
    );
    await page.getByRole("button", { name: "Redrive", exact: true }).first().click();
    const answer = await redriven;
    expect(answer.ok()).toBe(true);
    expect(await answer.json()).toMatchObject({ kind: "selected", moved: 1 });
  });

  it("shows a failed webhook delivery with every attempt, and replays it once the endpoint is back", async () => {
    receiver.respondWith(500);
    const created = await pipeline.notifierRequest("/v1/subscriptions", {
      json: { kind: "webhook", url: receiver.url, events: ["job.completed"], description: "Console spec hook" },
    });
    const subscription = (await created.json()) as { id: string; secret: string };
    receiver.verifyWith(subscription.secret);
    await pipeline.request("/v1/documents", { json: { text: KINDS[1], title: "Hooked" } });

    await page.getByRole("link", { name: "Subscriptions" }).click();
    await page.getByRole("link", { name: "Console spec hook" }).click();
    const failed = page.locator("table tr", { has: page.locator(".status.bad", { hasText: "failed" }) });
    await expect.poll(() => failed.count(), { timeout: 30_000 }).toBe(1);
    await expectAccessible("subscription");
    await failed.locator("a").first().click();
    await expect.poll(() => page.locator("h1").textContent()).toContain("dlv_");
    const attempts = page.locator("table tbody tr");
    expect(await attempts.count()).toBe(2);
    expect(await attempts.first().textContent()).toContain("500");
    await expectAccessible("delivery");

    receiver.respondWith(204);
    await page.getByRole("button", { name: "Replay this delivery" }).click();
    await expect.poll(() => page.locator("h1 .status").textContent(), { timeout: 20_000 }).toBe("succeeded");
    receiver.assertVerified();
  });

  it("shows each stage process's governor and every queue's depth on the throughput page, and the local email outbox", async () => {
    await page.getByRole("link", { name: "Throughput" }).click();
    // This process hosts both stages: one governor for the model, reported through the jobs table every 5 s.
    const governors = page.getByRole("table", { name: /Bedrock governors/ }).locator("tbody tr");
    await expect.poll(() => governors.count(), { timeout: 15_000 }).toBe(1);
    expect(await governors.first().textContent()).toContain("classifier,summarizer");
    const queues = page.getByRole("table", { name: "Queue depths" }).locator("tbody tr");
    await expect.poll(() => queues.count()).toBe(Object.keys(topology.queues).length);
    // The poison message, redriven, is back in the summarizer's DLQ.
    expect(
      await queues
        .filter({ hasText: /^summarizer/ })
        .first()
        .textContent(),
    ).toMatch(/1$/);
    await expectAccessible("throughput");
    await page.getByRole("link", { name: "Email outbox" }).click();
    await expect.poll(() => page.getByRole("heading", { name: "Email outbox" }).count()).toBe(1);
    await expectAccessible("outbox");
  });

  it("shows a failed run's failures by reason, each with its jobs", async () => {
    pipeline.devcloud.bedrock.configureModel(DEFAULT_MODEL_ID, { faults: { modelErrorRate: 1 } });
    try {
      const response = await pipeline.request("/v1/runs", {
        json: { documents: [1, 2].map((n) => ({ title: `Doomed ${n}`, text: `${KINDS[0]} Doomed ${n}.` })) },
      });
      const { runId: failing } = (await response.json()) as { runId: string };
      await page.goto(`${site.url}/#/runs/${failing}`);
      await expect.poll(() => page.locator('[data-count="failed"]').textContent(), { timeout: 30_000 }).toBe("2");
      const reasons = page.getByRole("region", { name: "Failures by reason" });
      await expect.poll(() => reasons.locator("li").count()).toBe(1);
      expect(await reasons.locator("li").textContent()).toMatch(/^[A-Z_]+2/);
      expect(await reasons.locator("li a").allTextContents()).toEqual(["Doomed 1", "Doomed 2"]);
      await expectAccessible("run-failed");
    } finally {
      pipeline.devcloud.bedrock.configureModel(DEFAULT_MODEL_ID, { faults: { modelErrorRate: 0 } });
    }
  });

  it("is usable from the keyboard: a skip link first, then the sections", async () => {
    // A fresh load (only the hash would change otherwise, and focus would stay where it was).
    await page.goto(`${site.url}/#/runs`);
    await page.reload();
    await expect.poll(() => page.getByRole("heading", { name: "Runs" }).count()).toBe(1);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Runs");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.evaluate(() => location.hash)).toBe("#/dead-letters");
  });

  it("loads under 200 KB of JavaScript, compressed, and talks to nothing but itself and the two APIs", async () => {
    const fresh = await browser.newPage();
    const origins = new Set<string>();
    let scriptBytes = 0;
    fresh.on("response", async (response) => {
      origins.add(new URL(response.url()).origin);
      if (response.request().resourceType() === "script") {
        const sizes = await response.request().sizes();
        scriptBytes += sizes.responseBodySize;
      }
    });
    await fresh.goto(site.url);
    await fresh.waitForLoadState("networkidle");
    await fresh.close();
    expect(scriptBytes).toBeGreaterThan(0);
    expect(scriptBytes).toBeLessThan(200 * 1024);
    expect([...origins].every((o) => [site.url, pipeline.api, pipeline.notifierApi].includes(o))).toBe(true);
  });
});
