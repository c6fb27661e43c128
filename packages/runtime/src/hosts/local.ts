import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { processMessage, type Consumer, type Outcome } from "../consumer.ts";
import { sendToDeadLetterQueue } from "../dead-letter.ts";
import { MAX_VISIBILITY_TIMEOUT_SECONDS, resolveRedeliveryPolicy, type RedeliveryPolicy } from "../redelivery.ts";
import { createLogger, type Logger } from "../logger.ts";

export interface LocalRunnerOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Where permanent failures go at once. Without it they are retried until SQS's redrive moves them. */
  deadLetterQueueUrl?: string | undefined;
  /** Most messages in flight at once (default 10). */
  concurrency?: number | undefined;
  /** Long poll (default 20). */
  waitTimeSeconds?: number | undefined;
  /** The queue's visibility timeout; heartbeats extend it by this much. Default: read from the queue. */
  visibilityTimeoutSeconds?: number | undefined;
  /** How often a running handler's message is made invisible again (default visibility / 3). */
  heartbeatIntervalSeconds?: number | undefined;
  /**
   * On stop(): how long in-flight handlers may finish before they are aborted and released
   * (default 10000). A pending long poll is cut at once, so an idle runner stops promptly.
   */
  shutdownGraceMs?: number | undefined;
  /**
   * Seconds until a transiently failed message is visible again, by its receive count; `false`
   * leaves the queue's visibility timeout. Default: the redelivery policy's growing, jittered
   * delay (2, 4, 8 … s up to 5 minutes; see redelivery.ts), lengthened by a failure's own hint.
   */
  retryDelaySeconds?: ((receiveCount: number, visibilityTimeoutSeconds: number) => number) | false | undefined;
  /** Backoff and age budget for transient failures (default DEFAULT_REDELIVERY_POLICY). */
  redelivery?: Partial<RedeliveryPolicy> | undefined;
  /** Deliveries before SQS redrives to the DLQ; default: read from the queue's RedrivePolicy. */
  maxReceiveCount?: number | undefined;
  /**
   * Backpressure from downstream (the Bedrock governor): receive no more than `free()` messages
   * on top of the slot limit, and while it is 0 wait instead of receiving, so no message sits
   * received-but-unstarted, burning its visibility timeout.
   */
  admission?: RunnerAdmission | undefined;
  log?: Logger | undefined;
}

export interface RunnerAdmission {
  /** How many more messages could start work now. */
  free(): number;
  /** The runner took these many messages (they will ask for capacity as they start). */
  taken(count: number): void;
  /** Resolves when free() may have changed; rejects when the signal aborts. */
  wait(signal: AbortSignal): Promise<void>;
}

export interface LocalRunnerStats {
  /** Messages received (those released unstarted at shutdown included). */
  received: number;
  succeeded: number;
  /** Handler failures left on the queue for redelivery (transient, or permanent without a DLQ). */
  failed: number;
  deadLettered: number;
  /** Handlers running now. */
  inFlight: number;
  /** Total time spent in handlers (ms), for the per-message cost of this hop. */
  handlerMs: number;
  /** Receives failed in a row just now (devcloud or SQS unreachable); 0 once one succeeds. */
  receiveFailures: number;
}

/**
 * Where a runner is: reading its queue's settings, polling (receiving and handling; a receive
 * that fails is retried with backoff, and `stats.receiveFailures` counts the streak), stopping
 * (no more receives, in-flight handlers finishing or released), stopped.
 */
export type LocalRunnerState = "starting" | "polling" | "stopping" | "stopped";

export interface LocalRunner {
  /** Stop receiving, let in-flight handlers finish within the grace period, release the rest. */
  stop(): Promise<void>;
  readonly state: LocalRunnerState;
  readonly stats: LocalRunnerStats;
}

interface Job {
  readonly message: Message & { ReceiptHandle: string; MessageId: string };
  readonly receiveCount: number;
  readonly controller: AbortController;
  /** "handling" until the handler returns; then its outcome is being applied to SQS. */
  phase: "handling" | "settling";
  /** Set when stop() gave the message back: its handler's late outcome is ignored. */
  released: boolean;
  heartbeat?: ReturnType<typeof setInterval> | undefined;
  /** The visibility extension in flight, if any. */
  extending?: Promise<unknown> | undefined;
  done?: Promise<void>;
}

/** The String message attributes by name. */
function stringAttributes(attributes: Message["MessageAttributes"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes ?? {}))
    if (value.StringValue !== undefined) out[name] = value.StringValue;
  return out;
}

