import { componentName, type Topology } from "@quire/topology";
import type { DeploymentTarget } from "./names.ts";
import { sharedNames } from "./names.ts";

/**
 * The infra app: every resource of the topology declaration, deployed once per stage and shared
 * by the services' own apps. Queues live here, not with their consumers, so a service can be
 * redeployed (or removed and redeployed) while messages wait for it.
 */
export function renderSharedInfrastructure(
  topology: Topology,
  target: DeploymentTarget,
  options: { emailSender: string; production: boolean },
) {
  const names = sharedNames(topology, target);

  const topics = Object.fromEntries(
    Object.keys(topology.topics).map((logical) => [
      logical,
      new sst.aws.SnsTopic(componentName(logical, "Topic"), { transform: { topic: { name: names.topic(logical) } } }),
    ]),
  );

  const deadLetterQueues: Record<string, sst.aws.Queue> = {};
  const queues = Object.fromEntries(
    Object.entries(topology.queues).map(([logical, q]) => {
      const dlq = new sst.aws.Queue(componentName(logical, "Dlq"), {
        transform: { queue: { name: names.dlq(logical), messageRetentionSeconds: q.dlq.messageRetentionSeconds } },
      });
      deadLetterQueues[logical] = dlq;
      const queue = new sst.aws.Queue(componentName(logical, "Queue"), {
        visibilityTimeout: `${q.visibilityTimeoutSeconds} seconds`,
        dlq: { queue: dlq.arn, retry: q.maxReceiveCount },
        transform: {
          queue: {
            name: names.queue(logical),
            messageRetentionSeconds: q.messageRetentionSeconds,
            receiveWaitTimeSeconds: q.receiveWaitTimeSeconds,
          },
        },
      });
      return [logical, queue];
    }),
  );

  const buses = Object.fromEntries(
    Object.keys(topology.buses).map((logical) => [
      logical,
      new sst.aws.Bus(componentName(logical, "Bus"), { transform: { bus: { name: names.bus(logical) } } }),
    ]),
  );

  const tables = Object.fromEntries(
    Object.entries(topology.tables).map(([logical, t]) => [
      logical,
      new sst.aws.Dynamo(componentName(logical, "Table"), {
        fields: t.fields,
        primaryIndex: t.primaryIndex,
        ...(t.globalIndexes ? { globalIndexes: t.globalIndexes } : {}),
        ...(t.ttl ? { ttl: t.ttl } : {}),
        deletionProtection: options.production,
        transform: { table: { name: names.table(logical) } },
      }),
    ]),
  );

  const buckets = Object.fromEntries(
    Object.keys(topology.buckets).map((logical) => [
      logical,
      new sst.aws.Bucket(componentName(logical, "Bucket"), {
        transform: { bucket: { bucket: names.bucket(logical) } },
      }),
    ]),
  );

  // The notifier sends from this identity (domain or address; SES verifies it, sandbox rules apply).
  const email = new sst.aws.Email("Email", { sender: options.emailSender });

  return { topics, queues, deadLetterQueues, buses, tables, buckets, email };
}
