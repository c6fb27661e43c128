import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SendMessageBatchRequestEntry,
} from "@aws-sdk/client-sqs";
import { SQS_MAX_BATCH_BYTES } from "../limits.ts";
import type { DeadLetterOrigins } from "./origins.ts";
import type { FauxqsQueues } from "./queues.ts";
import {
  SqsApiError,
  integerMember,
  invalidParameterValue,
  parseArn,
  resourceNotFound,
  stringMember,
  type QueueArn,
} from "./wire.ts";

export type MoveTaskStatus = "RUNNING" | "COMPLETED" | "CANCELLING" | "CANCELLED" | "FAILED";

/** ListMessageMoveTasks answers at most 10; older tasks of a source are forgotten. */
const HISTORY_PER_SOURCE = 10;
/** How long a received DLQ message stays hidden while it is being moved (then it reappears). */
const IN_FLIGHT_SECONDS = 30;

interface MoveTask {
  readonly taskId: string;
  readonly handle: string;
  readonly source: QueueArn;
  readonly sourceFifo: boolean;
  readonly destinationArn: string | undefined;
  readonly rate: number | undefined;
  readonly startedTimestamp: number;
  readonly toMove: number;
  status: MoveTaskStatus;
  moved: number;
  failureReason?: string;
  /** Aborted by CancelMessageMoveTask or by devcloud stopping; the mover checks it between batches. */
  readonly stop: AbortController;
  done?: Promise<void>;
}

const SOURCE_ARN_FORMAT =
  "You must use this format to specify the SourceArn: arn:<partition>:<service>:<region>:<account-id>:<resource-id>";
const DESTINATION_ARN_FORMAT =
  "You must use this format to specify the DestinationArn: arn:<partition>:<service>:<region>:<account-id>:<resource-id>";
const NO_SOURCE = "The resource that you specified for the SourceArn parameter doesn't exist.";
const NO_DESTINATION = "The resource that you specified for the DestinationArn parameter doesn't exist.";

/**
 * SQS message move tasks (DLQ redrive) with AWS's semantics, in devcloud's process: task state
 * is not persisted, so a restart forgets every task (a task running then simply stops; what it
 * had moved stays moved, the rest stays in the DLQ).
 *
 * A task moves the messages that were in the DLQ when it started (ApproximateNumberOfMessages
 * then): it receives them from the DLQ, sends each to the destination (DestinationArn, or the
 * queue the message was dead-lettered from) with its body and message attributes, and deletes
 * it from the DLQ only once the send succeeded. A moved message is a new message (new
 * MessageId, receive count 0), as on AWS. With MaxNumberOfMessagesPerSecond the moves are paced
 * to that rate; without it they go as fast as fauxqs takes them, in batches of 10.
 */
export class MoveTaskManager {
  readonly #queues: FauxqsQueues;
  readonly #origins: DeadLetterOrigins;
  readonly #log: (line: string) => void;
  /** Source ARN → its tasks, newest first. */
  readonly #bySource = new Map<string, MoveTask[]>();
  readonly #byId = new Map<string, MoveTask>();
  #closing = false;

  constructor(queues: FauxqsQueues, origins: DeadLetterOrigins, log: (line: string) => void) {
    this.#queues = queues;
    this.#origins = origins;
    this.#log = log;
  }

