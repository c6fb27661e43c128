/**
 * SQS duplicate deliveries: standard queues deliver at least once, and a consumer must survive
 * getting a message it already has (or is still processing). AWS's duplicates come from a copy
 * of the message on another server that missed the delete or the visibility change: the same
 * message (same MessageId, body, attributes) surfaces again — to this consumer or another one,
 * right away or later — with a receipt handle of its own; deleting one delivery does not delete
 * the other.
 *
 * devcloud models exactly that. When a ReceiveMessage answer hands out a message chosen by the
 * seeded draw (`rate`), the edge puts `copies - 1` copies of it back into the queue (same body,
 * same message attributes, visible after `delaySeconds`), read from fauxqs's own in-flight entry
 * so attributes the receive did not ask for are kept too. When a copy is received, the edge
 * rewrites its MessageId (and SentTimestamp) to the original's, so the consumer sees what AWS
 * would show it: the same message twice, different receipt handles. Copies are never duplicated
 * again. FIFO queues are left alone: SQS FIFO delivers exactly once per deduplication interval.
 * The copy → original table lives in memory (a restart of a persisted devcloud forgets it: a copy
 * received after that shows its own MessageId).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { FauxqsServer } from "fauxqs";
import type { RandomSource } from "../bedrock/faults.ts";
import type { DuplicateDeliveries } from "./config.ts";

export type SqsStore = Pick<FauxqsServer, "inspectQueue" | "sendMessage">;

export interface DuplicateStats {
  /** Messages handed out by ReceiveMessage while duplicate deliveries were on. */
  received: number;
  /** Of those, how many were chosen to be delivered again. */
  duplicated: number;
  /** Copies put back into queues (duplicated × (copies - 1)). */
  copiesSent: number;
  /** Receives of a copy, answered with the original's MessageId. */
  copiesReceived: number;
}

export interface DuplicateDeliverer {
  /** Whether a ReceiveMessage needs its answer looked at (the knob is on, or copies are about). */
  wants(config: DuplicateDeliveries | undefined): boolean;
  /** Run `next` (the SQS route) for a ReceiveMessage and post-process its answer. */
  receive(
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
    next: () => Promise<void>,
    config: DuplicateDeliveries | undefined,
    random: RandomSource,
    stats: DuplicateStats,
  ): Promise<void>;
}

/** At most this many copy → original entries are kept (oldest dropped first). */
const MAX_TRACKED_COPIES = 100_000;

interface Original {
  messageId: string;
  sentTimestamp: string | undefined;
}

interface ReceivedMessage {
  MessageId?: string;
  ReceiptHandle?: string;
  Body?: string;
  Attributes?: Record<string, string>;
}

export function emptyDuplicateStats(): DuplicateStats {
  return { received: 0, duplicated: 0, copiesSent: 0, copiesReceived: 0 };
}

