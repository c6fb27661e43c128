/**
 * The local runner's parts, each alone against a recording stand-in of the SQS client (the
 * runner as a whole is specified against devcloud in local-runner*.test.ts).
 */
import type { SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { createDeleteBatcher } from "../src/hosts/local/delete-batcher.ts";
import { MessageLease, type ReceivedMessage } from "../src/hosts/local/lease.ts";
import { readQueueSettings } from "../src/hosts/local/queue-settings.ts";
import { createSettler } from "../src/hosts/local/settle.ts";
import type { SettledCounts } from "../src/hosts/local/types.ts";
import { createLogger } from "../src/logger.ts";
import { DEFAULT_REDELIVERY_POLICY } from "../src/redelivery.ts";

const quiet = createLogger({ test: true }, () => {});
interface Sent {
  command: string;
  input: Record<string, any>;
}
/** An SQS client that records each command and answers with `answer` (or throws what it throws). */
function recordingSqs(answer: (sent: Sent) => unknown = () => ({})) {
  const sent: Sent[] = [];
  const sqs = {
    send: async (command: { constructor: { name: string }; input: Record<string, any> }) => {
      const entry = { command: command.constructor.name, input: command.input };
      sent.push(entry);
      return answer(entry);
    },
  } as unknown as SQSClient;
  return { sqs, sent };
}
const message = (id = "m-1", receiveCount = "1"): ReceivedMessage => ({
  MessageId: id,
  ReceiptHandle: `rh-${id}`,
  Body: "{}",
  Attributes: { ApproximateReceiveCount: receiveCount },
});
const counts = (): SettledCounts => ({ received: 0, succeeded: 0, failed: 0, deadLettered: 0, handlerMs: 0 });

describe("the delete batcher", () => {
  it("sends the first delete alone and coalesces those arriving meanwhile, at most 10 per call", async () => {
    const { sqs, sent } = recordingSqs(() => ({ Failed: [] }));
    const batcher = createDeleteBatcher(sqs, "q", quiet);
    const deleted = await Promise.all(Array.from({ length: 15 }, (_, i) => batcher.delete(`m${i}`, `rh${i}`)));
    expect(deleted.every(Boolean)).toBe(true);
    expect(sent.map((s) => s.input.Entries.length)).toEqual([1, 10, 4]);
  });

  it("answers false for an entry SQS failed, true for the rest", async () => {
    const { sqs } = recordingSqs(() => ({ Failed: [{ Id: "0", Code: "ReceiptHandleIsInvalid" }] }));
    const batcher = createDeleteBatcher(sqs, "q", quiet);
    expect(await batcher.delete("m0", "rh0")).toBe(false);
  });

  it("answers false for every entry of a call that failed (they will be redelivered)", async () => {
    const { sqs } = recordingSqs(() => {
      throw new Error("SQS unreachable");
    });
    const batcher = createDeleteBatcher(sqs, "q", quiet);
    expect(await Promise.all([batcher.delete("a", "1"), batcher.delete("b", "2")])).toEqual([false, false]);
  });
});

describe("a message lease", () => {
  it("takes its receive count from the message", () => {
    expect(new MessageLease(message("m", "7"), recordingSqs().sqs, "q", quiet).receiveCount).toBe(7);
  });

  it("release waits for an extension in flight, then makes the message visible at once and aborts the handler", async () => {
    let finishExtension!: () => void;
    const { sqs, sent } = recordingSqs((s) =>
      s.input.VisibilityTimeout === 30 ? new Promise<void>((resolve) => (finishExtension = resolve)) : {},
    );
    const lease = new MessageLease(message(), sqs, "q", quiet);
    lease.startHeartbeat(30, 5);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const released = lease.release("stopping");
    await new Promise((resolve) => setTimeout(resolve, 20));
    // One extension at a time, and the release has not gone out past it.
    expect(sent.map((s) => s.input.VisibilityTimeout)).toEqual([30]);
    finishExtension();
    await released;
    expect(sent.map((s) => s.input.VisibilityTimeout)).toEqual([30, 0]);
    expect(lease.controller.signal.aborted).toBe(true);
    expect(lease.released).toBe(true);
  });
});

describe("reading the queue's settings", () => {
  it("answers its visibility timeout and redrive limit, retrying until the queue answers", async () => {
    let calls = 0;
    const { sqs } = recordingSqs(() => {
      if (++calls < 3) throw new Error("not up yet");
      return {
        Attributes: { VisibilityTimeout: "45", RedrivePolicy: '{"maxReceiveCount":200,"deadLetterTargetArn":"x"}' },
      };
    });
    expect(await readQueueSettings(sqs, "q", quiet, new AbortController().signal)).toEqual({
      visibilityTimeoutSeconds: 45,
      maxReceiveCount: 200,
    });
    expect(calls).toBe(3);
  });

  it("answers undefined once stopped while the queue does not answer", async () => {
    const { sqs } = recordingSqs(() => {
      throw new Error("down");
    });
    const stop = new AbortController();
    const reading = readQueueSettings(sqs, "q", quiet, stop.signal);
    stop.abort();
    expect(await reading).toBeUndefined();
  });
});

describe("settling an outcome", () => {
  const settler = (
    sqsAnswer?: (sent: Sent) => unknown,
    options: { deadLetterQueueUrl?: string } = { deadLetterQueueUrl: "dlq" },
  ) => {
    const { sqs, sent } = recordingSqs(sqsAnswer);
    const tally = counts();
    const settle = createSettler({
      sqs,
      queueName: "work",
      deadLetterQueueUrl: options.deadLetterQueueUrl,
      deleter: createDeleteBatcher(sqs, "q", quiet),
      counts: tally,
      retryDelay: undefined,
      redelivery: DEFAULT_REDELIVERY_POLICY,
    });
    const lease = new MessageLease(message(), sqs, "q", quiet);
    return { settle, sent, tally, lease };
  };
  const reason = { code: "SCHEMA_VIOLATION", message: "bad" };

  it("a success deletes the message", async () => {
    const { settle, sent, tally, lease } = settler(() => ({ Failed: [] }));
    await settle(lease, { status: "succeeded" }, quiet, 30);
    expect(sent.map((s) => s.command)).toEqual(["DeleteMessageBatchCommand"]);
    expect(tally.succeeded).toBe(1);
  });

  it("a transient failure hides the message for its retry delay, and deletes nothing", async () => {
    const { settle, sent, tally, lease } = settler();
    await settle(lease, { status: "transient", retryAfterSeconds: 8 } as never, quiet, 30);
    expect(sent).toEqual([
      { command: "ChangeMessageVisibilityCommand", input: expect.objectContaining({ VisibilityTimeout: 8 }) },
    ]);
    expect(tally.failed).toBe(1);
  });

  it("a permanent failure goes to the DLQ with its reason, then is deleted", async () => {
    const { settle, sent, tally, lease } = settler(() => ({ Failed: [] }));
    await settle(lease, { status: "permanent", reason } as never, quiet, 30);
    expect(sent.map((s) => s.command)).toEqual(["SendMessageCommand", "DeleteMessageBatchCommand"]);
    expect(sent[0]!.input.QueueUrl).toBe("dlq");
    expect(tally.deadLettered).toBe(1);
  });

  it("a permanent failure whose DLQ send fails is kept: retried after the base delay, not deleted", async () => {
    const { settle, sent, tally, lease } = settler((s) => {
      if (s.command === "SendMessageCommand") throw new Error("DLQ unreachable");
      return {};
    });
    await settle(lease, { status: "permanent", reason } as never, quiet, 30);
    expect(sent.map((s) => s.command)).toEqual(["SendMessageCommand", "ChangeMessageVisibilityCommand"]);
    expect(sent[1]!.input.VisibilityTimeout).toBe(DEFAULT_REDELIVERY_POLICY.baseDelaySeconds);
    expect(tally).toMatchObject({ failed: 1, deadLettered: 0 });
  });

  it("without a DLQ a permanent failure is left for SQS's redrive: visible again at once", async () => {
    const { settle, sent, lease } = settler(undefined, {});
    await settle(lease, { status: "permanent", reason } as never, quiet, 30);
    expect(sent).toEqual([
      { command: "ChangeMessageVisibilityCommand", input: expect.objectContaining({ VisibilityTimeout: 0 }) },
    ]);
  });
});