  async start(input: Record<string, unknown>): Promise<{ TaskHandle: string }> {
    const sourceArn = parseArn(stringMember(input, "SourceArn", true));
    if (!sourceArn) throw invalidParameterValue(SOURCE_ARN_FORMAT);
    const destinationText = stringMember(input, "DestinationArn");
    const destinationArn = destinationText === undefined ? undefined : parseArn(destinationText);
    if (destinationText !== undefined && !destinationArn) throw invalidParameterValue(DESTINATION_ARN_FORMAT);
    const rate = integerMember(
      input,
      "MaxNumberOfMessagesPerSecond",
      1,
      500,
      "Must be between 1 and 500, if provided.",
    );

    const source = await this.#queues.describe(sourceArn);
    if (!source) throw resourceNotFound(NO_SOURCE);
    if ((await this.#queues.deadLetterSources(source.arn)).length === 0) {
      throw invalidParameterValue("Source queue must be configured as a Dead Letter Queue.");
    }
    if (destinationArn) {
      const destination = await this.#queues.describe(destinationArn);
      if (!destination) throw resourceNotFound(NO_DESTINATION);
      if (destination.arn === source.arn)
        throw invalidParameterValue("Source queue arn and destination queue arn cannot be the same.");
      if (destination.fifo !== source.fifo) {
        throw invalidParameterValue("The source queue and destination queue must be of the same queue type.");
      }
    }
    if (this.#closing)
      throw new SqsApiError("ServiceUnavailable", "devcloud is stopping.", { status: 503, fault: "Receiver" });

    // No await from here on: the check and the registration are one step, so two concurrent
    // starts on one source cannot both pass.
    const history = this.#bySource.get(source.arn) ?? [];
    if (history.some((task) => task.status === "RUNNING" || task.status === "CANCELLING")) {
      throw invalidParameterValue(
        "There is already a task running. Only one active task is allowed for a source queue arn at a given time.",
      );
    }
    const taskId = crypto.randomUUID();
    const task: MoveTask = {
      taskId,
      // AWS's handle: base64 of {"taskId","sourceArn"}, which is how Cancel finds the task.
      handle: Buffer.from(JSON.stringify({ taskId, sourceArn: source.arn })).toString("base64"),
      source: sourceArn,
      sourceFifo: source.fifo,
      destinationArn: destinationArn?.arn,
      rate,
      startedTimestamp: Date.now(),
      toMove: source.approximateNumberOfMessages,
      status: "RUNNING",
      moved: 0,
      stop: new AbortController(),
    };
    history.unshift(task);
    for (const dropped of history.splice(HISTORY_PER_SOURCE)) this.#byId.delete(dropped.taskId);
    this.#bySource.set(source.arn, history);
    this.#byId.set(taskId, task);
    task.done = this.#run(task);
    return { TaskHandle: task.handle };
  }

  async list(input: Record<string, unknown>) {
    const sourceArn = parseArn(stringMember(input, "SourceArn", true));
    if (!sourceArn) throw invalidParameterValue(SOURCE_ARN_FORMAT);
    const maxResults =
      integerMember(input, "MaxResults", 1, 10, "You must enter a number that's between 1 and 10.") ?? 1;
    if (!(await this.#queues.describe(sourceArn))) throw resourceNotFound(NO_SOURCE);
    const tasks = (this.#bySource.get(sourceArn.arn) ?? []).slice(0, maxResults);
    return {
      Results: tasks.map((task) => ({
        ...(task.status === "RUNNING" ? { TaskHandle: task.handle } : {}),
        Status: task.status,
        SourceArn: task.source.arn,
        ...(task.destinationArn ? { DestinationArn: task.destinationArn } : {}),
        ...(task.rate !== undefined ? { MaxNumberOfMessagesPerSecond: task.rate } : {}),
        ApproximateNumberOfMessagesMoved: task.moved,
        ApproximateNumberOfMessagesToMove: task.toMove,
        ...(task.status === "FAILED" && task.failureReason ? { FailureReason: task.failureReason } : {}),
        StartedTimestamp: task.startedTimestamp,
      })),
    };
  }

  async cancel(input: Record<string, unknown>): Promise<{ ApproximateNumberOfMessagesMoved: number }> {
    const handle = stringMember(input, "TaskHandle", true);
    const decoded = decodeHandle(handle);
    if (!decoded) throw invalidParameterValue("Value for parameter TaskHandle is invalid.");
    const sourceArn = parseArn(decoded.sourceArn);
    if (!sourceArn || !(await this.#queues.describe(sourceArn))) throw resourceNotFound(NO_SOURCE);
    const task = this.#byId.get(decoded.taskId);
    if (!task || task.source.arn !== sourceArn.arn) throw resourceNotFound("Task does not exist.");
    if (task.status !== "RUNNING") {
      throw new SqsApiError(
        "UnsupportedOperation",
        `Only a RUNNING task can be cancelled; this task is ${task.status}.`,
        {
          queryCode: "AWS.SimpleQueueService.UnsupportedOperation",
        },
      );
    }
    task.status = "CANCELLING";
    task.stop.abort();
    return { ApproximateNumberOfMessagesMoved: task.moved };
  }

  /** Stop every mover after the batch it is in (nothing half-moved), then forget the tasks. */
  async close(): Promise<void> {
    this.#closing = true;
    const running = [...this.#byId.values()].filter((task) => task.done);
    for (const task of running) task.stop.abort();
    await Promise.allSettled(running.map((task) => task.done));
  }

  async #run(task: MoveTask): Promise<void> {
    const sqs = this.#queues.client;
    const sourceUrl = this.#queues.internalUrl(task.source);
    try {
      while (task.moved < task.toMove && !task.stop.signal.aborted) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: sourceUrl,
            MaxNumberOfMessages: Math.min(10, task.toMove - task.moved, task.rate ?? 10),
            WaitTimeSeconds: 0,
            VisibilityTimeout: IN_FLIGHT_SECONDS,
            MessageAttributeNames: ["All"],
            MessageSystemAttributeNames: ["MessageGroupId"],
          }),
        );
        if (Messages.length === 0) break; // nothing visible left (the rest is in flight elsewhere, or gone)
        const failure = await this.#moveBatch(task, Messages);
        if (failure) {
          task.status = "FAILED";
          task.failureReason = failure;
          this.#log(`devcloud: message move task from ${task.source.arn} failed: ${failure}`);
          return;
        }
        if (task.rate && task.moved < task.toMove)
          await sleep(task.startedTimestamp + (task.moved / task.rate) * 1000 - Date.now(), task.stop.signal);
      }
      if (this.#closing && task.status === "RUNNING") return; // devcloud stopping: the task is forgotten
      task.status = task.status === "CANCELLING" ? "CANCELLED" : "COMPLETED";
    } catch (error) {
      task.status = "FAILED";
      task.failureReason = failureCode(error);
      this.#log(`devcloud: message move task from ${task.source.arn} failed: ${(error as Error).message}`);
    }
  }

  /**
   * Send one received batch on and delete what arrived from the DLQ. Returns a failure reason
   * if any message could not be moved; those are made visible in the DLQ again at once.
   */
  async #moveBatch(task: MoveTask, messages: Message[]): Promise<string | undefined> {
    const sqs = this.#queues.client;
    const sourceUrl = this.#queues.internalUrl(task.source);
    const byDestination = new Map<string, Message[]>();
    const stuck: Message[] = [];
    // In the order received: the messages before the first one without a known source move,
    // that one and those after it stay, and the task fails.
    const unplaceable = messages.findIndex(
      (message) => !(task.destinationArn ?? this.#originOf(task.source, message.MessageId!)),
    );
    const placeable = unplaceable === -1 ? messages : messages.slice(0, unplaceable);
    if (unplaceable !== -1) stuck.push(...messages.slice(unplaceable));
    for (const message of placeable) {
      const destination = task.destinationArn ?? this.#originOf(task.source, message.MessageId!)!;
      byDestination.set(destination, [...(byDestination.get(destination) ?? []), message]);
    }
    let failure: string | undefined;
    for (const [destinationArn, group] of byDestination) {
      const destination = parseArn(destinationArn)!;
      for (const batch of packBatches(group)) {
        if (failure) {
          stuck.push(...batch);
          continue;
        }
        let sent: Message[];
        try {
          const result = await sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: this.#queues.internalUrl(destination),
              Entries: batch.map((message, index) => entryFor(message, index, task.sourceFifo)),
            }),
          );
          const failed = new Set((result.Failed ?? []).map((entry) => Number(entry.Id)));
          sent = batch.filter((_, index) => !failed.has(index));
          stuck.push(...batch.filter((_, index) => failed.has(index)));
          if (result.Failed?.length) failure = result.Failed[0]!.Code ?? "InternalError";
        } catch (error) {
          stuck.push(...batch);
          failure = failureCode(error);
          continue;
        }
        if (sent.length > 0) {
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: sourceUrl,
              Entries: sent.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
            }),
          );
          task.moved += sent.length;
        }
      }
    }
    if (unplaceable !== -1) failure ??= "CouldNotDetermineMessageSource";
    if (stuck.length > 0) {
      // Back into the DLQ now rather than after the visibility timeout; best effort.
      await sqs
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: sourceUrl,
            Entries: stuck.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle!,
              VisibilityTimeout: 0,
            })),
          }),
        )
        .catch(() => {});
    }
    return failure;
  }

  /**
   * The ARN of the queue a DLQ message was dead-lettered from. SQS requires a DLQ in its
   * sources' account and Region, so the source is the DLQ's ARN with the source's name.
   */
  #originOf(deadLetterQueue: QueueArn, messageId: string): string | undefined {
    const name = this.#origins.sourceNameOf(messageId);
    return name === undefined
      ? undefined
      : `${deadLetterQueue.arn.slice(0, deadLetterQueue.arn.length - deadLetterQueue.name.length)}${name}`;
  }
}

