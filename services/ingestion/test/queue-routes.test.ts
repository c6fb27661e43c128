import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { queueOf } from "@quire/pipeline";
import { topology, type QueueName } from "@quire/topology";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueueDepth } from "../src/queue-routes.ts";
import { startIngestion, type Ingestion } from "./support/harness.ts";

let ingestion: Ingestion;
beforeAll(async () => {
  ingestion = await startIngestion();
});
afterAll(() => ingestion?.stop());

const depths = async () => {
  const response = await ingestion.request("/v1/queues");
  expect(response.status).toBe(200);
  return ((await response.json()) as { queues: QueueDepth[] }).queues;
};
const send = (queueUrl: string, delaySeconds = 0) =>
  ingestion.clients.sqs.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "{}", DelaySeconds: delaySeconds }),
  );

describe("GET /v1/queues", () => {
  it("lists every queue of the topology, in its order, with the service consuming it", async () => {
    const queues = await depths();
    expect(queues.map(({ name, consumer }) => ({ name, consumer }))).toEqual(
      Object.entries(topology.queues).map(([name, queue]) => ({ name, consumer: queue.consumer })),
    );
  });

  it("counts what waits, what is delayed, and what was dead-lettered, queue by queue", async () => {
    const { queueUrl, deadLetterQueueUrl } = queueOf(ingestion.config, "classifierInteractive");
    await send(queueUrl);
    await send(queueUrl);
    await send(queueUrl, 600);
    await send(deadLetterQueueUrl);
    const queues = await depths();
    expect(queues.find((queue) => queue.name === "classifierInteractive")).toEqual({
      name: "classifierInteractive",
      consumer: "classifier",
      visible: 2,
      inFlight: 0,
      delayed: 1,
      deadLetters: 1,
    });
    // Nothing was sent anywhere else (no workers run here, and nothing was submitted).
    for (const queue of queues.filter((q) => q.name !== "classifierInteractive"))
      expect(queue, queue.name).toMatchObject({ visible: 0, inFlight: 0, delayed: 0, deadLetters: 0 });
  });

  it("answers a queue it cannot read with why, and every other queue as usual", async () => {
    const broken: QueueName = "notifierDeliveries";
    const { deadLetterQueueUrl } = queueOf(ingestion.config, broken);
    ingestion.clients.sqs.middlewareStack.add(
      (next) => async (args) => {
        if ((args.input as { QueueUrl?: string }).QueueUrl === deadLetterQueueUrl)
          throw Object.assign(new Error("Access to the resource is denied."), { name: "AccessDenied" });
        return next(args);
      },
      { step: "initialize", name: "denyOneQueue" },
    );
    try {
      const queues = await depths();
      expect(queues.find((queue) => queue.name === broken)).toEqual({
        name: broken,
        consumer: "notifier",
        error: "AccessDenied: Access to the resource is denied.",
      });
      expect(queues.filter((queue) => "error" in queue)).toHaveLength(1);
      expect(queues).toHaveLength(Object.keys(topology.queues).length);
    } finally {
      ingestion.clients.sqs.middlewareStack.remove("denyOneQueue");
    }
  });
});
