import { createBedrockStageClient } from "@quire/bedrock";
import type { QuireConfig } from "@quire/config";
import type { ServiceName } from "@quire/contracts";
import { topology } from "@quire/topology";
import { createJobStore } from "@quire/jobs";
import { createLambdaHandler, createLogger, startLocalRunner, type Consumer } from "@quire/runtime";
import type { AwsClients } from "./clients.ts";
import { createEventPublisher } from "./event-publisher.ts";
import { createJobLifecycle } from "./lifecycle.ts";
import type { StageDependencies } from "./stage-handler.ts";

/** Everything a stage handler needs, built from config and clients (identical in Lambda and locally). */
export function stageDependencies(config: QuireConfig, clients: AwsClients, service: ServiceName): StageDependencies {
  const jobs = createJobStore({ client: clients.dynamodb, tableName: config.QUIRE_TABLE_JOBS_NAME });
  const events = createEventPublisher({ client: clients.events, busName: config.QUIRE_BUS_EVENTS_NAME, service });
  return {
    jobs,
    events,
    s3: clients.s3,
    bedrock: createBedrockStageClient({ client: clients.bedrock, modelId: config.QUIRE_MODEL_ID, taxonomy: config.QUIRE_TAXONOMY }),
    lifecycle: createJobLifecycle({ jobs, events }),
  };
}

const queueOf = (config: QuireConfig, service: ServiceName) => {
  const key = service.toUpperCase() as Uppercase<ServiceName>;
  return { queueUrl: config[`QUIRE_QUEUE_${key}_URL`], deadLetterQueueUrl: config[`QUIRE_DLQ_${key}_URL`] };
};

/** The Lambda host for a service's consumer: SQS batch in, partial batch failures out. */
export function lambdaHandlerFor<T>(consumer: Consumer<T>, config: QuireConfig, clients: AwsClients, service: ServiceName) {
  return createLambdaHandler(consumer, {
    deadLetterQueueUrl: queueOf(config, service).deadLetterQueueUrl,
    maxReceiveCount: topology.queues[service].maxReceiveCount,
    sqs: clients.sqs,
  });
}

/** The local host: long-poll the service's queue until SIGINT/SIGTERM, then stop gracefully. */
export function runLocally<T>(consumer: Consumer<T>, config: QuireConfig, clients: AwsClients, service: ServiceName) {
  const log = createLogger({ service });
  const runner = startLocalRunner(consumer, {
    sqs: clients.sqs,
    ...queueOf(config, service),
    concurrency: config.QUIRE_WORKER_CONCURRENCY,
    log,
  });
  log.info("consuming", { queue: queueOf(config, service).queueUrl, concurrency: config.QUIRE_WORKER_CONCURRENCY });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    log.info("stopping: finishing or releasing in-flight messages");
    void runner.stop().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return runner;
}
