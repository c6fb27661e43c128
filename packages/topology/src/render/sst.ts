import type { Topology } from "../types.ts";

/**
 * The slice of SST v3's `sst.aws` components this renderer uses, typed structurally so that
 * sst.config.ts passes the real `sst.aws` and the wiring test passes recording stand-ins.
 */
export interface SstQueue {
  readonly arn: unknown;
}
export interface SstAwsComponents {
  SnsTopic: new (name: string, args?: object) => {
    readonly arn: unknown;
    subscribeQueue(name: string, queue: unknown, args?: object): unknown;
  };
  Queue: new (name: string, args?: object) => SstQueue;
  Bus: new (name: string, args?: object) => {
    readonly arn: unknown;
    readonly name: unknown;
    subscribeQueue(name: string, queue: unknown, args?: object): unknown;
  };
  Dynamo: new (name: string, args?: object) => unknown;
  Bucket: new (name: string, args?: object) => unknown;
}

/** SST component names are PascalCase and unique per app: `summarizer` → `SummarizerQueue`. */
export const componentName = (logical: string, kind: string) => `${logical[0]!.toUpperCase()}${logical.slice(1)}${kind}`;

/**
 * Render the topology into SST components. Returns them by logical name so sst.config.ts can
 * link them to the functions that use them.
 */
export function renderSstResources<A extends SstAwsComponents>(topology: Topology, aws: A) {
  type Instance<K extends keyof SstAwsComponents> = InstanceType<A[K]>;

  const topics = Object.fromEntries(
    Object.keys(topology.topics).map((logical) => [logical, new aws.SnsTopic(componentName(logical, "Topic"))]),
  ) as Record<string, Instance<"SnsTopic">>;

  const deadLetterQueues: Record<string, Instance<"Queue">> = {};
  const queues = Object.fromEntries(
    Object.entries(topology.queues).map(([logical, q]) => {
      const dlq = new aws.Queue(componentName(logical, "Dlq"), {
        transform: { queue: { messageRetentionSeconds: q.dlq.messageRetentionSeconds } },
      });
      deadLetterQueues[logical] = dlq as Instance<"Queue">;
      const queue = new aws.Queue(componentName(logical, "Queue"), {
        visibilityTimeout: `${q.visibilityTimeoutSeconds} seconds`,
        dlq: { queue: dlq.arn, retry: q.maxReceiveCount },
        transform: {
          queue: {
            messageRetentionSeconds: q.messageRetentionSeconds,
            receiveWaitTimeSeconds: q.receiveWaitTimeSeconds,
          },
        },
      });
      return [logical, queue];
    }),
  ) as Record<string, Instance<"Queue">>;

  for (const [logical, s] of Object.entries(topology.subscriptions)) {
    topics[s.topic]!.subscribeQueue(componentName(logical, "Subscription"), queues[s.queue]!.arn, {
      filter: s.filterPolicy,
      transform: {
        subscription: { rawMessageDelivery: s.rawMessageDelivery, filterPolicyScope: s.filterPolicyScope },
      },
    });
  }

  const buses = Object.fromEntries(
    Object.keys(topology.buses).map((logical) => [logical, new aws.Bus(componentName(logical, "Bus"))]),
  ) as Record<string, Instance<"Bus">>;

  for (const [logical, r] of Object.entries(topology.rules)) {
    buses[r.bus]!.subscribeQueue(componentName(logical, "Rule"), queues[r.targetQueue]!.arn, {
      pattern: r.pattern,
    });
  }

  const tables = Object.fromEntries(
    Object.entries(topology.tables).map(([logical, t]) => [
      logical,
      new aws.Dynamo(componentName(logical, "Table"), {
        fields: t.fields,
        primaryIndex: t.primaryIndex,
        ...(t.globalIndexes ? { globalIndexes: t.globalIndexes } : {}),
        ...(t.ttl ? { ttl: t.ttl } : {}),
      }),
    ]),
  ) as Record<string, Instance<"Dynamo">>;

  const buckets = Object.fromEntries(
    Object.keys(topology.buckets).map((logical) => [logical, new aws.Bucket(componentName(logical, "Bucket"))]),
  ) as Record<string, Instance<"Bucket">>;

  return { topics, queues, deadLetterQueues, buses, tables, buckets };
}
