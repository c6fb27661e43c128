import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { CreateQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { createClassifier } from "@quire/classifier";
import { loadConfig, type QuireConfig } from "@quire/config";
import { startDevcloud, type Devcloud, type DevcloudOptions } from "@quire/devcloud";
import { createIngestion } from "@quire/ingestion";
import { createNotifierService, type NotifierService } from "@quire/notifier";
import { createAwsClients, createBatcherFor, queueOf, stageDependencies, type AwsClients } from "@quire/pipeline";
import { topology, type DeployedServiceName, type QueueName } from "@quire/topology";
import { createLogger, startLocalRunner, type Consumer, type LocalRunner } from "@quire/runtime";
import { createSummarizer } from "@quire/summarizer";
import { registerApi } from "./openapi.ts";

export const API_KEY = "test-api-key-0123456789";
const quiet = createLogger({ test: true }, () => {});

export interface Pipeline {
  devcloud: Devcloud;
  config: QuireConfig;
  clients: AwsClients;
  api: string;
  /** The notifier's subscriptions API. */
  notifierApi: string;
  notifier: NotifierService;
  /** Every event put on Quire's bus, captured by a test rule into its own queue. */
  eventsQueueUrl: string;
  request(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** Like `request`, against the notifier's API. */
  notifierRequest(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  startWorkers(): void;
  stopWorkers(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The whole product in one test process: devcloud, ingestion's HTTP app on a real port, and the
 * summarizer, classifier and notifier on their local hosts, all through real SDK clients.
 */
export async function startPipeline(
  options: {
    bedrock?: DevcloudOptions["bedrock"];
    workers?: boolean;
    modelId?: string;
    env?: Record<string, string>;
    /** Messages each consumer works on at once (16). */
    concurrency?: number;
  } = {},
): Promise<Pipeline> {
  const devcloud = await startDevcloud({
    port: 0,
    log: () => {},
    ...(options.bedrock ? { bedrock: options.bedrock } : {}),
  });
  // acme.dms: the upstream system the specs submit on the bus as (QUIRE_EXTERNAL_SOURCES).
  const env = {
    ...devcloud.env,
    QUIRE_API_KEY: API_KEY,
    QUIRE_EXTERNAL_SOURCES: "acme.dms",
    // devcloud's batch jobs take seconds here: check every second.
    QUIRE_BATCH_POLL_SECONDS: "1",
    ...(options.modelId ? { QUIRE_MODEL_ID: options.modelId } : {}),
    ...options.env,
  };
  const config = loadConfig(env);
  const clients = createAwsClients(env);

  // A spy on the bus: one rule catching every quire.* event into a queue the tests read.
  const { QueueUrl: eventsQueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: "e2e-bus-spy" }));
  const { Attributes } = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: eventsQueueUrl, AttributeNames: ["QueueArn"] }),
  );
  await clients.events.send(
    new PutRuleCommand({
      Name: "e2e-spy",
      EventBusName: config.QUIRE_BUS_EVENTS_NAME,
      EventPattern: '{"source":[{"prefix":"quire."}]}',
    }),
  );
  await clients.events.send(
    new PutTargetsCommand({
      Rule: "e2e-spy",
      EventBusName: config.QUIRE_BUS_EVENTS_NAME,
      Targets: [{ Id: "spy", Arn: Attributes!.QueueArn! }],
    }),
  );

  const ingestion = createIngestion(config, clients, { apiKey: API_KEY });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: ingestion.app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const notifier = createNotifierService(config, clients, { apiKey: API_KEY });
  const notifierServer: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: notifier.app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  const notifierApi = `http://127.0.0.1:${(notifierServer.address() as AddressInfo).port}`;
  // Every response from either API, whoever asks (send, a spec's own fetch, the CLI), is checked against its OpenAPI
  // document.
  registerApi(api, "ingestion");
  registerApi(notifierApi, "notifier");

  const summarizer = createSummarizer(stageDependencies(config, clients, "summarizer")) as Consumer<never>;
  const classifier = createClassifier(stageDependencies(config, clients, "classifier")) as Consumer<never>;
  // Without a batch role (a spec of batch not set up), no batcher: nothing is sent to it then.
  const batcher = config.QUIRE_BATCH_ROLE_ARN ? (createBatcherFor(config, clients) as Consumer<never>) : undefined;
  // Which consumer reads each queue, by the service the topology says consumes it: the queues
  // themselves (bulk and interactive lanes, the notifier's two) come from the topology.
  const consumerFor = {
    ingestion: (queue: QueueName) =>
      (queue === "runManifests" ? ingestion.manifestChunks : ingestion.externalSubmissions) as Consumer<never>,
    summarizer: () => summarizer,
    classifier: () => classifier,
    batcher: () => batcher,
    notifier: (queue: QueueName) =>
      (queue === "notifierDeliveries" ? notifier.deliveries : notifier.events) as Consumer<never>,
  } satisfies Record<DeployedServiceName, (queue: QueueName) => Consumer<never> | undefined>;
  const consumers: [Consumer<never>, string, string][] = (
    Object.keys(topology.services) as DeployedServiceName[]
  ).flatMap((service) =>
    topology.services[service].consumers.flatMap((declared) => {
      const consumer = consumerFor[service](declared.queue);
      if (!consumer) return [];
      const { queueUrl, deadLetterQueueUrl } = queueOf(config, declared.queue);
      return [[consumer, queueUrl, deadLetterQueueUrl] as [Consumer<never>, string, string]];
    }),
  );
  let runners: LocalRunner[] = [];
  const startWorkers = () => {
    runners = consumers.map(([consumer, queueUrl, deadLetterQueueUrl]) =>
      startLocalRunner(consumer, {
        sqs: clients.sqs,
        queueUrl,
        deadLetterQueueUrl,
        concurrency: options.concurrency ?? 16,
        waitTimeSeconds: 1,
        log: quiet,
      }),
    );
  };
  const stopWorkers = async () => {
    await Promise.all(runners.map((r) => r.stop()));
    runners = [];
  };
  if (options.workers !== false) startWorkers();

  return {
    devcloud,
    config,
    clients,
    api,
    eventsQueueUrl: eventsQueueUrl!,
    notifierApi,
    notifier,
    request: (path, init = {}) => send(api, path, init),
    notifierRequest: (path, init = {}) => send(notifierApi, path, init),
    startWorkers,
    stopWorkers,
    async stop() {
      await stopWorkers();
      server.close();
      notifierServer.close();
      await devcloud.stop();
    },
  };
}

/**
 * A request with the API key (and `json` as the body); the response is checked against the API's OpenAPI document
 * (support/openapi.ts).
 */
function send(base: string, path: string, init: RequestInit & { json?: unknown }): Promise<Response> {
  const { json, headers, ...rest } = init;
  return fetch(`${base}${path}`, {
    ...rest,
    headers: {
      "x-api-key": API_KEY,
      ...(json !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    ...(json !== undefined ? { body: JSON.stringify(json), method: rest.method ?? "POST" } : {}),
  });
}

/** Poll the API until the job is terminal. */
export async function waitForJob(
  pipeline: Pipeline,
  jobId: string,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await (await pipeline.request(`/v1/jobs/${jobId}`)).json()) as Record<string, unknown>;
    if (job.status === "complete" || job.status === "failed" || Date.now() > deadline) return job;
    await new Promise((r) => setTimeout(r, 100));
  }
}
