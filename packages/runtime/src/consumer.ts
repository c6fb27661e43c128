import type { z } from "zod";
import { isPermanentError, type FailureReason } from "./errors.ts";
import type { Logger } from "./logger.ts";
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
}

/** A pure handler over a parsed, schema-checked message; the hosts own SQS. */
export interface Consumer<T> {
  readonly name: string;
  readonly schema: z.ZodType<T>;
  handle(message: T, ctx: ConsumerContext): Promise<void>;
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
  /** May succeed later: leave it to SQS's redelivery. */
  | { status: "transient"; error: unknown };

/** One SQS message as either host sees it. */
export interface IncomingMessage {
  body: string;
  messageId: string;
  receiveCount: number;
  queueName: string;
  signal: AbortSignal;
}

/** SQS caps a String attribute with the rest of the message at 256 KiB; a reason needs far less. */
const MAX_REASON_LENGTH = 4096;

export const truncate = (text: string, max = MAX_REASON_LENGTH) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => `${issue.path.length ? issue.path.map((key) => String(key)).join(".") : "(root)"}: ${issue.message}`)
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
): Promise<{ outcome: Outcome; log: Logger }> {
  let log = hostLog.child({ consumer: consumer.name, messageId: message.messageId, receiveCount: message.receiveCount });
  const started = performance.now();
  try {
    const raw = unwrapSqsBody(message.body);
    const ids = correlationIds(raw);
    if (Object.keys(ids).length) log = log.child(ids);

    const parsed = await consumer.schema.safeParseAsync(raw);
    if (!parsed.success) {
      const reason = { code: "SCHEMA_VIOLATION", message: truncate(describeIssues(parsed.error.issues)) };
      return { outcome: { status: "permanent", reason, error: parsed.error }, log };
    }

    await consumer.handle(parsed.data, {
      messageId: message.messageId,
      receiveCount: message.receiveCount,
      queueName: message.queueName,
      signal: message.signal,
      log,
    });
    log.info("message handled", { durationMs: Math.round(performance.now() - started) });
    return { outcome: { status: "succeeded" }, log };
  } catch (error) {
    const durationMs = Math.round(performance.now() - started);
    if (isPermanentError(error)) {
      const reason = { code: error.code, message: truncate(error.message || error.code) };
      return { outcome: { status: "permanent", reason, error }, log };
    }
    // Everything else, a ZodError thrown by the handler itself included (say, a model's reply
    // that did not parse), may go away on retry; maxReceiveCount bounds the attempts.
    log.warn("message failed, will be retried", { durationMs, error });
    return { outcome: { status: "transient", error }, log };
  }
}
