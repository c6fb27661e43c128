import { Presets, SingleBar } from "cli-progress";
import { Command, InvalidArgumentError, Option } from "commander";
import {
  createQuireClient,
  type EventType,
  type JobView,
  type NewApiKey,
  type QuireClient,
  type RunView,
} from "./client.ts";
import { resolveConnection } from "./connection.ts";
import { readDocuments } from "./documents.ts";
import {
  classificationLines,
  deliveryRow,
  jobLine,
  runDetailLines,
  runLine,
  subscriptionRow,
  table,
} from "./format.ts";
import { LISTEN_PORTS, startListener } from "./listen.ts";

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Draw a progress bar (a terminal) rather than periodic lines. */
  isTTY?: boolean;
  /**
   * Called with a non-zero code when the command ran but something it reports failed (a job):
   * default `process.exitCode`, so a caller embedding the program gets the CLI's exit status.
   */
  setExitCode?(code: number): void;
  /** Resolves when the user wants `listen` to stop (Ctrl-C); tests resolve it themselves. */
  untilInterrupted?: () => Promise<void>;
}

const EVENT_TYPES: EventType[] = ["job.completed", "job.failed", "run.completed"];
const eventList = (value: string): EventType[] => {
  const events = value
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  const unknown = events.filter((e) => !EVENT_TYPES.includes(e as EventType));
  if (unknown.length || !events.length) throw new InvalidArgumentError(`events are ${EVENT_TYPES.join(", ")}`);
  return events as EventType[];
};
const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number");
  return n;
};
const positiveNumber = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number");
  return n;
};
export const KEY_SCOPES: NewApiKey["scopes"] = [
  "documents:submit",
  "jobs:read",
  "subscriptions:manage",
  "dead-letters:manage",
  "keys:manage",
];
const scopeList = (value: string): NewApiKey["scopes"] => {
  const scopes = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = scopes.filter((s) => !KEY_SCOPES.includes(s as NewApiKey["scopes"][number]));
  if (unknown.length || !scopes.length) throw new InvalidArgumentError(`scopes are ${KEY_SCOPES.join(", ")}`);
  return scopes as NewApiKey["scopes"];
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const terminal = (job: JobView) => job.status === "complete" || job.status === "failed";

/** The `quire` command line. Output goes through `io`, so tests run it in-process. */
export function buildProgram(io: CliIo): Command {
  const env = io.env ?? process.env;
  const cwd = io.cwd ?? process.cwd();
  const setExitCode =
    io.setExitCode ??
    ((code: number) => {
      process.exitCode = code;
    });
  const program = new Command()
    .name("quire")
    .description("Submit documents to Quire, follow jobs and runs, and manage notifications.")
    .option("--api-url <url>", "ingestion API (env QUIRE_API_URL, default http://127.0.0.1:3000)")
    .option("--notifier-url <url>", "notifier API (env QUIRE_NOTIFIER_URL, default http://127.0.0.1:3001)")
    .option("--api-key <key>", "API key (env QUIRE_API_KEY, or .quire/api-key from npm start)")
    .exitOverride()
    // Errors stay one line (commander's own, or main's `quire: …`); --help has the rest.
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, "")), writeErr: (s) => io.err(s.replace(/\n$/, "")) });

  const client = (): QuireClient => createQuireClient(resolveConnection(program.opts(), env, cwd));

  program
    .command("submit")
    .description("submit files as documents (.json: { text, title?, metadata? } or an array; other files: their text)")
    .argument("<files...>")
    .option("--wait", "wait for results (a run: show progress until it is done)")
    .option("--run", "submit all files as one run")
    .option("--deadline <duration>", "a run's deadline, ISO 8601 (PT60M)")
    .option("--interval <ms>", "how often to poll while waiting", positiveInt, 1000)
    .option("--json", "print JSON")
    .action(
      async (
        files: string[],
        opts: { wait?: boolean; run?: boolean; deadline?: string; interval: number; json?: boolean },
      ) => {
        const quire = client();
        const documents = await readDocuments(files);
        if (!opts.run) {
          let failed = 0;
          for (const document of documents) {
            let job = await quire.submitDocument(document, opts.wait ? { waitSeconds: 30 } : {});
            while (opts.wait && !terminal(job)) {
              await sleep(opts.interval);
              job = await quire.getJob(job.jobId);
            }
            if (job.status === "failed") failed++;
            io.out(opts.json ? JSON.stringify(job) : jobLine(job));
          }
          if (failed) setExitCode(1);
          return;
        }
        const submitted = await quire.submitRun(documents, opts.deadline ? { deadline: opts.deadline } : {});
        if (opts.json && !opts.wait) return io.out(JSON.stringify(submitted));
        io.out(`${submitted.runId}: ${submitted.total} documents submitted`);
        for (const line of planLines(submitted)) io.out(line);
        if (!opts.wait) return;
        const run = await followRun(quire, submitted.runId, submitted.total, opts.interval, io);
        if (opts.json) io.out(JSON.stringify(run));
        else {
          io.out(runLine(run));
          for (const line of classificationLines(run.countsByClassification)) io.out(line);
        }
        if (run.counts.failed) setExitCode(1);
      },
    );

  program
    .command("status")
    .description("show a job (job_…) or a run (run_…)")
    .argument("<id>")
    .option("--json", "print JSON")
    .action(async (id: string, opts: { json?: boolean }) => {
      if (!id.startsWith("run_") && !id.startsWith("job_"))
        throw new Error(`${id} is neither a job id (job_…) nor a run id (run_…)`);
      const quire = client();
      if (id.startsWith("run_")) {
        const run = await quire.getRun(id);
        if (opts.json) return io.out(JSON.stringify(run));
        io.out(runLine(run));
        for (const line of runDetailLines(run)) io.out(line);
        for (const line of classificationLines(run.countsByClassification)) io.out(line);
        return;
      }
      const job = await quire.getJob(id);
      io.out(opts.json ? JSON.stringify(job) : jobLine(job));
    });

  program
    .command("subscribe")
    .description("subscribe a webhook or an email address to notifications")
    .addOption(new Option("--webhook <url>", "deliver signed webhooks to this URL").conflicts("email"))
    .addOption(new Option("--email <address>", "send email to this address (it must confirm)"))
    .option("--events <list>", `comma-separated: ${EVENT_TYPES.join(", ")}`, eventList)
    .option("--digest", "email: one message per run instead of per job")
    .option("--classification <labels>", "only jobs with one of these labels (comma-separated)")
    .option("--description <text>")
    .action(
      async (opts: {
        webhook?: string;
        email?: string;
        events?: EventType[];
        digest?: boolean;
        classification?: string;
        description?: string;
      }) => {
        // Plain Errors, not commander's: main prints those (commander has printed its own already).
        if (!opts.webhook && !opts.email) throw new Error("say where to deliver: --webhook <url> or --email <address>");
        if (opts.webhook && opts.digest)
          throw new Error("--digest is for email subscriptions (a webhook gets one request per event)");
        const filter = opts.classification
          ? { filter: { classification: opts.classification.split(",").map((l) => l.trim()) } }
          : {};
        const common = {
          ...(opts.events ? { events: opts.events } : {}),
          ...filter,
          ...(opts.description ? { description: opts.description } : {}),
        };
        const created = await client().createSubscription(
          opts.webhook
            ? { kind: "webhook", url: opts.webhook, ...common }
            : { kind: "email", address: opts.email!, mode: opts.digest ? "digest" : "per-job", ...common },
        );
        io.out(`${created.id} ${created.kind} ${created.status} (${created.events.join(", ")})`);
        if (created.kind === "webhook" && created.secret)
          io.out(
            `secret: ${created.secret}   (store it now: it is shown only once, and verifies every delivery's signature)`,
          );
        if (created.kind === "email" && created.status === "pending_confirmation")
          io.out(`a confirmation link was sent to ${created.address}`);
      },
    );

  program
    .command("unsubscribe")
    .argument("<subscriptionId>")
    .action(async (subscriptionId: string) => {
      await client().deleteSubscription(subscriptionId);
      io.out(`${subscriptionId} deleted`);
    });

  program
    .command("subscriptions")
    .description("list subscriptions")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const subscriptions = await client().listSubscriptions();
      if (opts.json) return io.out(JSON.stringify(subscriptions));
      for (const line of table(["ID", "KIND", "TARGET", "EVENTS", "STATUS"], subscriptions.map(subscriptionRow)))
        io.out(line);
    });

  program
    .command("deliveries")
    .description("a subscription's delivery log, newest first")
    .argument("<subscriptionId>")
    .option("--status <status>", "only deliveries in this status (failed, succeeded, retrying, …)")
    .option("--json", "print JSON")
    .action(async (subscriptionId: string, opts: { status?: string; json?: boolean }) => {
      const deliveries = await client().listDeliveries(subscriptionId, opts.status ? { status: opts.status } : {});
      if (opts.json) return io.out(JSON.stringify(deliveries));
      for (const line of table(["ID", "EVENT", "STATUS", "ATTEMPTS", "LAST", "NEXT"], deliveries.map(deliveryRow)))
        io.out(line);
    });

  program
    .command("replay")
    .description("send a delivery again, or every failed delivery of a subscription since a time")
    .argument("[deliveryId]")
    .option("--subscription <id>")
    .option("--since <time>", "ISO time (with --subscription)")
    .action(async (deliveryId: string | undefined, opts: { subscription?: string; since?: string }) => {
      if (deliveryId && (opts.subscription || opts.since))
        throw new Error("give either a delivery id or --subscription <id> --since <time>, not both");
      if (deliveryId) {
        const replayed = await client().replayDelivery(deliveryId);
        return io.out(`${replayed.deliveryId} replays ${replayed.replayOf}`);
      }
      if (!opts.subscription || !opts.since)
        throw new Error("give a delivery id, or --subscription <id> --since <time>");
      const since = new Date(opts.since);
      if (Number.isNaN(since.getTime()))
        throw new Error(`--since ${opts.since} is not a time (ISO 8601, e.g. 2026-11-23T09:00:00Z)`);
      const { replayed } = await client().replayFailedSince(opts.subscription, since.toISOString());
      io.out(`${replayed} failed deliveries replayed`);
    });

  const dlq = program
    .command("dlq")
    .description("dead letters: why messages failed, and sending them back to work once the cause is fixed");
  dlq
    .command("list", { isDefault: true })
    .description("each queue's dead letters, grouped by failure code")
    .option("--queue <name>", "one queue (as the topology names it: summarizer, classifier, …)")
    .action(async (opts: { queue?: string }) => {
      const queues = await client().listDeadLetters(opts);
      const rows = queues.flatMap((queue) =>
        queue.groups.length === 0
          ? queue.approximateCount > 0
            ? [[queue.queue, String(queue.approximateCount), "(not read)", "", ""]]
            : []
          : queue.groups.map((group) => [
              queue.queue,
              String(group.count),
              group.code,
              group.samples[0]?.jobId ?? "",
              group.samples[0]?.messageId ?? "",
            ]),
      );
      if (rows.length === 0) return io.out("No dead letters.");
      for (const line of table(["QUEUE", "COUNT", "CODE", "SAMPLE JOB", "SAMPLE MESSAGE"], rows)) io.out(line);
    });
  dlq
    .command("show")
    .description("one dead letter: its reason, its job and its body")
    .argument("<queue>")
    .argument("<messageId>")
    .action(async (queue: string, messageId: string) => {
      const letter = await client().getDeadLetter(queue, messageId);
      io.out(`${letter.reason.code}: ${letter.reason.message}`);
      if (letter.jobId) io.out(`job       ${letter.jobId}${letter.runId ? ` (run ${letter.runId})` : ""}`);
      if (letter.receiveCount !== undefined) io.out(`attempts  ${letter.receiveCount}`);
      if (letter.deadLetteredAt) io.out(`given up  ${letter.deadLetteredAt}`);
      io.out(`body      ${letter.body.length > 400 ? `${letter.body.slice(0, 400)}…` : letter.body}`);
    });
  dlq
    .command("redrive")
    .description("send a queue's dead letters back to work: all (a move task), one failure code, or one message")
    .argument("<queue>")
    .option("--code <code>", "only this failure code")
    .option("--message <messageId>", "only this dead letter")
    .option("--rate <perSecond>", "whole queue: at most this many messages a second", positiveInt)
    .action(async (queue: string, opts: { code?: string; message?: string; rate?: number }) => {
      const result = await client().redrive(queue, {
        ...(opts.code ? { code: opts.code } : {}),
        ...(opts.message ? { messageId: opts.message } : {}),
        ...(opts.rate ? { maxPerSecond: opts.rate } : {}),
      });
      if (result.kind === "move-task")
        io.out(
          `Redriving ${queue}'s dead letters (move task ${result.taskHandle}); follow it with: quire dlq status ${queue}`,
        );
      else io.out(`Redrove ${result.moved} of ${result.scanned} dead letters in ${queue}.`);
    });
  dlq
    .command("status")
    .description("a queue's whole-queue redrives and their progress")
    .argument("<queue>")
    .action(async (queue: string) => {
      const tasks = await client().listRedrives(queue);
      if (tasks.length === 0) return io.out(`No redrives of ${queue}.`);
      for (const line of table(
        ["STATUS", "MOVED", "TO MOVE", "STARTED", "FAILURE"],
        tasks.map((task) => [
          task.status,
          String(task.moved),
          task.toMove === undefined ? "" : String(task.toMove),
          task.startedAt ?? "",
          task.failureReason ?? "",
        ]),
      ))
        io.out(line);
    });

  const keys = program
    .command("keys")
    .description("API keys: many named keys with scopes and limits, working on both APIs (needs keys:manage)");
  keys
    .command("list", { isDefault: true })
    .description("every key: id, name, scopes, status, last use (never the keys themselves)")
    .action(async () => {
      const listed = await client().listKeys();
      if (listed.length === 0) return io.out("No keys (besides the bootstrap key, QUIRE_API_KEY).");
      for (const line of table(
        ["KEY", "NAME", "SCOPES", "STATUS", "CREATED", "LAST USED"],
        listed.map((key) => [
          key.keyId,
          key.name,
          key.scopes.join(","),
          key.status === "expiring" ? `expiring ${key.validUntil}` : key.status,
          key.createdAt,
          key.lastUsedAt ?? "never",
        ]),
      ))
        io.out(line);
    });
  keys
    .command("create")
    .description("create a key; it is printed once, here: store it now")
    .argument("<name>")
    .requiredOption("--scopes <list>", `comma-separated: ${KEY_SCOPES.join(", ")}`, scopeList)
    .option("--rate <perSecond>", "requests per second (default: the deployment's)", positiveNumber)
    .option("--burst <requests>", "requests at once (default: the deployment's)", positiveInt)
    .option("--waits <requests>", "?wait= requests in flight (default: the deployment's)", positiveInt)
    .action(
      async (name: string, opts: { scopes: NewApiKey["scopes"]; rate?: number; burst?: number; waits?: number }) => {
        const limited = opts.rate !== undefined || opts.burst !== undefined || opts.waits !== undefined;
        if (limited && (opts.rate === undefined || opts.burst === undefined || opts.waits === undefined))
          throw new Error("--rate, --burst and --waits go together: give all three, or none for the defaults");
        const issued = await client().createKey({
          name,
          scopes: opts.scopes,
          ...(limited
            ? { limits: { requestsPerSecond: opts.rate!, burst: opts.burst!, concurrentWaits: opts.waits! } }
            : {}),
        });
        io.out(issued.key);
        io.err(`Created ${issued.keyId} (${issued.scopes.join(", ")}). The key above is shown only now.`);
      },
    );
  keys
    .command("rotate")
    .description("issue a successor (printed once) and keep the old key working for an overlap")
    .argument("<keyId>")
    .option("--overlap <seconds>", "how long the old key keeps working (default a day; 0: stop it now)", positiveInt)
    .action(async (keyId: string, opts: { overlap?: number }) => {
      const rotated = await client().rotateKey(
        keyId,
        opts.overlap !== undefined ? { overlapSeconds: opts.overlap } : {},
      );
      io.out(rotated.key);
      io.err(
        `${keyId} is replaced by ${rotated.keyId}; it works until ${rotated.previous.validUntil}. The key above is shown only now.`,
      );
    });
  keys
    .command("revoke")
    .description("stop a key for good (every API process refuses it within 10 s)")
    .argument("<keyId>")
    .option("--with-successors", "also revoke the keys it was rotated into (a leaked key's holder may have rotated it)")
    .action(async (keyId: string, opts: { withSuccessors?: boolean }) => {
      const revoked = await client().revokeKey(keyId, { withSuccessors: opts.withSuccessors === true });
      io.out(`Revoked ${revoked.keyId} (${revoked.name}) at ${revoked.revokedAt}.`);
      for (const successor of revoked.revokedSuccessors ?? []) io.out(`Revoked its successor ${successor}.`);
      if (revoked.rotatedTo && !opts.withSuccessors)
        io.err(`Its successor ${revoked.rotatedTo} still works; --with-successors revokes it too.`);
    });

  program
    .command("listen")
    .description("receive notifications locally: subscribes a receiver, verifies signatures, prints events")
    .option(
      "--port <port>",
      `port to listen on (0: any free one; default: the first free of ${LISTEN_PORTS.first}-${LISTEN_PORTS.last}, the ports npm start lets webhooks reach)`,
      positiveInt,
    )
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--events <list>", `comma-separated: ${EVENT_TYPES.join(", ")}`, eventList)
    .option("--json", "print each event as JSON")
    .action(async (opts: { port?: number; host: string; events?: EventType[]; json?: boolean }) => {
      const listener = await startListener({
        client: client(),
        io,
        ...(opts.port === undefined ? { ports: LISTEN_PORTS } : { port: opts.port }),
        host: opts.host,
        ...(opts.events ? { events: opts.events } : {}),
        ...(opts.json ? { json: true } : {}),
      });
      io.err(
        `listening on ${listener.url} as ${listener.subscriptionId}; Ctrl-C to stop (the subscription is removed)`,
      );
      await (io.untilInterrupted ?? waitForSignal)();
      await listener.stop();
    });

  return program;
}

