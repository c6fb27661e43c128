import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from "@aws-sdk/client-dynamodb";
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  ResourceAlreadyExistsException,
} from "@aws-sdk/client-eventbridge";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  KMSClient,
  paginateListAliases,
} from "@aws-sdk/client-kms";
import {
  CreateTopicCommand,
  ListSubscriptionsByTopicCommand,
  SNSClient,
  SetSubscriptionAttributesCommand,
  SubscribeCommand,
} from "@aws-sdk/client-sns";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { resourceEnvironmentKey, type AwsApiResources } from "@quire/topology";

export interface AwsClientSettings {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** Physical names and addresses of what was provisioned, keyed by logical name. */
export interface ProvisionedResources {
  topicArns: Record<string, string>;
  queueUrls: Record<string, string>;
  queueArns: Record<string, string>;
  deadLetterQueueUrls: Record<string, string>;
  busNames: Record<string, string>;
  ruleNames: Record<string, string>;
  tableNames: Record<string, string>;
  bucketNames: Record<string, string>;
  /** Each KMS key's alias name (`alias/quire-secrets`): what a service passes as KeyId. */
  keyIds: Record<string, string>;
  /** Each KMS key's ARN, behind its alias. */
  keyArns: Record<string, string>;
}

/**
 * Create the topology through the real AWS SDK clients, idempotently: run it again (a restart
 * on a persisted data dir, or a changed declaration) and it converges instead of duplicating.
 */
/** What a devcloud without a topology holds: nothing yet (each spec makes its own resources). */
export function noResources(): ProvisionedResources {
  return {
    topicArns: {},
    queueUrls: {},
    queueArns: {},
    deadLetterQueueUrls: {},
    busNames: {},
    ruleNames: {},
    tableNames: {},
    bucketNames: {},
    keyIds: {},
    keyArns: {},
  };
}

export async function provisionResources(
  settings: AwsClientSettings,
  resources: AwsApiResources,
): Promise<ProvisionedResources> {
  const clientConfig = { ...settings, maxAttempts: 3 };
  const sqs = new SQSClient(clientConfig);
  const sns = new SNSClient(clientConfig);
  const events = new EventBridgeClient(clientConfig);
  const dynamodb = new DynamoDBClient(clientConfig);
  const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
  const kms = new KMSClient(clientConfig);
  const provisioned = noResources();

  const ensureQueue = async (name: string, attributes: Record<string, string>) => {
    // Created bare, then configured: CreateQueue with changed attributes would fail with QueueNameExists.
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
    return { url: QueueUrl!, arn: Attributes!.QueueArn! };
  };

  try {
    for (const queue of resources.queues) {
      const dlq = await ensureQueue(queue.dlqName, queue.dlqAttributes);
      const work = await ensureQueue(queue.name, {
        ...queue.attributes,
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: queue.maxReceiveCount }),
      });
      provisioned.queueUrls[queue.logical] = work.url;
      provisioned.queueArns[queue.logical] = work.arn;
      provisioned.deadLetterQueueUrls[queue.logical] = dlq.url;
    }
    const queueArnByName = new Map(resources.queues.map((q) => [q.name, provisioned.queueArns[q.logical]!]));