/** Receive-error backoff: 100 ms doubling to 10 s, jittered so many runners do not retry in step. */
const receiveBackoffMs = (attempt: number) => {
  const ceiling = Math.min(10_000, 100 * 2 ** Math.min(attempt - 1, 10));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
};

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Deletes coalesced into DeleteMessageBatch calls: the first delete goes out alone, those
 * arriving while it is in flight go together in the next call (no timer adds latency).
 */
function createDeleteBatcher(sqs: SQSClient, queueUrl: string, log: Logger) {
  type Pending = { id: string; receiptHandle: string; resolve: (deleted: boolean) => void };
  let pending: Pending[] = [];
  let draining: Promise<void> | undefined;

  async function drain() {
    while (pending.length) {
      const batch = pending.slice(0, 10);
      pending = pending.slice(10);
      const entries = batch.map((p, i) => ({ Id: String(i), ReceiptHandle: p.receiptHandle }));
      try {
        const result = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        const failed = new Map((result.Failed ?? []).map((f) => [f.Id, f]));
        batch.forEach((p, i) => {
          const failure = failed.get(String(i));
          // The message comes back after its visibility timeout and is handled again: handlers are idempotent.
          if (failure)
            log.warn("delete failed; the message will be redelivered", {
              messageId: p.id,
              code: failure.Code,
              reason: failure.Message,
            });
          p.resolve(!failure);
        });
      } catch (error) {
        log.warn("delete failed; the messages will be redelivered", { messageIds: batch.map((p) => p.id), error });
        for (const p of batch) p.resolve(false);
      }
    }
    draining = undefined;
  }

  return {
    delete(id: string, receiptHandle: string): Promise<boolean> {
      return new Promise((resolve) => {
        pending.push({ id, receiptHandle, resolve });
        draining ??= drain();
      });
    },
    flush: (): Promise<void> => draining ?? Promise.resolve(),
  };
}

/**
 * The local host: long-polls one queue and runs the consumer on each message, at most
 * `concurrency` at a time. It asks SQS only for as many messages as it has free slots, so no
 * received message waits (burning visibility time) for a handler to finish.
 */