const waitForSignal = () =>
  new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });

/** Poll a run until it is complete: a bar on a terminal, a line per poll otherwise. */
async function followRun(
  quire: QuireClient,
  runId: string,
  total: number,
  intervalMs: number,
  io: CliIo,
): Promise<RunView> {
  const bar = io.isTTY
    ? new SingleBar(
        { format: "{bar} {value}/{total} | {rate} docs/s | ETA {eta_at} | {failed} failed", hideCursor: true },
        Presets.shades_classic,
      )
    : undefined;
  bar?.start(total, 0, { rate: 0, eta_at: "-", failed: 0 });
  let lastLine = "";
  for (;;) {
    const run = await quire.getRun(runId);
    const done = run.counts.complete + run.counts.failed;
    if (bar) {
      bar.update(done, {
        rate: run.throughput.documentsPerSecond,
        eta_at: run.eta ? new Date(run.eta).toLocaleTimeString("en-GB", { hour12: false }) : "-",
        failed: run.counts.failed,
      });
    } else if (run.status !== "complete") {
      // Without a terminal, a line per poll, skipping polls where nothing moved.
      const line = runLine(run);
      if (line !== lastLine) io.out(line);
      lastLine = line;
    }
    if (run.status === "complete") {
      bar?.stop();
      return run;
    }
    await sleep(intervalMs);
  }
}

/** The ingestion API may say how it plans to meet a run's deadline; show whatever it adds. */
function planLines(submitted: Record<string, unknown>): string[] {
  const known = new Set(["runId", "jobIds", "total", "links", "status"]);
  return Object.entries(submitted)
    .filter(([key]) => !known.has(key))
    .map(([key, value]) => `  ${key}: ${typeof value === "object" ? JSON.stringify(value) : String(value)}`);
}
