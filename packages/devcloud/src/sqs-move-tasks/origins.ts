import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { MessageSpyReader, SpyMessage } from "fauxqs";

/** Bound on remembered origins: messages left in DLQs for ever must not grow memory for ever. */
const MAX_ORIGINS = 200_000;
const SAVE_DELAY_MS = 200;

/**
 * Which queue each dead-lettered message came from: what SQS keeps as the message's
 * `DeadLetterQueueSourceArn` and what "redrive to source" (StartMessageMoveTask without a
 * DestinationArn) sends it back to.
 *
 * fauxqs dead-letters a message by moving the same message object (same MessageId, body,
 * attributes, receive count, sent timestamp) into the DLQ and records nothing about where it
 * came from. It does report the move to its message spy, as a `dlq` event naming the source
 * queue and the MessageId; devcloud turns the spy on (emulators/fauxqs.ts) and listens with a
 * matcher that never matches, so it sees every event and keeps nothing else. `consumed` events
 * (a DeleteMessage, the move task's included) forget the message again.
 *
 * Messages nobody dead-lettered (sent to the DLQ directly, or delivered there by SNS or
 * EventBridge) have no origin, as on AWS: redriving them to source fails the task with
 * CouldNotDetermineMessageSource. The origin is never guessed from today's RedrivePolicies.
 *
 * With a data dir the map is saved to `file` (fauxqs keeps the messages across restarts, so
 * their origins must survive too); in memory it lives as long as the process.
 */
export class DeadLetterOrigins {
  readonly #sources = new Map<string, string>();
  readonly #file: string | undefined;
  #saveTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(spy: MessageSpyReader, file: string | undefined, log: (line: string) => void = () => {}) {
    this.#file = file;
    if (file) this.#load(file, log);
    this.#listen(spy);
  }

  /** The name of the queue this DLQ message was dead-lettered from, if SQS did it. */
  sourceNameOf(messageId: string): string | undefined {
    return this.#sources.get(messageId);
  }

  /** Write what is pending now (devcloud stopping). */
  close(): void {
    this.#closed = true;
    if (this.#saveTimer) {
      clearTimeout(this.#saveTimer);
      this.#saveTimer = undefined;
      this.#save();
    }
  }

  #listen(spy: MessageSpyReader): void {
    const observe = (event: SpyMessage): false => {
      if (event.service === "sqs") {
        if (event.status === "dlq") this.#remember(event.messageId, event.queueName);
        else if (event.status === "consumed") this.#forget(event.messageId);
      }
      return false;
    };
    // Only fauxqs's reset() (which devcloud never calls) ends the wait; listen again if it does.
    spy.waitForMessage(observe).catch(() => {
      if (!this.#closed) this.#listen(spy);
    });
  }

  #remember(messageId: string, queueName: string): void {
    this.#sources.delete(messageId); // re-inserted last: a DLQ chain's later hop is the newest
    this.#sources.set(messageId, queueName);
    if (this.#sources.size > MAX_ORIGINS) this.#sources.delete(this.#sources.keys().next().value!);
    this.#changed();
  }

  #forget(messageId: string): void {
    if (this.#sources.delete(messageId)) this.#changed();
  }

  #changed(): void {
    if (!this.#file || this.#closed || this.#saveTimer) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      this.#save();
    }, SAVE_DELAY_MS);
    this.#saveTimer.unref();
  }

  #save(): void {
    const file = this.#file!;
    mkdirSync(dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify({ version: 1, sources: Object.fromEntries(this.#sources) }));
    renameSync(temporary, file);
  }

  #load(file: string, log: (line: string) => void): void {
    let parsed: { sources?: Record<string, unknown> };
    try {
      parsed = JSON.parse(readFileSync(file, "utf8")) as typeof parsed;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      // Written by rename, so never half a file; if it is unreadable all the same, start without
      // origins: redrive to source then fails with CouldNotDetermineMessageSource, nothing is lost.
      log(
        `devcloud: ignoring ${file} (${(error as Error).message}); dead-lettered messages from before have no known source`,
      );
      return;
    }
    for (const [messageId, queueName] of Object.entries(parsed.sources ?? {})) {
      if (typeof queueName === "string") this.#sources.set(messageId, queueName);
    }
  }
}
