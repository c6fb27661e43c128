import { ReceiveMessageCommand, type Message } from "@aws-sdk/client-sqs";
import { processMessage, type Consumer } from "../../consumer.ts";
import { createLogger } from "../../logger.ts";
import { resolveRedeliveryPolicy } from "../../redelivery.ts";
import { createDeleteBatcher } from "./delete-batcher.ts";
import { MessageLease, type ReceivedMessage } from "./lease.ts";
import { readQueueSettings } from "./queue-settings.ts";
import { createSettler } from "./settle.ts";
import { receiveBackoffMs, sleep } from "./timing.ts";
import type { LocalRunner, LocalRunnerOptions, LocalRunnerState, SettledCounts } from "./types.ts";

export type {
  LocalRunner,
  LocalRunnerOptions,
  LocalRunnerState,
  LocalRunnerStats,
  RunnerAdmission,
} from "./types.ts";

/** The String message attributes by name. */
function stringAttributes(attributes: Message["MessageAttributes"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes ?? {}))
    if (value.StringValue !== undefined) out[name] = value.StringValue;
  return out;
}

/** Resolves with "timeout" after `ms` unless cancelled. */
function timeout(ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms)));
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * The local host: long-polls one queue and runs the consumer on each message, at most
 * `concurrency` at a time. It asks SQS only for as many messages as it has free slots, so no
 * received message waits (burning visibility time) for a handler to finish.
 *
 * Its parts, each in its own file: the queue's settings, read once (queue-settings.ts); a
 * lease per message held — heartbeat and release (lease.ts); applying a handler's outcome —
 * delete, retry later, dead-letter (settle.ts), with deletes batched (delete-batcher.ts). What
 * is left here is the receive loop and stop().
 */
