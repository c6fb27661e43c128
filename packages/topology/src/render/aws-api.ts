import type { Topology } from "../types.ts";
import { deadLetterQueueName, keyAliasName, physicalName } from "../naming.ts";
import { toEventPattern } from "./event-pattern.ts";

/**
 * The topology as the AWS API calls that create it, with physical names `<prefix>-<logical>`.
 * devcloud applies these through the real SDK clients; they would work against any AWS-compatible
 * endpoint. (In AWS itself, sst.config.ts renders the same declaration into SST components.)
 */
export interface AwsApiResources {
  readonly topics: { readonly logical: string; readonly name: string }[];
  readonly queues: {
    readonly logical: string;
    readonly name: string;
    readonly dlqName: string;
    readonly dlqAttributes: Record<string, string>;
    /** Without RedrivePolicy: it needs the DLQ's ARN, known once the DLQ exists. */
    readonly attributes: Record<string, string>;
    readonly maxReceiveCount: number;
  }[];
  readonly subscriptions: {
    readonly logical: string;
    readonly topicName: string;
    readonly queueName: string;
    readonly attributes: Record<string, string>;
  }[];
  readonly buses: { readonly logical: string; readonly name: string }[];
  readonly rules: {
    readonly logical: string;
    readonly name: string;
    readonly busName: string;
    readonly description: string;
    readonly eventPattern: string;
    readonly targetQueueName: string;
  }[];
  readonly tables: {
    readonly logical: string;
    readonly name: string;
    readonly keySchema: { AttributeName: string; KeyType: "HASH" | "RANGE" }[];
    readonly attributeDefinitions: { AttributeName: string; AttributeType: "S" | "N" | "B" }[];
    readonly globalSecondaryIndexes: {
      IndexName: string;
      KeySchema: { AttributeName: string; KeyType: "HASH" | "RANGE" }[];
      Projection: { ProjectionType: "ALL" };
    }[];
    readonly ttlAttribute?: string;
  }[];
  readonly buckets: { readonly logical: string; readonly name: string }[];
  /** A symmetric encryption key per declared key, found by its alias (`alias/<prefix>-<logical>`). */
  readonly keys: { readonly logical: string; readonly aliasName: string; readonly description: string }[];
}

const ATTRIBUTE_TYPE = { string: "S", number: "N", binary: "B" } as const;

const keySchema = (index: { hashKey: string; rangeKey?: string }) => [
  { AttributeName: index.hashKey, KeyType: "HASH" as const },
  ...(index.rangeKey ? [{ AttributeName: index.rangeKey, KeyType: "RANGE" as const }] : []),
];

export function renderAwsApiResources(topology: Topology, prefix = topology.app): AwsApiResources {
  const name = (logical: string) => physicalName(prefix, logical);
  return {
    topics: Object.keys(topology.topics).map((logical) => ({ logical, name: name(logical) })),
    queues: Object.entries(topology.queues).map(([logical, q]) => ({
      logical,
      name: name(logical),
      dlqName: deadLetterQueueName(name(logical)),
      dlqAttributes: { MessageRetentionPeriod: String(q.dlq.messageRetentionSeconds) },
      attributes: {
        VisibilityTimeout: String(q.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(q.messageRetentionSeconds),
        ReceiveMessageWaitTimeSeconds: String(q.receiveWaitTimeSeconds),
      },
      maxReceiveCount: q.maxReceiveCount,
    })),
    subscriptions: Object.entries(topology.subscriptions).map(([logical, s]) => ({
      logical,
      topicName: name(s.topic),
      queueName: name(s.queue),
      attributes: {
        RawMessageDelivery: String(s.rawMessageDelivery),
        FilterPolicy: JSON.stringify(s.filterPolicy),
        FilterPolicyScope: s.filterPolicyScope,
      },
    })),
    buses: Object.keys(topology.buses).map((logical) => ({ logical, name: name(logical) })),
    rules: Object.entries(topology.rules).map(([logical, r]) => ({
      logical,
      name: name(logical),
      busName: name(r.bus),
      description: r.description,
      eventPattern: JSON.stringify(toEventPattern(r.pattern)),
      targetQueueName: name(r.targetQueue),
    })),
    tables: Object.entries(topology.tables).map(([logical, t]) => {
      const gsis = Object.entries(t.globalIndexes ?? {});
      return {
        logical,
        name: name(logical),
        keySchema: keySchema(t.primaryIndex),
        // DynamoDB wants definitions only for attributes that appear in some key schema.
        attributeDefinitions: Object.entries(t.fields).map(([attribute, type]) => ({
          AttributeName: attribute,
          AttributeType: ATTRIBUTE_TYPE[type],
        })),
        globalSecondaryIndexes: gsis.map(([indexName, index]) => ({
          IndexName: indexName,
          KeySchema: keySchema(index),
          Projection: { ProjectionType: "ALL" as const },
        })),
        ...(t.ttl ? { ttlAttribute: t.ttl } : {}),
      };
    }),
    buckets: Object.keys(topology.buckets).map((logical) => ({ logical, name: name(logical) })),
    keys: Object.entries(topology.keys).map(([logical, k]) => ({
      logical,
      aliasName: keyAliasName(name(logical)),
      description: k.description,
    })),
  };
}