export function startLocalRunner<T>(consumer: Consumer<T>, options: LocalRunnerOptions): LocalRunner {
  const { sqs, queueUrl, deadLetterQueueUrl } = options;
  const concurrency = options.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  const waitTimeSeconds = options.waitTimeSeconds ?? 20;
  const shutdownGraceMs = options.shutdownGraceMs ?? 10_000;
  const retryDelay = options.retryDelaySeconds;
  const redelivery = resolveRedeliveryPolicy(options.redelivery);
  const queueName = queueUrl.split("/").at(-1) ?? queueUrl;
  const log = (options.log ?? createLogger({ host: "local" })).child({ queue: queueName });

  const counters = { received: 0, succeeded: 0, failed: 0, deadLettered: 0, handlerMs: 0 };
  /** From the option, else the queue's RedrivePolicy (read with the visibility timeout). */
  let maxReceiveCount = options.maxReceiveCount;
  /** Running handlers by receipt handle. */
  const jobs = new Map<string, Job>();
  const deleter = createDeleteBatcher(sqs, queueUrl, log);

  let stopping = false;
  let state: LocalRunnerState = "starting";
  /** Receives failed in a row (reported in stats, for health). */
  let failures = 0;
  /** Wakes the loop out of a backoff sleep or a wait for a free slot. */
  const stopSignal = new AbortController();
  /** Cuts a pending long poll short when stop() is called (see stop()). */
  const receiveAbort = new AbortController();
  let slotFreed: (() => void) | undefined;
  const wake = () => {
    slotFreed?.();
    slotFreed = undefined;
  };

  async function changeVisibility(job: Job, seconds: number, why: string): Promise<boolean> {
    try {
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: job.message.ReceiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
      return true;
    } catch (error) {
      log.warn(`could not change visibility (${why})`, {
        messageId: job.message.MessageId,
        visibilityTimeout: seconds,
        error,
      });
      return false;
    }
  }

  /** Hide a failed message for its retry delay: it waits in the queue, not in this process. */
  async function retryLater(job: Job, visibility: number, retryAfterSeconds: number) {
    if (retryDelay === false) return;
    const chosen = retryDelay === undefined ? retryAfterSeconds : retryDelay(job.receiveCount, visibility);
    const seconds = Math.max(0, Math.min(MAX_VISIBILITY_TIMEOUT_SECONDS, Math.round(chosen)));
    await changeVisibility(job, seconds, "retry backoff");
  }

  async function settle(job: Job, outcome: Outcome, messageLog: Logger, visibility: number) {
    const { message } = job;
    switch (outcome.status) {
      case "succeeded":
        counters.succeeded++;
        await deleter.delete(message.MessageId, message.ReceiptHandle);
        return;
      case "transient":
        counters.failed++;
        await retryLater(job, visibility, outcome.retryAfterSeconds);
        return;
      case "permanent": {
        const { reason } = outcome;
        if (!deadLetterQueueUrl) {
          counters.failed++;
          messageLog.error("permanent failure and no dead-letter queue configured; SQS redrive will move it", {
            reason,
          });
          await retryLater(job, visibility, 0);
          return;
        }
        try {
          await sendToDeadLetterQueue({
            sqs,
            deadLetterQueueUrl,
            body: message.Body ?? "",
            messageAttributes: message.MessageAttributes,
            reason,
            source: {
              queueName,
              messageId: message.MessageId,
              receiveCount: job.receiveCount,
              messageGroupId: message.Attributes?.MessageGroupId,
            },
            log: messageLog,
          });
        } catch (error) {
          counters.failed++;
          messageLog.error("dead-lettering failed; the message will be redelivered", { reason, error });
          await retryLater(job, visibility, redelivery.baseDelaySeconds);
          return;
        }
        counters.deadLettered++;
        messageLog.error("message dead-lettered", { reason, deadLetterQueueUrl });
        // If this delete fails the message is dead-lettered again on redelivery: a duplicate, never a loss.
        await deleter.delete(message.MessageId, message.ReceiptHandle);
        return;
      }
    }
  }

  function start(message: Job["message"], visibility: number, heartbeatMs: number) {
    const job: Job = {
      message,
      receiveCount: Number(message.Attributes?.ApproximateReceiveCount) || 1,
      controller: new AbortController(),
      phase: "handling",
      released: false,
    };
    jobs.set(message.ReceiptHandle, job);

    // Keep the message invisible while the handler runs; one extension at a time.
    job.heartbeat = setInterval(() => {
      if (job.extending) return;
      job.extending = changeVisibility(job, visibility, "heartbeat").finally(() => {
        job.extending = undefined;
      });
    }, heartbeatMs);

    job.done = (async () => {
      try {
        const handlerStarted = performance.now();
        const { outcome, log: messageLog } = await processMessage(
          consumer,
          {
            body: message.Body ?? "",
            messageId: message.MessageId,
            receiveCount: job.receiveCount,
            queueName,
            signal: job.controller.signal,
            maxReceiveCount,
            sentAt: Number(message.Attributes?.SentTimestamp) || undefined,
            attributes: stringAttributes(message.MessageAttributes),
          },
          log,
          { redelivery },
        );
        counters.handlerMs += performance.now() - handlerStarted;
        clearInterval(job.heartbeat);
        // Released at shutdown: another worker may hold the message now, so its fate is not ours to decide.
        if (job.released) return;
        job.phase = "settling";
        // A heartbeat landing after a retry backoff would push the retry out to a full timeout.
        await job.extending;
        await settle(job, outcome, messageLog, visibility);
      } catch (error) {
        // settle() handles its own failures; this is a last line so the runner never crashes.
        log.error("unexpected error while settling a message", { messageId: message.MessageId, error });
      } finally {
        clearInterval(job.heartbeat);
        jobs.delete(message.ReceiptHandle);
        wake();
      }
    })();
  }

  /** Give a message back at once (visibility 0), so another worker picks it up without waiting. */
  async function release(job: Job, reason: string) {
    job.released = true;
    clearInterval(job.heartbeat);
    job.controller.abort(new Error(reason));
    jobs.delete(job.message.ReceiptHandle);
    // A heartbeat landing after the release would hide the message again for a full timeout.
    await job.extending;
    if (await changeVisibility(job, 0, "release"))
      log.info("message released", { messageId: job.message.MessageId, reason });
  }

  async function readVisibilityTimeout(): Promise<number | undefined> {
    for (let attempt = 1; !stopping; attempt++) {
      try {
        const { Attributes } = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["VisibilityTimeout", "RedrivePolicy"] }),
        );
        if (maxReceiveCount === undefined && Attributes?.RedrivePolicy) {
          const fromPolicy = Number(
            (JSON.parse(Attributes.RedrivePolicy) as { maxReceiveCount?: unknown }).maxReceiveCount,
          );
          if (Number.isInteger(fromPolicy) && fromPolicy > 0) maxReceiveCount = fromPolicy;
        }
        const seconds = Number(Attributes?.VisibilityTimeout);
        if (Number.isFinite(seconds)) return seconds;
        throw new Error(`queue reported VisibilityTimeout ${Attributes?.VisibilityTimeout}`);
      } catch (error) {
        const retryInMs = receiveBackoffMs(attempt);
        log.warn("could not read the queue's visibility timeout; retrying", { error, attempt, retryInMs });
        await sleep(retryInMs, stopSignal.signal);
      }
    }
    return undefined;
  }

  async function loop() {
    const visibility = options.visibilityTimeoutSeconds ?? (await readVisibilityTimeout());
    if (visibility === undefined) return;
    // Inside the visibility window by default; a floor so a tiny timeout cannot turn heartbeats into a busy loop.
    const heartbeatMs = Math.max(250, (options.heartbeatIntervalSeconds ?? Math.max(1, visibility) / 3) * 1000);
    log.info("runner started", { concurrency, visibilityTimeout: visibility, heartbeatMs: Math.round(heartbeatMs) });
    if (!stopping) state = "polling";

    while (!stopping) {
      const slots = concurrency - jobs.size;
      if (slots <= 0) {
        await new Promise<void>((resolve) => (slotFreed = resolve));
        continue;
      }
      const free = options.admission ? Math.min(slots, options.admission.free()) : slots;
      if (free <= 0) {
        await options.admission!.wait(stopSignal.signal).catch(() => {});
        continue;
      }
      let messages: Message[];
      try {
        const result = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: Math.min(10, free),
            WaitTimeSeconds: waitTimeSeconds,
            MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
            MessageAttributeNames: ["All"],
          }),
          { abortSignal: receiveAbort.signal },
        );
        messages = result.Messages ?? [];
        failures = 0;
        if (messages.length) options.admission?.taken(messages.length);
      } catch (error) {
        if (receiveAbort.signal.aborted || stopping) break;
        // devcloud restarting, a network blip, throttling: wait and poll again, never crash.
        failures++;
        const retryInMs = receiveBackoffMs(failures);
        log.warn("receive failed; retrying", { error, attempt: failures, retryInMs });
        await sleep(retryInMs, stopSignal.signal);
        continue;
      }

      const late: Promise<void>[] = [];
      for (const message of messages) {
        if (!message.ReceiptHandle || !message.MessageId) continue;
        counters.received++;
        const withIds = message as Job["message"];
        if (stopping) {
          // The long poll answered after stop(): hand these straight back rather than strand them.
          late.push(
            release(
              {
                message: withIds,
                receiveCount: 0,
                controller: new AbortController(),
                phase: "handling",
                released: false,
              },
              "runner stopping",
            ),
          );
        } else {
          start(withIds, visibility, heartbeatMs);
        }
      }
      await Promise.all(late);
    }
  }

  const running = loop().catch((error: unknown) => {
    // Unreachable by design (every await above is guarded); logged rather than an unhandled rejection.
    log.error("runner loop crashed", { error });
  });

  let stopping$: Promise<void> | undefined;
  function stop(): Promise<void> {
    stopping$ ??= (async () => {
      stopping = true;
      state = "stopping";
      stopSignal.abort();
      wake();
      // The pending long poll is cut at once, so an idle runner stops in milliseconds rather than
      // the poll's wait time. SQS may hand a message to a poll whose caller has gone; devcloud
      // gives such a message back at once (its edge releases what a ReceiveMessage answer carries
      // to a caller that hung up), and on AWS it is redelivered after its visibility timeout — a
      // delay, never a loss. A poll that answered before the cut is handed back below.
      receiveAbort.abort();

      const timeout = (ms: number) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const promise = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms)));
        return { promise, cancel: () => clearTimeout(timer) };
      };

      // Handlers get the grace period to finish.
      const grace = timeout(shutdownGraceMs);
      const handlers = Promise.all([...jobs.values()].map((job) => job.done)).then(() => "done" as const);
      const result = await Promise.race([handlers, grace.promise]);
      grace.cancel();

      if (result === "timeout") {
        // Handlers still running are aborted and their messages released; those already applying
        // their outcome (a delete, a DLQ send) are short network calls and are let finish.
        const left = [...jobs.values()];
        await Promise.all(
          left.map((job) =>
            job.phase === "handling" ? release(job, "runner stopped before the handler finished") : job.done,
          ),
        );
      }

      // The loop ends at once now that its poll is cut (a poll that had already answered hands
      // its messages back first).
      await running;
      await deleter.flush();
      state = "stopped";
      log.info("runner stopped", { ...counters });
    })();
    return stopping$;
  }

  return {
    stop,
    get state() {
      return state;
    },
    get stats(): LocalRunnerStats {
      return { ...counters, handlerMs: Math.round(counters.handlerMs), inFlight: jobs.size, receiveFailures: failures };
    },
  };
}
