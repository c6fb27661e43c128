import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { QueueArn } from "./wire.ts";

export interface QueueInfo {
  arn: string;
  name: string;
  /** The URL fauxqs stored for the queue (built from the Host of its CreateQueue: the edge's). */
  url: string;
  fifo: boolean;
  /** Where its RedrivePolicy sends messages, if it has one. */
  deadLetterTargetArn: string | undefined;
  approximateNumberOfMessages: number;
}

/**
 * The queues as fauxqs holds them, read through its own SQS API on loopback (not through the
 * edge: the move tasks are SQS's own work, not a client's). fauxqs finds a queue by the region
 * and name in a URL's `sqs.<region>.` host and path, whatever the host and port, so any queue
 * is addressed by `internalUrl(arn)`.
 */
export class FauxqsQueues {
  readonly client: SQSClient;

  constructor(fauxqsPort: number, region: string) {
    this.client = new SQSClient({
      endpoint: `http://127.0.0.1:${fauxqsPort}`,
      region,
      credentials: { accessKeyId: "devcloud", secretAccessKey: "devcloud" },
      useQueueUrlAsEndpoint: false,
      // One attempt: a failed call fails the task (or the request) with fauxqs's own answer.
      maxAttempts: 1,
    });
  }

  internalUrl(queue: Pick<QueueArn, "region" | "account" | "name">): string {
    return `http://sqs.${queue.region}.localhost/${queue.account}/${queue.name}`;
  }

  /** The queue an ARN names, or undefined if fauxqs has no such queue. */
  async describe(arn: QueueArn): Promise<QueueInfo | undefined> {
    if (arn.service !== "sqs") return undefined;
    const queue = await this.describeUrl(this.internalUrl(arn));
    // fauxqs ignores the account in a URL; AWS would not find another account's queue.
    return queue?.arn === arn.arn ? queue : undefined;
  }

  /** The queue a QueueUrl names, found the way fauxqs finds it for any other action. */
  async describeUrl(url: string): Promise<QueueInfo | undefined> {
    try {
      const { Attributes = {} } = await this.client.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }),
      );
      return queueInfo(url, Attributes);
    } catch (error) {
      if ((error as Error).name === "QueueDoesNotExist") return undefined;
      throw error;
    }
  }

  /** Every queue (all regions: fauxqs lists them together), with its attributes. */
  async all(): Promise<QueueInfo[]> {
    const urls: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.client.send(new ListQueuesCommand({ MaxResults: 1000, NextToken }));
      urls.push(...(page.QueueUrls ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
    const queues = await Promise.all(urls.map((url) => this.describeUrl(url))); // undefined: deleted meanwhile
    return queues.filter((queue): queue is QueueInfo => queue !== undefined);
  }

  /** The queues whose RedrivePolicy targets `deadLetterQueueArn`, in URL order. */
  async deadLetterSources(deadLetterQueueArn: string): Promise<QueueInfo[]> {
    const queues = await this.all();
    return queues
      .filter((queue) => queue.deadLetterTargetArn === deadLetterQueueArn)
      .sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  }

  close(): void {
    this.client.destroy();
  }
}

function queueInfo(url: string, attributes: Record<string, string>): QueueInfo {
  const arn = attributes.QueueArn ?? "";
  let deadLetterTargetArn: string | undefined;
  if (attributes.RedrivePolicy) {
    try {
      const policy = JSON.parse(attributes.RedrivePolicy) as { deadLetterTargetArn?: unknown };
      if (typeof policy.deadLetterTargetArn === "string") deadLetterTargetArn = policy.deadLetterTargetArn;
    } catch {
      // fauxqs ignores a policy it cannot parse; so does the redrive
    }
  }
  return {
    arn,
    name: arn.slice(arn.lastIndexOf(":") + 1),
    url,
    fifo: attributes.FifoQueue === "true",
    deadLetterTargetArn,
    approximateNumberOfMessages: Number(attributes.ApproximateNumberOfMessages ?? 0),
  };
}