function entryFor(message: Message, index: number, fifo: boolean): SendMessageBatchRequestEntry {
  return {
    Id: String(index),
    MessageBody: message.Body!,
    ...(message.MessageAttributes && Object.keys(message.MessageAttributes).length > 0
      ? { MessageAttributes: message.MessageAttributes }
      : {}),
    // A redriven FIFO message keeps its group; its deduplication id is its DLQ MessageId, so it
    // is neither dropped as a duplicate of the original send nor of another redriven message.
    ...(fifo ? { MessageGroupId: message.Attributes?.MessageGroupId, MessageDeduplicationId: message.MessageId } : {}),
  };
}

/** Up to 10 messages per SendMessageBatch, within SQS's 1 MiB for a whole batch. */
function packBatches(messages: Message[]): Message[][] {
  const batches: Message[][] = [];
  let current: Message[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = messageSize(message);
    if (current.length === 10 || (current.length > 0 && bytes + size > SQS_MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function messageSize(message: Message): number {
  let size = Buffer.byteLength(message.Body ?? "", "utf8");
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    size += Buffer.byteLength(name, "utf8") + Buffer.byteLength(value.DataType ?? "", "utf8");
    size += value.BinaryValue ? value.BinaryValue.length : Buffer.byteLength(value.StringValue ?? "", "utf8");
  }
  return size;
}

/** A task's FailureReason: SQS's legacy error code ("AWS.SimpleQueueService.NonExistentQueue"). */
function failureCode(error: unknown): string {
  const code = (error as { Code?: unknown }).Code;
  if (typeof code === "string" && code) return code;
  return (error as Error)?.name || "InternalError";
}

function decodeHandle(handle: string): { taskId: string; sourceArn: string } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(handle, "base64").toString("utf8")) as {
      taskId?: unknown;
      sourceArn?: unknown;
    };
    if (typeof parsed.taskId === "string" && typeof parsed.sourceArn === "string")
      return { taskId: parsed.taskId, sourceArn: parsed.sourceArn };
  } catch {
    // not base64 JSON
  }
  return undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