    for (const topic of resources.topics) {
      const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: topic.name }));
      provisioned.topicArns[topic.logical] = TopicArn!;
    }
    const topicArnByName = new Map(resources.topics.map((t) => [t.name, provisioned.topicArns[t.logical]!]));

    for (const subscription of resources.subscriptions) {
      const TopicArn = topicArnByName.get(subscription.topicName)!;
      const Endpoint = queueArnByName.get(subscription.queueName)!;
      const { Subscriptions = [] } = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn }));
      const existing = Subscriptions.find((s) => s.Protocol === "sqs" && s.Endpoint === Endpoint);
      if (existing) {
        for (const [AttributeName, AttributeValue] of Object.entries(subscription.attributes)) {
          await sns.send(
            new SetSubscriptionAttributesCommand({
              SubscriptionArn: existing.SubscriptionArn,
              AttributeName,
              AttributeValue,
            }),
          );
        }
      } else {
        await sns.send(
          new SubscribeCommand({
            TopicArn,
            Protocol: "sqs",
            Endpoint,
            Attributes: subscription.attributes,
            ReturnSubscriptionArn: true,
          }),
        );
      }
    }

    for (const bus of resources.buses) {
      try {
        await events.send(new CreateEventBusCommand({ Name: bus.name }));
      } catch (error) {
        if (!(error instanceof ResourceAlreadyExistsException)) throw error;
      }
      provisioned.busNames[bus.logical] = bus.name;
    }
    for (const rule of resources.rules) {
      await events.send(
        new PutRuleCommand({
          Name: rule.name,
          EventBusName: rule.busName,
          EventPattern: rule.eventPattern,
          Description: rule.description,
          State: "ENABLED",
        }),
      );
      await events.send(
        new PutTargetsCommand({
          Rule: rule.name,
          EventBusName: rule.busName,
          Targets: [{ Id: rule.targetQueueName, Arn: queueArnByName.get(rule.targetQueueName)! }],
        }),
      );
      provisioned.ruleNames[rule.logical] = rule.name;
    }

    for (const table of resources.tables) {
      try {
        await dynamodb.send(
          new CreateTableCommand({
            TableName: table.name,
            BillingMode: "PAY_PER_REQUEST",
            KeySchema: table.keySchema,
            // DynamoDB accepts definitions only for attributes used in some key schema.
            AttributeDefinitions: table.attributeDefinitions.filter((d) =>
              [table.keySchema, ...table.globalSecondaryIndexes.map((i) => i.KeySchema)].some((keys) =>
                keys.some((k) => k.AttributeName === d.AttributeName),
              ),
            ),
            ...(table.globalSecondaryIndexes.length ? { GlobalSecondaryIndexes: table.globalSecondaryIndexes } : {}),
          }),
        );
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
      }
      provisioned.tableNames[table.logical] = table.name;
    }

    for (const bucket of resources.buckets) {
      try {
        await s3.send(new CreateBucketCommand({ Bucket: bucket.name }));
      } catch (error) {
        const name = (error as Error).name;
        if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw error;
      }
      provisioned.bucketNames[bucket.logical] = bucket.name;
    }

    // A key is found by its alias: one that exists (a persisted data dir) keeps its key, and with
    // it every ciphertext made under it; otherwise a new key, rotating yearly as the infra app's does.
    const aliases = new Set<string>();
    for await (const page of paginateListAliases({ client: kms }, {})) {
      for (const alias of page.Aliases ?? []) if (alias.TargetKeyId) aliases.add(alias.AliasName!);
    }
    for (const key of resources.keys) {
      if (!aliases.has(key.aliasName)) {
        const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: key.description }));
        await kms.send(new EnableKeyRotationCommand({ KeyId: KeyMetadata!.KeyId }));
        await kms.send(new CreateAliasCommand({ AliasName: key.aliasName, TargetKeyId: KeyMetadata!.KeyId }));
      }
      const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: key.aliasName }));
      provisioned.keyIds[key.logical] = key.aliasName;
      provisioned.keyArns[key.logical] = KeyMetadata!.Arn!;
    }
  } finally {
    for (const client of [sqs, sns, events, dynamodb, s3, kms]) client.destroy();
  }
  return provisioned;
}

/** The environment a service needs to find devcloud and the provisioned resources. */
export function resourceEnvironment(
  settings: AwsClientSettings,
  provisioned: ProvisionedResources,
): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: settings.endpoint,
    AWS_REGION: settings.region,
    AWS_ACCESS_KEY_ID: settings.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: settings.credentials.secretAccessKey,
    ...Object.fromEntries(
      Object.entries(provisioned.topicArns).map(([l, v]) => [resourceEnvironmentKey("TOPIC", l), v]),
    ),
    ...Object.fromEntries(
      Object.entries(provisioned.queueUrls).map(([l, v]) => [resourceEnvironmentKey("QUEUE", l), v]),
    ),
    ...Object.fromEntries(
      Object.entries(provisioned.deadLetterQueueUrls).map(([l, v]) => [resourceEnvironmentKey("DLQ", l), v]),
    ),
    ...Object.fromEntries(Object.entries(provisioned.busNames).map(([l, v]) => [resourceEnvironmentKey("BUS", l), v])),
    ...Object.fromEntries(
      Object.entries(provisioned.tableNames).map(([l, v]) => [resourceEnvironmentKey("TABLE", l), v]),
    ),
    ...Object.fromEntries(
      Object.entries(provisioned.bucketNames).map(([l, v]) => [resourceEnvironmentKey("BUCKET", l), v]),
    ),
    ...Object.fromEntries(Object.entries(provisioned.keyIds).map(([l, v]) => [resourceEnvironmentKey("KEY", l), v])),
    // The service role batch jobs name. devcloud has no IAM: it checks the ARN's form, as Bedrock does first.
    QUIRE_BATCH_ROLE_ARN: DEVCLOUD_BATCH_ROLE_ARN,
  };
}

/** The stand-in for the service role Bedrock assumes for batch inference (infra creates the real one). */
export const DEVCLOUD_BATCH_ROLE_ARN = "arn:aws:iam::000000000000:role/quire-bedrock-batch";
