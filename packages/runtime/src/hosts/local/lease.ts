import { ChangeMessageVisibilityCommand, type Message, type SQSClient } from "@aws-sdk/client-sqs";
import type { Logger } from "../../logger.ts";

/** A received message as SQS gives it to the runner: it has the ids the runner needs. */
export type ReceivedMessage = Message & { ReceiptHandle: string; MessageId: string };

/**
 * One received message while this runner holds it: hidden from other consumers by its
 * visibility timeout, which a heartbeat keeps extending while the handler runs. The runner
 * either settles it (delete, retry later, dead-letter) or releases it (visible again at once).
 */
export class MessageLease {
  readonly message: ReceivedMessage;
  readonly receiveCount: number;
  /** Aborted when the lease is released: the handler's `ctx.signal`. */
  readonly controller = new AbortController();
  /** "handling" until the handler returns; then its outcome is being applied to SQS. */
  phase: "handling" | "settling" = "handling";
  /** Set when the message was given back: the handler's late outcome is ignored. */
  released = false;
  /** The handler and the settling of its outcome, once started. */
  done: Promise<void> | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  /** The visibility extension in flight, if any. */
  private extending: Promise<unknown> | undefined;
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;
  private readonly log: Logger;

  constructor(message: ReceivedMessage, sqs: SQSClient, queueUrl: string, log: Logger) {
    this.message = message;
    this.receiveCount = Number(message.Attributes?.ApproximateReceiveCount) || 1;
    this.sqs = sqs;
    this.queueUrl = queueUrl;
    this.log = log;
  }

  /** Keeps the message invisible for `visibilitySeconds` more every `everyMs`; one extension at a time. */
  startHeartbeat(visibilitySeconds: number, everyMs: number) {
    this.heartbeat = setInterval(() => {
      if (this.extending) return;
      this.extending = this.changeVisibility(visibilitySeconds, "heartbeat").finally(() => {
        this.extending = undefined;
      });
    }, everyMs);
  }

  /**
   * Stops extending, and waits for an extension already sent: one landing after a retry delay
   * or a release would hide the message again for a full timeout.
   */
  async stopHeartbeat() {
    clearInterval(this.heartbeat);
    await this.extending;
  }

  async changeVisibility(seconds: number, why: string): Promise<boolean> {
    try {
      await this.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.queueUrl,
          ReceiptHandle: this.message.ReceiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
      return true;
    } catch (error) {
      this.log.warn(`could not change visibility (${why})`, {
        messageId: this.message.MessageId,
        visibilityTimeout: seconds,
        error,
      });
      return false;
    }
  }

  /** Gives the message back at once (visibility 0), so another worker picks it up without waiting. */
  async release(reason: string) {
    this.released = true;
    this.controller.abort(new Error(reason));
    await this.stopHeartbeat();
    if (await this.changeVisibility(0, "release"))
      this.log.info("message released", { messageId: this.message.MessageId, reason });
  }
}
