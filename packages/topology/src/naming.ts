import type { Topology } from "./types.ts";

/**
 * How a logical name becomes each renderer's name. One place, so devcloud's environment, the
 * SST components, their links and the config module agree by construction.
 */

/** SST component names are PascalCase and unique per app: (`summarizer`, `Queue`) → `SummarizerQueue`. */
export const componentName = (logical: string, kind: string) =>
  `${logical[0]!.toUpperCase()}${logical.slice(1)}${kind}`;

/**
 * `summarizer` → `quire-summarizer`; kebab-cases camelCase logical names (`notifierJobEvents` → `notifier-job-events`).
 */
export const physicalName = (prefix: string, logical: string) =>
  `${prefix}-${logical.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * A KMS key's alias, the name a service uses as its KeyId (any KMS call takes an alias where it
 * takes a key id): `quire-staging-secrets` → `alias/quire-staging-secrets`. The key's own id is
 * random, so devcloud and the infra app both name the key through its alias.
 */
export const keyAliasName = (name: string) => `alias/${name}`;

/** A queue's dead-letter queue: `quire-summarizer` → `quire-summarizer-dlq` (devcloud and AWS alike). */
export const deadLetterQueueName = (queueName: string) => `${queueName}-dlq`;

const ENVIRONMENT_SUFFIX = {
  TOPIC: "ARN",
  QUEUE: "URL",
  DLQ: "URL",
  BUS: "NAME",
  TABLE: "NAME",
  BUCKET: "NAME",
  KEY: "ID",
} as const;
export type ResourceKind = keyof typeof ENVIRONMENT_SUFFIX;

/**
 * The variable a service reads a resource from: (`QUEUE`, `notifierDeliveries`) →
 * `QUIRE_QUEUE_NOTIFIER_DELIVERIES_URL`.
 */
export const resourceEnvironmentKey = (kind: ResourceKind, logical: string) =>
  `QUIRE_${kind}_${logical.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}_${ENVIRONMENT_SUFFIX[kind]}`;

/** One resource a service may read: the SST component (and link) name, its link property, its variable. */
export interface ResourceBinding {
  readonly kind: ResourceKind;
  readonly logical: string;
  /** The SST component's name, which is also its name under `Resource` when linked. */
  readonly component: string;
  /** The property of the link that carries the value (`Resource.SummarizerQueue.url`). */
  readonly property: "url" | "arn" | "name" | "id";
  readonly environmentKey: string;
}

const SST_KIND = {
  TOPIC: "Topic",
  QUEUE: "Queue",
  DLQ: "Dlq",
  BUS: "Bus",
  TABLE: "Table",
  BUCKET: "Bucket",
  KEY: "Key",
} as const;
const LINK_PROPERTY = {
  TOPIC: "arn",
  QUEUE: "url",
  DLQ: "url",
  BUS: "name",
  TABLE: "name",
  BUCKET: "name",
  KEY: "id",
} as const;

/** Every resource of the topology as a binding (queues twice: the queue and its DLQ). */
export function resourceBindings(topology: Topology): ResourceBinding[] {
  const of = (kind: ResourceKind, logicals: string[]) =>
    logicals.map((logical) => ({
      kind,
      logical,
      component: componentName(logical, SST_KIND[kind]),
      property: LINK_PROPERTY[kind],
      environmentKey: resourceEnvironmentKey(kind, logical),
    }));
  return [
    ...of("TOPIC", Object.keys(topology.topics)),
    ...of("QUEUE", Object.keys(topology.queues)),
    ...of("DLQ", Object.keys(topology.queues)),
    ...of("BUS", Object.keys(topology.buses)),
    ...of("TABLE", Object.keys(topology.tables)),
    ...of("BUCKET", Object.keys(topology.buckets)),
    ...of("KEY", Object.keys(topology.keys)),
  ];
}