export function startLocalRunner<T>(consumer: Consumer<T>, options: LocalRunnerOptions): LocalRunner {
  const { sqs, queueUrl } = options;
  const concurrency = options.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  const waitTimeSeconds = options.waitTimeSeconds ?? 20;
  const shutdownGraceMs = options.shutdownGraceMs ?? 10_000;
  const redelivery = resolveRedeliveryPolicy(options.redelivery);
  const queueName = queueUrl.split("/").at(-1) ?? queueUrl;
  const log = (options.log ?? createLogger({ host: "local" })).child({ queue: queueName });

  const counts: SettledCounts = { received: 0, succeeded: 0, failed: 0, deadLettered: 0, handlerMs: 0 };
  const deleter = createDeleteBatcher(sqs, queueUrl, log);
  const settle = createSettler({
    sqs,
    queueName,
    deadLetterQueueUrl: options.deadLetterQueueUrl,
    deleter,
    counts,
    retryDelay: options.retryDelaySeconds,
    redelivery,
  });
  /** The messages this runner holds, by receipt handle. */
  const leases = new Map<string, MessageLease>();
  /** From the option, else the queue's RedrivePolicy. */
  let maxReceiveCount = options.maxReceiveCount;

  let stopping = false;
  let state: LocalRunnerState = "starting";
  /** Receives failed in a row (reported in stats, for health). */
  let receiveFailures = 0;
  /** Wakes the loop out of a backoff sleep or a wait for a free slot. */
  const stopSignal = new AbortController();
  /** Cuts a pending long poll short when stop() is called (see stop()). */
  const receiveAbort = new AbortController();
  let slotFreed: (() => void) | undefined;
  const wake = () => {
    slotFreed?.();
    slotFreed = undefined;
  };

  /** Runs the handler on a leased message and settles its outcome; never throws. */
  async function handle(lease: MessageLease, visibility: number) {
    const { message } = lease;
    try {
      const handlerStarted = performance.now();
      const { outcome, log: messageLog } = await processMessage(
        consumer,
        {
          body: message.Body ?? "",
          messageId: message.MessageId,
          receiveCount: lease.receiveCount,
          queueName,
          signal: lease.controller.signal,
          maxReceiveCount,
          sentAt: Number(message.Attributes?.SentTimestamp) || undefined,
          attributes: stringAttributes(message.MessageAttributes),
        },
        log,
        { redelivery },
      );
      counts.handlerMs += performance.now() - handlerStarted;
      await lease.stopHeartbeat();
      // Released at shutdown: another worker may hold the message now, so its fate is not ours to decide.
      if (lease.released) return;
      lease.phase = "settling";
      await settle(lease, outcome, messageLog, visibility);
    } catch (error) {
      // settle() handles its own failures; this is a last line so the runner never crashes.
      log.error("unexpected error while settling a message", { messageId: message.MessageId, error });
    } finally {
      void lease.stopHeartbeat();
      leases.delete(message.ReceiptHandle);
      wake();
    }
  }

  function start(message: ReceivedMessage, visibility: number, heartbeatMs: number) {
    const lease = new MessageLease(message, sqs, queueUrl, log);
    leases.set(message.ReceiptHandle, lease);
    lease.startHeartbeat(visibility, heartbeatMs);
    lease.done = handle(lease, visibility);
  }

  async function release(lease: MessageLease, reason: string) {
    leases.delete(lease.message.ReceiptHandle);
    await lease.release(reason);
  }

  /** One long poll for at most `count` messages; undefined when it failed (after backing off) or was cut. */
  async function receive(count: number): Promise<Message[] | undefined> {
    try {
      const result = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, count),
          WaitTimeSeconds: waitTimeSeconds,
          MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
          MessageAttributeNames: ["All"],
        }),
        { abortSignal: receiveAbort.signal },
      );
      receiveFailures = 0;
      return result.Messages ?? [];
    } catch (error) {
      if (receiveAbort.signal.aborted || stopping) return undefined;
      // devcloud restarting, a network blip, throttling: wait and poll again, never crash.
      receiveFailures++;
      const retryInMs = receiveBackoffMs(receiveFailures);
      log.warn("receive failed; retrying", { error, attempt: receiveFailures, retryInMs });
      await sleep(retryInMs, stopSignal.signal);
      return undefined;
    }
  }

  async function loop() {
    let visibility = options.visibilityTimeoutSeconds;
    if (visibility === undefined) {
      // Given a visibility timeout the runner reads nothing from the queue (nor its redrive limit).
      const settings = await readQueueSettings(sqs, queueUrl, log, stopSignal.signal);
      if (!settings) return;
      visibility = settings.visibilityTimeoutSeconds;
      maxReceiveCount ??= settings.maxReceiveCount;
    }
    // Inside the visibility window by default; a floor so a tiny timeout cannot turn heartbeats into a busy loop.
    const heartbeatMs = Math.max(250, (options.heartbeatIntervalSeconds ?? Math.max(1, visibility) / 3) * 1000);
    log.info("runner started", { concurrency, visibilityTimeout: visibility, heartbeatMs: Math.round(heartbeatMs) });
    if (!stopping) state = "polling";

    while (!stopping) {
      const slots = concurrency - leases.size;
      if (slots <= 0) {
        await new Promise<void>((resolve) => (slotFreed = resolve));
        continue;
      }
      const free = options.admission ? Math.min(slots, options.admission.free()) : slots;
      if (free <= 0) {
        await options.admission!.wait(stopSignal.signal).catch(() => {});
        continue;
      }
      const messages = await receive(free);
      if (messages === undefined) {
        if (receiveAbort.signal.aborted || stopping) break;
        continue;
      }
      // Told even when none came: an empty receive says the queue has no backlog (see RunnerAdmission.taken).
      options.admission?.taken(messages.length);

      const late: Promise<void>[] = [];
      for (const message of messages) {
        if (!message.ReceiptHandle || !message.MessageId) continue;
        counts.received++;
        if (stopping) {
          // The long poll answered after stop(): hand these straight back rather than strand them.
          late.push(new MessageLease(message as ReceivedMessage, sqs, queueUrl, log).release("runner stopping"));
        } else {
          start(message as ReceivedMessage, visibility, heartbeatMs);
        }
      }
      await Promise.all(late);
    }
  }

  const running = loop().catch((error: unknown) => {
    // Unreachable by design (every await above is guarded); logged rather than an unhandled rejection.
    log.error("runner loop crashed", { error });
  });

  let stopped: Promise<void> | undefined;
  function stop(): Promise<void> {
    stopped ??= (async () => {
      stopping = true;
      state = "stopping";
      stopSignal.abort();
      wake();
      // The pending long poll is cut at once, so an idle runner stops in milliseconds rather than
      // the poll's wait time. SQS may hand a message to a poll whose caller has gone; devcloud
      // gives such a message back at once (its edge releases what a ReceiveMessage answer carries
      // to a caller that hung up), and on AWS it is redelivered after its visibility timeout — a
      // delay, never a loss. A poll that answered before the cut is handed back in the loop.
      receiveAbort.abort();

      // Handlers get the grace period to finish.
      const grace = timeout(shutdownGraceMs);
      const handlers = Promise.all([...leases.values()].map((lease) => lease.done)).then(() => "done" as const);
      const result = await Promise.race([handlers, grace.promise]);
      grace.cancel();

      if (result === "timeout") {
        // Handlers still running are aborted and their messages released; those already applying
        // their outcome (a delete, a DLQ send) are short network calls and are let finish.
        await Promise.all(
          [...leases.values()].map((lease) =>
            lease.phase === "handling" ? release(lease, "runner stopped before the handler finished") : lease.done,
          ),
        );
      }

      await running;
      await deleter.flush();
      state = "stopped";
      log.info("runner stopped", { ...counts });
    })();
    return stopped;
  }

  return {
    stop,
    get state() {
      return state;
    },
    get stats() {
      return { ...counts, handlerMs: Math.round(counts.handlerMs), inFlight: leases.size, receiveFailures };
    },
  };
}