export function createDuplicateDeliverer(store: SqsStore, log: (line: string) => void = () => {}): DuplicateDeliverer {
  const originals = new Map<string, Original>();

  function remember(copyId: string, original: Original) {
    originals.set(copyId, original);
    if (originals.size > MAX_TRACKED_COPIES) originals.delete(originals.keys().next().value!);
  }

  function duplicate(
    queueUrl: string,
    message: ReceivedMessage,
    config: DuplicateDeliveries,
    stats: DuplicateStats,
  ): void {
    const queueName = queueUrl.split("/").pop() ?? "";
    const region = /^https?:\/\/sqs\.([a-z0-9-]+)\./.exec(queueUrl)?.[1];
    const inflight = store
      .inspectQueue(queueName)
      ?.messages.inflight.find((entry) => entry.receiptHandle === message.ReceiptHandle);
    if (!inflight || message.MessageId === undefined) return;
    const original: Original = { messageId: message.MessageId, sentTimestamp: String(inflight.message.sentTimestamp) };
    stats.duplicated++;
    for (let copy = 1; copy < config.copies; copy++) {
      try {
        const { messageId } = store.sendMessage(queueName, inflight.message.body, {
          messageAttributes: inflight.message.messageAttributes,
          delaySeconds: config.delaySeconds,
          ...(region ? { region } : {}),
        });
        remember(messageId, original);
        stats.copiesSent++;
      } catch (error) {
        log(
          `devcloud faults: could not put a duplicate of ${message.MessageId} into ${queueName}: ${(error as Error).message}`,
        );
      }
    }
  }

  return {
    wants: (config) => config !== undefined || originals.size > 0,

    async receive(_req, body, res, next, config, random, stats) {
      const captured = await capture(res, next);
      if (!captured) return;
      let answer = captured.body;
      try {
        if (captured.status === 200 && !captured.headers["content-encoding"]) {
          const parsed = JSON.parse(captured.body.toString("utf8")) as { Messages?: ReceivedMessage[] };
          const queueUrl = String((JSON.parse(body.toString("utf8")) as { QueueUrl?: unknown }).QueueUrl ?? "");
          const queueName = queueUrl.split("/").pop() ?? "";
          const eligible =
            config !== undefined &&
            !queueName.endsWith(".fifo") &&
            (config.queues === undefined || config.queues.includes(queueName));
          let changed = false;
          for (const message of parsed.Messages ?? []) {
            const original = message.MessageId === undefined ? undefined : originals.get(message.MessageId);
            if (original) {
              message.MessageId = original.messageId;
              if (message.Attributes?.SentTimestamp !== undefined && original.sentTimestamp !== undefined) {
                message.Attributes.SentTimestamp = original.sentTimestamp;
              }
              stats.copiesReceived++;
              changed = true;
              continue;
            }
            if (!eligible) continue;
            stats.received++;
            if (random() < config.rate) duplicate(queueUrl, message, config, stats);
          }
          if (changed) answer = Buffer.from(JSON.stringify(parsed));
        }
      } catch (error) {
        log(`devcloud faults: left a ReceiveMessage answer as it was: ${(error as Error).message}`);
      }
      const headers = { ...captured.headers };
      delete headers["transfer-encoding"];
      headers["content-length"] = String(answer.length);
      res.writeHead(captured.status, headers);
      res.end(answer);
    },
  };
}

interface Captured {
  status: number;
  headers: OutgoingHttpHeaders;
  body: Buffer;
}

/**
 * Runs `next` with `res`'s writeHead/write/end diverted into a buffer, then puts them back.
 * Undefined when the route did not finish an answer (it destroyed the response instead).
 */
async function capture(res: ServerResponse, next: () => Promise<void>): Promise<Captured | undefined> {
  const target = res as unknown as Record<"writeHead" | "write" | "end", unknown>;
  let status = 200;
  const headers: OutgoingHttpHeaders = {};
  const chunks: Buffer[] = [];
  let ended = false;
  const toBuffer = (chunk: unknown, encoding?: unknown) =>
    Buffer.isBuffer(chunk)
      ? chunk
      : typeof chunk === "string"
        ? Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8")
        : Buffer.from(chunk as Uint8Array);
  target.writeHead = (code: number, ...rest: unknown[]) => {
    status = code;
    const given = rest.find((item) => typeof item === "object" && item !== null);
    if (Array.isArray(given)) {
      for (let i = 0; i + 1 < given.length; i += 2) headers[String(given[i]).toLowerCase()] = given[i + 1] as string;
    } else if (given) {
      for (const [name, value] of Object.entries(given)) headers[name.toLowerCase()] = value as string;
    }
    return res;
  };
  target.write = (chunk: unknown, encoding?: unknown, callback?: unknown) => {
    chunks.push(toBuffer(chunk, encoding));
    const done = typeof encoding === "function" ? encoding : callback;
    if (typeof done === "function") queueMicrotask(() => (done as () => void)());
    return true;
  };
  target.end = (chunk?: unknown, encoding?: unknown, callback?: unknown) => {
    if (chunk !== undefined && chunk !== null && typeof chunk !== "function") chunks.push(toBuffer(chunk, encoding));
    ended = true;
    const done = [chunk, encoding, callback].find((item) => typeof item === "function");
    if (done) queueMicrotask(() => (done as () => void)());
    return res;
  };
  try {
    await next();
  } finally {
    delete target.writeHead;
    delete target.write;
    delete target.end;
  }
  if (!ended) {
    if (!res.headersSent && !res.destroyed) res.destroy();
    return undefined;
  }
  return { status, headers, body: Buffer.concat(chunks) };
}
