import { deadLetterQueueName, keyAliasName, physicalName, type Topology } from "@quire/topology";

/** Where an app deploys: SST's stage, and the account and region the AWS provider resolved. */
export interface DeploymentTarget {
  readonly stage: string;
  readonly accountId: string;
  readonly region: string;
}

/** The account and region of the AWS credentials the deploy runs with (inside an app's run()). */
export async function resolveDeploymentTarget(stage: string): Promise<DeploymentTarget> {
  const [identity, region] = await Promise.all([aws.getCallerIdentity({}), aws.getRegion({})]);
  return { stage, accountId: identity.accountId, region: region.region };
}

/**
 * Physical names of the shared resources, a pure function of (app, stage, account, region): the
 * shared infrastructure is named this way (as devcloud names it), and each service's functions
 * and grants name the resources by the same strings. The order in which they are created is not
 * left to the names: each service's component depends on the shared resources it uses.
 */
export function sharedNames(topology: Topology, target: DeploymentTarget) {
  const prefix = `${topology.app}-${target.stage}`.toLowerCase();
  const name = (logical: string) => physicalName(prefix, logical);
  const { region, accountId } = target;
  const dlq = (logical: string) => deadLetterQueueName(name(logical));
  // Bucket names are global across all of AWS: the account id keeps ours ours.
  const bucket = (logical: string) => `${name(logical)}-${accountId}`;
  const queueUrl = (queueName: string) => `https://sqs.${region}.amazonaws.com/${accountId}/${queueName}`;
  return {
    topic: name,
    queue: name,
    dlq,
    bus: name,
    /** EventBridge rules are named like devcloud names them, so a queue's policy can name its rules' ARNs. */
    rule: name,
    table: name,
    bucket,
    dashboard: () => `${prefix}-overview`,
    topicArn: (logical: string) => `arn:aws:sns:${region}:${accountId}:${name(logical)}`,
    queueUrl: (logical: string) => queueUrl(name(logical)),
    dlqUrl: (logical: string) => queueUrl(dlq(logical)),
    queueArn: (logical: string) => `arn:aws:sqs:${region}:${accountId}:${name(logical)}`,
    dlqArn: (logical: string) => `arn:aws:sqs:${region}:${accountId}:${dlq(logical)}`,
    tableArn: (logical: string) => `arn:aws:dynamodb:${region}:${accountId}:table/${name(logical)}`,
    /** The bucket's objects (what GetObject / PutObject are authorized on), not the bucket. */
    bucketObjectsArn: (logical: string) => `arn:aws:s3:::${bucket(logical)}/*`,
    /** A KMS key is found by its alias (its own id is random): `alias/quire-staging-secrets`. */
    keyAlias: (logical: string) => keyAliasName(name(logical)),
    busArn: (logical: string) => `arn:aws:events:${region}:${accountId}:event-bus/${name(logical)}`,
    /** A rule on a custom bus: `…:rule/<bus>/<rule>`. */
    ruleArn: (logical: string, bus: string) =>
      `arn:aws:events:${region}:${accountId}:rule/${name(bus)}/${name(logical)}`,
    modelArn: (modelId: string) => `arn:aws:bedrock:${region}::foundation-model/${modelId}`,
    /** The bucket itself (what ListBucket is authorized on). */
    bucketArn: (logical: string) => `arn:aws:s3:::${bucket(logical)}`,
    /** Batch inference jobs of this account and region (their ids are Bedrock's). */
    modelInvocationJobsArn: () => `arn:aws:bedrock:${region}:${accountId}:model-invocation-job/*`,
    /** The service role Bedrock assumes to read a batch's records and write its answers. */
    batchRole: () => `${prefix}-bedrock-batch`,
    batchRoleArn: () => `arn:aws:iam::${accountId}:role/${prefix}-bedrock-batch`,
  };
}
export type SharedNames = ReturnType<typeof sharedNames>;
