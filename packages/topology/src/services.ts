import { eventCatalog, type DetailType, type RUN_BATCH, type ServiceName } from "@quire/contracts";
import { topology, type QueueName } from "./topology.ts";

/**
 * What each service consumes and emits: the seam every later piece reads (its handler's
 * message types, the event sources its IAM may put, the AsyncAPI receive operations).
 * Derived from the topology and the event catalogue, checked against both by tests.
 */
export interface ServiceWiring {
  readonly service: ServiceName;
  readonly queue: QueueName;
  /** `document.submitted` via SNS, or EventBridge detail-types via rules. */
  readonly consumes: readonly ("document.submitted" | typeof RUN_BATCH | DetailType)[];
  readonly emits: readonly DetailType[];
}

export function serviceWiring(service: ServiceName): ServiceWiring {
  const queueEntry = Object.entries(topology.queues).find(([, q]) => q.consumer === service);
  if (!queueEntry) throw new Error(`topology declares no queue consumed by ${service}`);
  const queue = queueEntry[0] as QueueName;
  const fromTopic = Object.values(topology.subscriptions)
    .filter((s) => s.queue === queue)
    .flatMap((s) => (s.filterPolicy.type as readonly string[]) ?? []);
  const fromRules = Object.values(topology.rules)
    .filter((r) => r.targetQueue === queue)
    .flatMap((r) => (r.pattern.detailType ?? []) as readonly DetailType[]);
  const emits = (Object.keys(eventCatalog) as DetailType[]).filter((type) =>
    (eventCatalog[type].sources as readonly string[]).includes(`quire.${service}`),
  );
  return { service, queue, consumes: [...new Set([...fromTopic, ...fromRules])] as ServiceWiring["consumes"], emits };
}
