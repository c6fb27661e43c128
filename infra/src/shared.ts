import { componentName, type Topology } from "@quire/topology";
import type { DeploymentTarget } from "./names.ts";
import { sharedNames } from "./names.ts";
import { BATCH_PREFIX, busPolicy } from "./permissions.ts";

/**
 * The shared infrastructure: every resource of the topology declaration, outside every service's
 * component, so `sst deploy --target <Service>Service` never touches it. Queues live here, not
 * with their consumers, so a service can be redeployed while messages wait for it.
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
  // Each bus's policy: a `quire.<service>` source may be put by that service's roles alone (see
  // permissions.ts busPolicy); every function's own PutEvents is conditioned on its service's source.
  const busPolicies = Object.fromEntries(
    Object.entries(buses).map(([logical, bus]) => [
      logical,
      new aws.cloudwatch.EventBusPolicy(componentName(logical, "BusPolicy"), {
        eventBusName: bus.name,
        policy: JSON.stringify(busPolicy(topology, names, target, logical)),
      }),
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
        // Only our functions read and write it, with their roles; no browser ever does. SST's
        // default CORS would allow every origin, header and method.
        cors: false,
        transform: { bucket: { bucket: names.bucket(logical) } },
      }),
    ]),
  );

  // What lives in the documents bucket for a while only: manifest uploads (past their upload URL's
  // hour, a day), a run's manifest copy and its batch records and answers (a week: past the longest
  // a run's expansion or batch job takes, AWS's 7-day job timeout). Claim checks are kept.
  const transientObjects = buckets.documents
    ? new aws.s3.BucketLifecycleConfiguration("DocumentsLifecycle", {
        bucket: buckets.documents.name,
        rules: [
          {
            id: "manifest-uploads",
            status: "Enabled",
            filter: { prefix: "manifests/uploads/" },
            expiration: { days: 1 },
          },
          { id: "run-manifests", status: "Enabled", filter: { prefix: "manifests/runs/" }, expiration: { days: 8 } },
          { id: "batch", status: "Enabled", filter: { prefix: BATCH_PREFIX }, expiration: { days: 8 } },
        ],
      })
    : undefined;

  // The deployment's own KMS keys (webhook signing secrets are stored encrypted under `secrets`).
  // Services name a key by its alias, as devcloud's do: the key's own id is random. AWS rotates
  // the material yearly and keeps every older version, so old ciphertexts keep decrypting.
  // Deleting one destroys what it encrypted: a production stage waits KMS's longest window.
  const keyAliases: Record<string, aws.kms.Alias> = {};
  const keys = Object.fromEntries(
    Object.entries(topology.keys).map(([logical, k]) => {
      const key = new aws.kms.Key(componentName(logical, "Key"), {
        description: k.description,
        keyUsage: "ENCRYPT_DECRYPT",
        customerMasterKeySpec: "SYMMETRIC_DEFAULT",
        enableKeyRotation: true,
        rotationPeriodInDays: 365,
        deletionWindowInDays: options.production ? 30 : 7,
      });
      keyAliases[logical] = new aws.kms.Alias(componentName(logical, "KeyAlias"), {
        name: names.keyAlias(logical),
        targetKeyId: key.keyId,
      });
      return [logical, key];
    }),
  );

  // The service role Bedrock assumes for batch inference (the batcher passes it with each job):
  // Bedrock of this account alone may assume it, and it reads the records and writes the answers
  // under the documents bucket's batch/ prefix, nothing else.
  const batchRole = Object.values(topology.services).some((service) => service.uses.bedrockBatch)
    ? renderBatchRole(names, target)
    : undefined;

  // The notifier sends from this identity (domain or address; SES verifies it, sandbox rules apply).
  const email = new sst.aws.Email("Email", { sender: options.emailSender });

  return {
    topics,
    queues,
    deadLetterQueues,
    buses,
    busPolicies,
    tables,
    buckets,
    transientObjects,
    keys,
    keyAliases,
    email,
    batchRole,
  };
}

/** The batch service role and its one policy (see above). */
function renderBatchRole(names: ReturnType<typeof sharedNames>, target: DeploymentTarget) {
  const role = new aws.iam.Role("BedrockBatchRole", {
    name: names.batchRole(),
    assumeRolePolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "bedrock.amazonaws.com" },
          Action: "sts:AssumeRole",
          Condition: {
            StringEquals: { "aws:SourceAccount": target.accountId },
            ArnEquals: { "aws:SourceArn": names.modelInvocationJobsArn() },
          },
        },
      ],
    }),
  });
  new aws.iam.RolePolicy("BedrockBatchRolePolicy", {
    role: role.name,
    policy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: ["s3:GetObject", "s3:PutObject"],
          Resource: [`${names.bucketArn("documents")}/${BATCH_PREFIX}*`],
        },
        {
          Effect: "Allow",
          Action: ["s3:ListBucket"],
          Resource: [names.bucketArn("documents")],
          Condition: { StringLike: { "s3:prefix": [`${BATCH_PREFIX}*`] } },
        },
      ],
    }),
  });
  return role;
}
