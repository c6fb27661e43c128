import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReceiveMessageCommand, type SQSClient, type Message } from "@aws-sdk/client-sqs";
import { startDevcloud, type Devcloud, type DevcloudOptions } from "../../src/index.ts";

/** devcloud on a free port, in memory unless a data dir is given; quiet unless DEBUG is set. */
export function startTestDevcloud(options: DevcloudOptions = {}): Promise<Devcloud> {
  return startDevcloud({ port: 0, log: process.env.DEBUG ? console.error : () => {}, ...options });
}

export function temporaryDirectory(prefix: string) {
  const path = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Receive until `count` messages arrived or `timeoutMs` passed (short polls, so tests stay quick). */
export async function receiveAll(
  sqs: SQSClient,
  QueueUrl: string,
  count: number,
  timeoutMs = 3000,
): Promise<Message[]> {
  const received: Message[] = [];
  const deadline = Date.now() + timeoutMs;
  while (received.length < count && Date.now() < deadline) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
      }),
    );
    received.push(...Messages);
  }
  return received;
}
