import type { z } from "zod";
import { FAILURE_ATTRIBUTES } from "./dead-letter.ts";
import { isPermanentError, type FailureReason } from "./errors.ts";
import type { Logger } from "./logger.ts";
import {
  DEFAULT_REDELIVERY_POLICY,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
  redeliveryDelaySeconds,
  retryAfterMsOf,
  type RedeliveryPolicy,
} from "./redelivery.ts";
import { unwrapSqsBody } from "./unwrap.ts";

export interface ConsumerContext {
  /** SQS message id. */
  messageId: string;
  /** ApproximateReceiveCount: 1 on first delivery. */
  receiveCount: number;
  queueName: string;
  /** Aborted on shutdown, or when the host gives up on the message (Lambda about to time out). */
  signal: AbortSignal;
  /** Carries the consumer name, messageId and the message's jobId/runId. */
  log: Logger;
  /**
   * Set when this message was dead-lettered before with a reason (it carries Quire's
   * `quire.failure.*` attributes) and has been redriven from the DLQ: the consumer may undo what
   * giving up did (a failed job goes back to work).
   */
  previousFailure?: FailureReason | undefined;
}

/** A pure handler over a parsed, schema-checked message; the hosts own SQS. */
export interface Consumer<T> {
  readonly name: string;
  readonly schema: z.ZodType<T>;
  handle(message: T, ctx: ConsumerContext): Promise<void>;
  /**
   * Called when the host gives up on a message (a permanent failure, a schema violation, or the
   * last delivery the queue's maxReceiveCount allows), before it is dead-lettered with `reason`.
   * `raw` is the unwrapped body, parsed or not. It may run more than once for one message
   * (a failed dead-letter send means redelivery), so it must be idempotent.
   */
  onDeadLetter?(raw: unknown, reason: FailureReason, ctx: ConsumerContext): Promise<void>;
  /**
   * A deadline for this message's retries, earlier than the host's age budget (a run's deadline):
   * a transient failure at or past it gives the message up as DEADLINE_EXCEEDED. Asked only after
   * a transient failure, so it may read a store; an error here is logged and ignored.
   */
  retryDeadline?(message: T, ctx: ConsumerContext): Promise<Date | undefined>;
}

/** Identity at runtime apart from a sanity check; it pins `T` from the schema for the handler. */
export function defineConsumer<T>(consumer: Consumer<T>): Consumer<T> {
  if (!consumer.name || typeof consumer.name !== "string") throw new TypeError("A consumer needs a name");
  if (typeof consumer.handle !== "function") throw new TypeError(`Consumer ${consumer.name} has no handle()`);
  return consumer;
}

/** What the host must do with a message once the handler ran. */
export type Outcome =
  | { status: "succeeded" }
  /** Will never succeed: dead-letter with `reason`. */
  | { status: "permanent"; reason: FailureReason; error: unknown }
  /** May succeed later: hide it for `retryAfterSeconds`, then SQS delivers it again. */
  | { status: "transient"; error: unknown; retryAfterSeconds: number };

/** One SQS message as either host sees it. */
export interface IncomingMessage {
  body: string;
  messageId: string;
  receiveCount: number;
  queueName: string;
  signal: AbortSignal;
  /** The queue's redrive maxReceiveCount: a transient failure on this delivery is the last one. */
  maxReceiveCount?: number | undefined;
  /** When SQS first received the message (SentTimestamp, ms since the epoch): its age budget counts from here. */
  sentAt?: number | undefined;
  /** String message attributes by name (for the failure attributes a redriven message carries). */
  attributes?: Record<string, string> | undefined;
}

/** How a host retries: see redelivery.ts. */
export interface ProcessSettings {
  redelivery?: RedeliveryPolicy | undefined;
  now?: (() => number) | undefined;
  random?: (() => number) | undefined;
}

/** SQS caps a String attribute with the rest of the message at 256 KiB; a reason needs far less. */
const MAX_REASON_LENGTH = 4096;

export const truncate = (text: string, max = MAX_REASON_LENGTH) =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map(
      (issue) => `${issue.path.length ? issue.path.map((key) => String(key)).join(".") : "(root)"}: ${issue.message}`,
    )
    .join("; ");
}

const CORRELATION_KEYS = ["jobId", "runId"] as const;

/**
 * jobId/runId from the message, or from an EventBridge envelope's detail. Read before schema
 * parsing so that even a rejected message can be traced to its job.
 */
export function correlationIds(value: unknown): Record<string, string> {
  const ids: Record<string, string> = {};
  const pick = (source: unknown) => {
    if (typeof source !== "object" || source === null) return;
    for (const key of CORRELATION_KEYS) {
      const id = (source as Record<string, unknown>)[key];
      if (typeof id === "string" && !(key in ids)) ids[key] = id;
    }
  };
  pick(value);
  if (typeof value === "object" && value !== null) pick((value as { detail?: unknown }).detail);
  return ids;
}

/**
 * The part both hosts share: unwrap, schema-check, run the handler, and classify the result.
 * Never throws; the host turns the outcome into SQS calls (or a batch item failure).
 */
