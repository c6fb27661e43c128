import {
  CancelMessageMoveTaskCommand,
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { copyAttribute, FAILURE_ATTRIBUTES, unwrapSqsBody } from "@quire/runtime";
import { DeadLetterError } from "./errors.ts";

/** A work queue and its DLQ, by the topology's name. */
export interface QueuePair {
  name: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
}

/** One dead letter as an operator reads it. */
export interface DeadLetter {
  messageId: string;
  /** Quire's reason (quire.failure.*); `UNKNOWN` for a message SQS's redrive policy moved without one. */
  reason: { code: string; message: string };
  /** Deliveries the message had before it was given up. */
  receiveCount: number | undefined;
  /** The job the message was about, when its body names one. */
  jobId: string | undefined;
  runId: string | undefined;
  /** When the dead letter was sent (ISO). */
  deadLetteredAt: string | undefined;
  body: string;
}

export interface FailureGroup {
  code: string;
  count: number;
  /** A few examples (the newest seen first), bodies left out. */
  samples: Omit<DeadLetter, "body">[];
}

export interface QueueDeadLetters {
  queue: string;
  /** SQS's approximate count (visible + in flight). */
  approximateCount: number;
  /** Grouped from the messages read (at most `scanLimit`); `complete` says whether that was all of them. */
  groups: FailureGroup[];
  scanned: number;
  complete: boolean;
}

export interface MoveTask {
  taskHandle: string | undefined;
  status: string;
  moved: number;
  toMove: number | undefined;
  startedAt: string | undefined;
  failureReason: string | undefined;
}

export type RedriveResult =
  /** Everything, by SQS's message move task (watch it with `tasks`). */
  | { kind: "move-task"; queue: string; taskHandle: string }
  /** Selected messages, moved one by one. */
  | { kind: "selected"; queue: string; moved: number; scanned: number };

const SAMPLES_PER_GROUP = 3;

/**
 * Dead letters, read and redriven through SQS alone. Reading a queue means receiving from it:
 * messages are received with a short visibility timeout and come back by themselves, so reading
 * never consumes. A whole queue is redriven by SQS's message move task (AWS's own redrive, and
 * devcloud's). Its destination is named explicitly: Quire dead-letters with SendMessage (so the
 * reason travels as attributes), and SQS cannot "redrive to source" a message it did not move
 * itself. A selection (one failure code, one message) is received, sent to the work queue with
 * its body and attributes, and deleted from the DLQ only once sent — at least once, never lost.
 * The redriven message keeps its `quire.failure.*` attributes: that is how a consumer knows it
 * was redriven (a stage reopens the failed job).
 */
export function createDeadLetters(options: {
  sqs: SQSClient;
  queues: readonly QueuePair[];
  scanLimit?: number;
  peekSeconds?: number;
}) {
  const { sqs } = options;
  const scanLimit = options.scanLimit ?? 1000;
  const peekSeconds = options.peekSeconds ?? 5;

  function pairOf(queue: string): QueuePair {
    const pair = options.queues.find((candidate) => candidate.name === queue);
    if (!pair)
      throw new DeadLetterError(
        "QUEUE_NOT_FOUND",
        `No queue named ${queue}; known: ${options.queues.map((q) => q.name).join(", ")}.`,
      );
    return pair;
  }

  async function arnOf(queueUrl: string): Promise<string> {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
    );
    return Attributes!.QueueArn!;
  }

  async function approximateCount(queueUrl: string): Promise<number> {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return (
      Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  }

  /**
   * Receive every message of a DLQ once (up to the scan limit), each hidden for `holdSeconds`:
   * the caller decides what to do with each; whatever it leaves comes back after the hold.
   */
  async function scan(queueUrl: string, holdSeconds: number): Promise<Message[]> {
    const seen = new Map<string, Message>();
    for (let emptyReceives = 0; seen.size < scanLimit && emptyReceives < 2; ) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, scanLimit - seen.size),
          VisibilityTimeout: holdSeconds,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ["All"],
          MessageSystemAttributeNames: ["SentTimestamp", "ApproximateReceiveCount"],
        }),
      );
      const fresh = Messages.filter((message) => message.MessageId && !seen.has(message.MessageId));
      for (const message of fresh) seen.set(message.MessageId!, message);
      emptyReceives = fresh.length === 0 ? emptyReceives + 1 : 0;
    }
    return [...seen.values()];
  }

  function read(message: Message): DeadLetter {
    const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
    let ids: { jobId?: unknown; runId?: unknown } = {};
    try {
      const body = unwrapSqsBody(message.Body ?? "") as {
        jobId?: unknown;
        runId?: unknown;
        detail?: { jobId?: unknown; runId?: unknown };
      };
      ids = typeof body === "object" && body !== null ? (body.detail ?? body) : {};
    } catch {
      // A malformed body is a dead letter too: shown without ids.
    }
    const receiveCount = Number(attribute(FAILURE_ATTRIBUTES.receiveCount));
    const sent = Number(message.Attributes?.SentTimestamp);
    return {
      messageId: message.MessageId!,
      reason: {
        code: attribute(FAILURE_ATTRIBUTES.code) ?? "UNKNOWN",
        message: attribute(FAILURE_ATTRIBUTES.message) ?? "moved by the queue's redrive policy; no reason recorded",
      },
      receiveCount: Number.isFinite(receiveCount) ? receiveCount : undefined,
      jobId: typeof ids.jobId === "string" ? ids.jobId : undefined,
      runId: typeof ids.runId === "string" ? ids.runId : undefined,
      deadLetteredAt: Number.isFinite(sent) ? new Date(sent).toISOString() : undefined,
      body: message.Body ?? "",
    };
  }

  function group(letters: DeadLetter[]): FailureGroup[] {
    const groups = new Map<string, FailureGroup>();
    for (const { body: _body, ...letter } of [...letters].sort((a, b) =>
      (b.deadLetteredAt ?? "").localeCompare(a.deadLetteredAt ?? ""),
    )) {
      const entry = groups.get(letter.reason.code) ?? { code: letter.reason.code, count: 0, samples: [] };
      entry.count++;
      if (entry.samples.length < SAMPLES_PER_GROUP) entry.samples.push(letter);
      groups.set(letter.reason.code, entry);
    }
    return [...groups.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
  }

  /** Give back what a scan held (visible at once), in batches of 10. */
  async function giveBack(queueUrl: string, messages: Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const batch = messages.slice(i, i + 10);
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle!,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
  }

  return {
    queues: () => options.queues.map((queue) => queue.name),

    /** Every queue's dead letters, grouped by failure code (queues without any included, count 0). */
    async summary(filter?: { queue?: string }): Promise<QueueDeadLetters[]> {
      const pairs = filter?.queue ? [pairOf(filter.queue)] : options.queues;
      return Promise.all(
        pairs.map(async (pair) => {
          const count = await approximateCount(pair.deadLetterQueueUrl);
          const messages = count === 0 ? [] : await scan(pair.deadLetterQueueUrl, peekSeconds);
          if (messages.length) await giveBack(pair.deadLetterQueueUrl, messages);
          return {
            queue: pair.name,
            approximateCount: count,
            groups: group(messages.map(read)),
            scanned: messages.length,
            complete: messages.length < scanLimit,
          };
        }),
      );
    },

    /** One dead letter in full, by message id. */
    async show(queue: string, messageId: string): Promise<DeadLetter> {
      const pair = pairOf(queue);
      const messages = await scan(pair.deadLetterQueueUrl, peekSeconds);
      await giveBack(pair.deadLetterQueueUrl, messages);
      const found = messages.find((message) => message.MessageId === messageId);
      if (!found) throw new DeadLetterError("DEAD_LETTER_NOT_FOUND", `No dead letter ${messageId} in ${queue}'s DLQ.`);
      return read(found);
    },

    /**
     * Back to work. Everything: one message move task to the work queue (refused while one runs).
     * Only one failure code, or one message: those are moved one by one, the rest left as they were.
     */
    async redrive(request: {
      queue: string;
      code?: string | undefined;
      messageId?: string | undefined;
      maxPerSecond?: number | undefined;
    }): Promise<RedriveResult> {
      const pair = pairOf(request.queue);
      if (request.code === undefined && request.messageId === undefined) {
        try {
          const { TaskHandle } = await sqs.send(
            new StartMessageMoveTaskCommand({
              SourceArn: await arnOf(pair.deadLetterQueueUrl),
              DestinationArn: await arnOf(pair.queueUrl),
              ...(request.maxPerSecond ? { MaxNumberOfMessagesPerSecond: request.maxPerSecond } : {}),
            }),
          );
          return { kind: "move-task", queue: pair.name, taskHandle: TaskHandle! };
        } catch (error) {
          // AWS (and devcloud) answer "There is already a task running…"; the error name has varied.
          if (/already a task running/i.test((error as Error).message ?? "")) {
            throw new DeadLetterError("REDRIVE_IN_PROGRESS", `A redrive of ${pair.name}'s DLQ is already running.`);
          }
          throw error;
        }
      }
      // Held long enough to move them; what is not selected is given back at once.
      const messages = await scan(pair.deadLetterQueueUrl, 60);
      const selected = messages.filter((message) => {
        const letter = read(message);
        return (
          (request.code === undefined || letter.reason.code === request.code) &&
          (request.messageId === undefined || letter.messageId === request.messageId)
        );
      });
      await giveBack(
        pair.deadLetterQueueUrl,
        messages.filter((message) => !selected.includes(message)),
      );
      if (request.messageId !== undefined && selected.length === 0) {
        throw new DeadLetterError(
          "DEAD_LETTER_NOT_FOUND",
          `No dead letter ${request.messageId} in ${pair.name}'s DLQ.`,
        );
      }
      let moved = 0;
      for (const message of selected) {
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: pair.queueUrl,
            MessageBody: message.Body ?? "",
            MessageAttributes: sendable(message.MessageAttributes),
          }),
        );
        // Sent first, then deleted: a crash in between redrives it twice (consumers are idempotent), never zero times.
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: pair.deadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle! }),
        );
        moved++;
      }
      return { kind: "selected", queue: pair.name, moved, scanned: messages.length };
    },

    /** The queue's message move tasks, newest first (SQS keeps the recent ones). */
    async tasks(queue: string): Promise<MoveTask[]> {
      const pair = pairOf(queue);
      const { Results = [] } = await sqs.send(
        new ListMessageMoveTasksCommand({ SourceArn: await arnOf(pair.deadLetterQueueUrl), MaxResults: 10 }),
      );
      return Results.map((task) => ({
        taskHandle: task.TaskHandle,
        status: task.Status ?? "UNKNOWN",
        moved: task.ApproximateNumberOfMessagesMoved ?? 0,
        toMove: task.ApproximateNumberOfMessagesToMove,
        startedAt: task.StartedTimestamp === undefined ? undefined : new Date(task.StartedTimestamp).toISOString(),
        failureReason: task.FailureReason,
      }));
    },

    /** Stop a running move task; what it moved stays moved. */
    async cancel(taskHandle: string): Promise<{ moved: number }> {
      const { ApproximateNumberOfMessagesMoved } = await sqs.send(
        new CancelMessageMoveTaskCommand({ TaskHandle: taskHandle }),
      );
      return { moved: ApproximateNumberOfMessagesMoved ?? 0 };
    },
  };
}

export type DeadLetters = ReturnType<typeof createDeadLetters>;

/** Received attributes in the shape SendMessage accepts (the runtime's copy, as dead-lettering keeps them). */
function sendable(attributes: Message["MessageAttributes"]): Record<string, MessageAttributeValue> | undefined {
  if (!attributes) return undefined;
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attributes)) {
    const copy = copyAttribute(value);
    if (copy) out[name] = copy;
  }
  return out;
}