export async function processMessage<T>(
  consumer: Consumer<T>,
  message: IncomingMessage,
  hostLog: Logger,
  settings: ProcessSettings = {},
): Promise<{ outcome: Outcome; log: Logger }> {
  const redelivery = settings.redelivery ?? DEFAULT_REDELIVERY_POLICY;
  const now = settings.now ?? Date.now;
  let log = hostLog.child({
    consumer: consumer.name,
    messageId: message.messageId,
    receiveCount: message.receiveCount,
  });
  const started = performance.now();
  let raw: unknown;
  let parsedMessage: { value: T } | undefined;
  const failureCode = message.attributes?.[FAILURE_ATTRIBUTES.code];
  const previousFailure = failureCode
    ? { code: failureCode, message: message.attributes?.[FAILURE_ATTRIBUTES.message] ?? failureCode }
    : undefined;
  const context = (): ConsumerContext => ({
    messageId: message.messageId,
    receiveCount: message.receiveCount,
    queueName: message.queueName,
    signal: message.signal,
    log,
    ...(previousFailure ? { previousFailure } : {}),
  });
  const giveUp = async (reason: FailureReason, error: unknown): Promise<{ outcome: Outcome; log: Logger }> => {
    if (consumer.onDeadLetter) {
      try {
        await consumer.onDeadLetter(raw, reason, context());
      } catch (hookError) {
        // What the hook owes (a job failed and announced) must happen before the message goes:
        // keep it and try again later — unless this is the last delivery SQS allows, after which
        // it would move to the DLQ without the reason.
        const lastDelivery = message.maxReceiveCount !== undefined && message.receiveCount >= message.maxReceiveCount;
        if (!lastDelivery) {
          const retryAfterSeconds = redeliveryDelaySeconds(message.receiveCount, redelivery, settings.random);
          log.error("onDeadLetter failed; the message will be retried", {
            reason,
            error: hookError,
            retryAfterSeconds,
          });
          return { outcome: { status: "transient", error: hookError, retryAfterSeconds }, log };
        }
        log.error("onDeadLetter failed on the last delivery; dead-lettering anyway", { reason, error: hookError });
      }
    }
    return { outcome: { status: "permanent", reason, error }, log };
  };
  /** The earlier of the age budget and the consumer's deadline for this message, if any. */
  const retryBudget = async (at: number): Promise<{ deadline?: number; code: string }> => {
    const byAge = message.sentAt === undefined ? undefined : message.sentAt + redelivery.maxAgeSeconds * 1000;
    let byConsumer: number | undefined;
    if (parsedMessage && consumer.retryDeadline) {
      try {
        byConsumer = (await consumer.retryDeadline(parsedMessage.value, context()))?.getTime();
      } catch (deadlineError) {
        log.warn("could not read the message's deadline; the age budget applies", { error: deadlineError, at });
      }
    }
    if (byConsumer !== undefined && (byAge === undefined || byConsumer < byAge))
      return { deadline: byConsumer, code: "DEADLINE_EXCEEDED" };
    return byAge === undefined
      ? { code: "RETRY_BUDGET_EXHAUSTED" }
      : { deadline: byAge, code: "RETRY_BUDGET_EXHAUSTED" };
  };
  try {
    raw = unwrapSqsBody(message.body);
    const ids = correlationIds(raw);
    if (Object.keys(ids).length) log = log.child(ids);

    const parsed = await consumer.schema.safeParseAsync(raw);
    if (!parsed.success) {
      return await giveUp(
        { code: "SCHEMA_VIOLATION", message: truncate(describeIssues(parsed.error.issues)) },
        parsed.error,
      );
    }

    parsedMessage = { value: parsed.data };
    await consumer.handle(parsed.data, context());
    log.info("message handled", { durationMs: Math.round(performance.now() - started) });
    return { outcome: { status: "succeeded" }, log };
  } catch (error) {
    const durationMs = Math.round(performance.now() - started);
    if (isPermanentError(error)) {
      return await giveUp({ code: error.code, message: truncate(error.message || error.code) }, error);
    }
    const why = error instanceof Error ? error.message : String(error);
    // The queue would move it to its DLQ on the next receive, without a word of why: do it now,
    // with the reason, so the DLQ entry (and the job) say what went wrong.
    if (
      message.maxReceiveCount !== undefined &&
      message.receiveCount >= message.maxReceiveCount &&
      !message.signal.aborted
    ) {
      log.warn("last delivery failed; dead-lettering", { durationMs, error });
      return await giveUp(
        {
          code: "RETRIES_EXHAUSTED",
          message: truncate(`failed on all ${message.receiveCount} deliveries; last error: ${why}`),
        },
        error,
      );
    }
    // Transient: it may go away, so the message waits in the queue — unless its budget is spent.
    const at = now();
    const budget = await retryBudget(at);
    if (budget.deadline !== undefined && at >= budget.deadline && !message.signal.aborted) {
      const age = message.sentAt === undefined ? "" : ` for ${Math.round((at - message.sentAt) / 1000)} s`;
      log.warn("retry budget spent; dead-lettering", { durationMs, error, code: budget.code });
      return await giveUp(
        {
          code: budget.code,
          message: truncate(
            `${budget.code === "DEADLINE_EXCEEDED" ? "past its deadline" : "past its retry budget"}, failing transiently${age} over ${message.receiveCount} deliveries; last error: ${why}`,
          ),
        },
        error,
      );
    }
    // Growing, jittered delays; a hint from the failure (a circuit breaker's next probe) may
    // lengthen it; never past the budget's end, so the last try happens before it.
    const hinted = Math.ceil((retryAfterMsOf(error) ?? 0) / 1000);
    let retryAfterSeconds = Math.max(redeliveryDelaySeconds(message.receiveCount, redelivery, settings.random), hinted);
    if (budget.deadline !== undefined)
      retryAfterSeconds = Math.min(retryAfterSeconds, Math.ceil((budget.deadline - at) / 1000));
    retryAfterSeconds = Math.max(0, Math.min(MAX_VISIBILITY_TIMEOUT_SECONDS, retryAfterSeconds));
    // Everything else, a ZodError thrown by the handler itself included (say, a model's reply
    // that did not parse), may go away on retry; the budget bounds the attempts.
    log.warn("message failed, will be retried", { durationMs, error, retryAfterSeconds });
    return { outcome: { status: "transient", error, retryAfterSeconds }, log };
  }
}
