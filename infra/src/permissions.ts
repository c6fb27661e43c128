import { eventCatalog } from "@quire/contracts";
import { resourceEnvironmentKey, type ConsumerDeclaration, type ResourceKind, type Topology } from "@quire/topology";
import type { DeploymentTarget, SharedNames } from "./names.ts";

/**
 * What each Lambda function may do in AWS: the IAM actions its code calls, on the resources it
 * calls them on, nothing more. No SST link grants (those are `sqs:*`, `dynamodb:*`, `s3:*`… on
 * every linked resource, shared by every function of a service); each function gets its own
 * statements instead, and the names of exactly those resources as the environment variables the
 * config loader reads (the same ones devcloud prints for a local process).
 *
 * The actions are declared per function in {@link FUNCTION_ACCESS}; everything else is derived:
 * resource ARNs from the stage's deterministic names, what every consumer needs from its queue,
 * the dead-letter redrive's grants, the events:source a service may put (the event catalogue),
 * the model, the mail identity. infra/test/wiring.test.ts reads the code each handler reaches and
 * fails on an action granted but never called, or called but not granted.
 */

export type TableAction =
  | "dynamodb:GetItem"
  | "dynamodb:PutItem"
  | "dynamodb:UpdateItem"
  | "dynamodb:DeleteItem"
  | "dynamodb:ConditionCheckItem"
  | "dynamodb:Query"
  | "dynamodb:Scan";

/** What one function does with the shared resources, by their logical names in the topology. */
export interface FunctionAccess {
  /** Item actions on each table (`dynamodb:Query` here: on the table's own key). */
  readonly tables?: Readonly<Record<string, readonly TableAction[]>>;
  /** Tables whose global secondary indexes it queries (`dynamodb:Query` on `table/…/index/*`). */
  readonly queriesIndexesOf?: readonly string[];
  /** Topics it publishes to (Publish and PublishBatch alike). */
  readonly publishesTo?: readonly string[];
  /** Object actions on each bucket (its objects, never the bucket itself). */
  readonly buckets?: Readonly<Record<string, readonly ("s3:GetObject" | "s3:PutObject" | "s3:AbortMultipartUpload")[]>>;
  /** Buses it puts events on: only with its service's own source (see {@link sourcesOf}). */
  readonly putsEventsOn?: readonly string[];
  /** Queues it sends to, besides its own DLQ. */
  readonly sendsTo?: readonly string[];
  /** KMS keys it uses, by the topology's name. */
  readonly keys?: Readonly<Record<string, readonly ("kms:Encrypt" | "kms:Decrypt")[]>>;
  /** Reads every queue's DLQ and redrives it into its work queue (the dead-letter API). */
  readonly redrivesDeadLetters?: boolean;
  /** SESv2 SendEmail from the app's sender. */
  readonly sendsEmail?: boolean;
  /** Converse on the configured model. */
  readonly invokesModel?: boolean;
  /** Buckets it lists (ListObjectsV2: `s3:ListBucket` on the bucket, under the prefix it names). */
  readonly listsBuckets?: Readonly<Record<string, string>>;
  /**
   * Batch inference on the configured model: Create, Get and Stop model invocation jobs, and
   * iam:PassRole on the batch service role (to Bedrock alone), which CreateModelInvocationJob needs.
   */
  readonly runsBatchInference?: boolean;
  /** Sends runs to batch inference (`run.batch`): told the batch role's ARN, which says batch is set up. No grant. */
  plansBatchInference?: boolean;
}

/** The prefix of the documents bucket that batch records and answers live under (the batcher's `batch/`). */
export const BATCH_PREFIX = "batch/";

/** Both stages do the same from both their queues: a document in, a result and events out. */
const STAGE: FunctionAccess = {
  // Job state, the result cache (Put, Delete of a released claim), announcements and runs; the
  // model quota's membership (a member's heartbeat Put, the members' Query, Delete on leaving).
  tables: {
    jobs: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"],
  },
  // The claim-check object, read.
  buckets: { documents: ["s3:GetObject"] },
  putsEventsOn: ["events"],
  invokesModel: true,
};

/**
 * Per service, its API's function and each consumer's (by the queue it consumes). What every
 * consumer does with its own queue and DLQ is not repeated here: see {@link consumerStatements}.
 */
export const FUNCTION_ACCESS: Readonly<
  Record<string, { readonly api?: FunctionAccess; readonly consumers: Readonly<Record<string, FunctionAccess>> }>
> = {
  ingestion: {
    // Submissions (jobs, runs, idempotency keys, claim checks, document.submitted), failing a job
    // it cannot publish, API keys (authentication and their management), listing runs and a run's
    // jobs (the byRun index), the stage processes' governor reports (one partition: Query), the
    // dead-letter API and the queues' depths (GetQueueAttributes on every queue and DLQ, which the
    // dead-letter grants already hold).
    api: {
      tables: {
        jobs: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"],
        apiKeys: [
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:UpdateItem",
          "dynamodb:DeleteItem",
          "dynamodb:Scan",
        ],
      },
      queriesIndexesOf: ["jobs"],
      publishesTo: ["documents"],
      // Claim checks and manifest upload URLs written; a manifest read (checked) and copied for its run.
      buckets: { documents: ["s3:GetObject", "s3:PutObject"] },
      // A manifest run's first chunk.
      sendsTo: ["runManifests"],
      putsEventsOn: ["events"],
      redrivesDeadLetters: true,
      plansBatchInference: true,
    },
    consumers: {
      // Document Submitted from the bus: a submission like the API's, one document at a time.
      ingestion: {
        tables: { jobs: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"] },
        publishesTo: ["documents"],
        buckets: { documents: ["s3:PutObject"] },
        putsEventsOn: ["events"],
      },
      // A manifest run's chunk: its lines read from the run's copy, their jobs and claim checks
      // written and published (or the run handed to the batcher), failing a job it cannot
      // publish, the next chunk queued.
      runManifests: {
        tables: { jobs: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"] },
        publishesTo: ["documents"],
        buckets: { documents: ["s3:GetObject", "s3:PutObject"] },
        sendsTo: ["runManifests"],
        putsEventsOn: ["events"],
      },
    },
  },
  summarizer: { consumers: { summarizer: STAGE, summarizerInteractive: STAGE } },
  classifier: { consumers: { classifier: STAGE, classifierInteractive: STAGE } },
  batcher: {
    consumers: {
      // A run's jobs (the byRun index) and their documents (claim checks) read; its records written
      // and its answers listed and read under batch/; answers into the result cache (PutItem); the
      // run's document.submitted published; its next check sent to its own queue.
      batcher: {
        tables: { jobs: ["dynamodb:PutItem"] },
        queriesIndexesOf: ["jobs"],
        buckets: { documents: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"] },
        listsBuckets: { documents: BATCH_PREFIX },
        publishesTo: ["documents"],
        sendsTo: ["batcher"],
        runsBatchInference: true,
      },
    },
  },
  notifier: {
    // Subscriptions and their deliveries (the log by subscription through its index), pings and
    // confirmation emails, replays queued as attempts, webhook secrets encrypted as they are made;
    // API keys are only checked (and touched).
    api: {
      tables: {
        notifications: [
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:UpdateItem",
          "dynamodb:DeleteItem",
          "dynamodb:Query",
        ],
        apiKeys: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
      },
      queriesIndexesOf: ["notifications"],
      sendsTo: ["notifierDeliveries"],
      keys: { secrets: ["kms:Encrypt"] },
      sendsEmail: true,
    },
    consumers: {
      // Fan-out: the event checked against its job or run (read only), one delivery per
      // subscription that wants it, each queued as its first attempt.
      notifier: {
        tables: {
          notifications: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
          jobs: ["dynamodb:GetItem"],
        },
        sendsTo: ["notifierDeliveries"],
      },
      // One attempt: a webhook signed with its decrypted secret, or an email; its log; the next
      // attempt queued.
      notifierDeliveries: {
        tables: { notifications: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"] },
        sendsTo: ["notifierDeliveries"],
        keys: { secrets: ["kms:Decrypt"] },
        sendsEmail: true,
      },
    },
  },
};

/** A statement in the shape `sst.aws.FunctionArgs.permissions` takes. */
export interface PermissionStatement {
  readonly actions: string[];
  readonly resources: string[];
  readonly conditions?: { readonly test: string; readonly variable: string; readonly values: string[] }[];
}

/**
 * Not the code's calls but the platform's: with active tracing Lambda sends the invocation's
 * segments with the function's role (and refuses a function whose role cannot). X-Ray has no
 * resource-level permissions, hence `*`.
 */
export const TRACING_STATEMENT: PermissionStatement = {
  actions: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
  resources: ["*"],
};

/**
 * Reading a DLQ (each message received with a short hold, given back, deleted once redriven one by
 * one) and redriving all of it with SQS's message move task, which needs ReceiveMessage,
 * DeleteMessage and GetQueueAttributes on its source too.
 */
export const DEAD_LETTER_QUEUE_ACTIONS = [
  "sqs:ChangeMessageVisibility",
  "sqs:DeleteMessage",
  "sqs:GetQueueAttributes",
  "sqs:ListMessageMoveTasks",
  "sqs:ReceiveMessage",
  "sqs:StartMessageMoveTask",
];
/** A redrive's destination, the work queue: its ARN for the move task, SendMessage for a selection. */
export const REDRIVE_DESTINATION_ACTIONS = ["sqs:GetQueueAttributes", "sqs:SendMessage"];

/**
 * The EventBridge sources a service may put: `quire.<service>` where the event catalogue names it
 * as a source of some event. Its functions' PutEvents is conditioned on exactly these, and the
 * bus's policy lets no other principal put them (see {@link busPolicy}).
 */
export function sourcesOf(service: string): string[] {
  const source = `quire.${service}`;
  return Object.values(eventCatalog).some((entry) => (entry.sources as readonly string[]).includes(source))
    ? [source]
    : [];
}

/**
 * Where a service's function roles live: `/quire/<stage>/<service>/`. The path is what the bus
 * policy names a service's roles by (SST gives the roles themselves random suffixes), and it
 * holds in every app of the stage, deployed in any order.
 */
export const rolePath = (topology: Topology, stage: string, service: string) =>
  `/${topology.app}/${stage}/${service}/`.toLowerCase();

/** The From address the notifier sends as: the sender itself, or notifications@ the sender domain. */
export const emailFromAddress = (sender: string) => (sender.includes("@") ? sender : `notifications@${sender}`);
/** QUIRE_EMAIL_FROM, as @quire/config derives it from an SST Email link (a spec keeps the two in step). */
export const emailFrom = (sender: string) => (sender.includes("@") ? sender : `Quire <${emailFromAddress(sender)}>`);

export interface FunctionGrants {
  readonly permissions: PermissionStatement[];
  /** The variables naming exactly the resources it is granted: what the config loader reads. */
  readonly environment: Record<string, string>;
}

/** The function that serves a service's API, or the one consuming `consumer.queue`. */
export type FunctionRole =
  | { readonly kind: "api" }
  | { readonly kind: "consumer"; readonly consumer: ConsumerDeclaration };

export const functionLabel = (service: string, role: FunctionRole) =>
  role.kind === "api" ? `${service} API` : `${service} consumer of ${role.consumer.queue}`;

/** What `role` of `service` is granted, and the resource variables it gets. */
export function functionGrants(
  topology: Topology,
  service: string,
  role: FunctionRole,
  context: { names: SharedNames; target: DeploymentTarget; modelId: string; emailSender?: string | undefined },
): FunctionGrants {
  const { names, target } = context;
  const deployment = topology.services[service];
  if (!deployment) throw new Error(`topology declares no service ${service}`);
  const declared = FUNCTION_ACCESS[service];
  const access = role.kind === "api" ? declared?.api : declared?.consumers[role.consumer.queue];
  const label = functionLabel(service, role);
  if (!access)
    throw new Error(`infra/src/permissions.ts declares nothing for the ${label}: say what it calls in FUNCTION_ACCESS`);

  // A function may touch only what its service's deployment declares (topology `uses`).
  const { uses } = deployment;
  const allowed = (what: string, names: readonly string[] | undefined, declaredNames: readonly string[] = []) => {
    for (const name of names ?? [])
      if (!declaredNames.includes(name))
        throw new Error(`the ${label} uses ${what} ${name}, which topology.services.${service}.uses does not declare`);
  };
  allowed("table", Object.keys(access.tables ?? {}), uses.tables);
  allowed("table", access.queriesIndexesOf, uses.tables);
  allowed("topic", access.publishesTo, uses.topics);
  allowed("bucket", Object.keys(access.buckets ?? {}), uses.buckets);
  allowed("bucket", Object.keys(access.listsBuckets ?? {}), uses.buckets);
  allowed("bus", access.putsEventsOn, uses.buses);
  allowed("queue", access.sendsTo, uses.queues);
  allowed("key", Object.keys(access.keys ?? {}), uses.keys);
  const flags = [
    ["redrivesDeadLetters", "deadLetters"],
    ["sendsEmail", "email"],
    ["invokesModel", "bedrock"],
    ["runsBatchInference", "bedrockBatch"],
  ] as const;
  for (const [flag, use] of flags)
    if (access[flag] && !uses[use])
      throw new Error(`the ${label} has ${flag}, which topology.services.${service}.uses.${use} does not declare`);

  const statements: PermissionStatement[] = [];
  const bound: [ResourceKind, string][] = [];
  const grant = (actions: readonly string[], resources: string[], conditions?: PermissionStatement["conditions"]) =>
    statements.push({ actions: [...actions].sort(), resources, ...(conditions ? { conditions } : {}) });

  for (const [table, actions] of Object.entries(access.tables ?? {})) {
    grant(actions, [names.tableArn(table)]);
    bound.push(["TABLE", table]);
  }
  for (const table of access.queriesIndexesOf ?? []) {
    grant(["dynamodb:Query"], [`${names.tableArn(table)}/index/*`]);
    bound.push(["TABLE", table]);
  }
  for (const topic of access.publishesTo ?? []) {
    grant(["sns:Publish"], [names.topicArn(topic)]);
    bound.push(["TOPIC", topic]);
  }
  for (const [bucket, actions] of Object.entries(access.buckets ?? {})) {
    grant(actions, [names.bucketObjectsArn(bucket)]);
    bound.push(["BUCKET", bucket]);
  }
  for (const [bucket, prefix] of Object.entries(access.listsBuckets ?? {})) {
    grant(
      ["s3:ListBucket"],
      [names.bucketArn(bucket)],
      [{ test: "StringLike", variable: "s3:prefix", values: [`${prefix}*`] }],
    );
    bound.push(["BUCKET", bucket]);
  }
  for (const bus of access.putsEventsOn ?? []) {
    const sources = sourcesOf(service);
    if (!sources.length)
      throw new Error(`the event catalogue names no quire.${service} source: the ${label} may put none`);
    grant(
      ["events:PutEvents"],
      [names.busArn(bus)],
      [{ test: "StringEquals", variable: "events:source", values: sources }],
    );
    bound.push(["BUS", bus]);
  }
  for (const queue of access.sendsTo ?? []) {
    grant(["sqs:SendMessage"], [names.queueArn(queue)]);
    bound.push(["QUEUE", queue]);
  }
  for (const [key, actions] of Object.entries(access.keys ?? {})) {
    // A key's id is random; its alias is not. Decrypt names no key (the ciphertext does), so the
    // grant is on the keys that carry this alias, whichever way they are called.
    grant(
      actions,
      [`arn:aws:kms:${target.region}:${target.accountId}:key/*`],
      [{ test: "ForAnyValue:StringEquals", variable: "kms:ResourceAliases", values: [names.keyAlias(key)] }],
    );
    bound.push(["KEY", key]);
  }
  if (role.kind === "consumer") {
    for (const statement of consumerStatements(names, role.consumer.queue)) statements.push(statement);
    bound.push(["QUEUE", role.consumer.queue], ["DLQ", role.consumer.queue]);
  }
  if (access.redrivesDeadLetters) {
    const queues = Object.keys(topology.queues);
    grant(DEAD_LETTER_QUEUE_ACTIONS, queues.map(names.dlqArn));
    grant(REDRIVE_DESTINATION_ACTIONS, queues.map(names.queueArn));
    for (const queue of queues) bound.push(["QUEUE", queue], ["DLQ", queue]);
  }
  const environment: Record<string, string> = {};
  if (access.sendsEmail) {
    if (!context.emailSender) throw new Error(`the ${label} sends email: QUIRE_EMAIL_SENDER is required`);
    const from = emailFromAddress(context.emailSender);
    // In the SES sandbox, SendEmail is also authorized against each recipient's identity, and
    // SST's identity carries a configuration set whose generated name no other app knows: any
    // identity and configuration set of this account and region, but only from our address.
    grant(
      ["ses:SendEmail"],
      [
        `arn:aws:ses:${target.region}:${target.accountId}:identity/*`,
        `arn:aws:ses:${target.region}:${target.accountId}:configuration-set/*`,
      ],
      [{ test: "StringEquals", variable: "ses:FromAddress", values: [from] }],
    );
    environment.QUIRE_EMAIL_FROM = emailFrom(context.emailSender);
  }
  // Converse is authorized as bedrock:InvokeModel, on the configured model only.
  if (access.invokesModel) grant(["bedrock:InvokeModel"], [names.modelArn(context.modelId)]);
  // A batch job is created on the model and the job; read and stopped as a job. Creating one
  // passes Bedrock the batch service role, which only Bedrock may be given.
  if (access.runsBatchInference) {
    grant(["bedrock:CreateModelInvocationJob"], [names.modelArn(context.modelId), names.modelInvocationJobsArn()]);
    grant(["bedrock:GetModelInvocationJob", "bedrock:StopModelInvocationJob"], [names.modelInvocationJobsArn()]);
    grant(
      ["iam:PassRole"],
      [names.batchRoleArn()],
      [{ test: "StringEquals", variable: "iam:PassedToService", values: ["bedrock.amazonaws.com"] }],
    );
    environment.QUIRE_BATCH_ROLE_ARN = names.batchRoleArn();
  }
  if (access.plansBatchInference) environment.QUIRE_BATCH_ROLE_ARN = names.batchRoleArn();
  statements.push(TRACING_STATEMENT);
  // One statement per set of actions (and conditions), over all the resources it applies to.
  const merged = new Map<string, PermissionStatement>();
  for (const statement of statements) {
    const key = JSON.stringify([statement.actions, statement.conditions ?? null]);
    const previous = merged.get(key);
    merged.set(
      key,
      previous ? { ...previous, resources: [...new Set([...previous.resources, ...statement.resources])] } : statement,
    );
  }

  const value: Record<ResourceKind, (logical: string) => string> = {
    TOPIC: names.topicArn,
    QUEUE: names.queueUrl,
    DLQ: names.dlqUrl,
    BUS: names.bus,
    TABLE: names.table,
    BUCKET: names.bucket,
    KEY: names.keyAlias,
  };
  for (const [kind, logical] of bound) environment[resourceEnvironmentKey(kind, logical)] = value[kind](logical);
  return { permissions: [...merged.values()], environment };
}

/**
 * Every consumer's own queue and DLQ: the Lambda host sets a failed record's retry delay
 * (ChangeMessageVisibility) and dead-letters a permanent failure itself, with its reason. The
 * event source mapping's own grants (ReceiveMessage, DeleteMessage, GetQueueAttributes… on the
 * queue, for Lambda's poller) are added by `sst.aws.Queue.subscribe`.
 */
export function consumerStatements(names: SharedNames, queue: string): PermissionStatement[] {
  return [
    { actions: ["sqs:ChangeMessageVisibility"], resources: [names.queueArn(queue)] },
    { actions: ["sqs:SendMessage"], resources: [names.dlqArn(queue)] },
  ];
}

/**
 * The bus's resource policy: a source `quire.<service>` may be put by that service's roles alone
 * (their path, {@link rolePath}), whoever else in or outside the account holds events:PutEvents —
 * an explicit deny wins over any allow. Each function's own grant allows only its service's
 * source (the events:source condition), so the two together give "only S puts quire.S".
 * Upstream systems putting Document Submitted with their own sources are left alone; a
 * `quire.*` source no service owns is refused to everyone.
 */
export function busPolicy(topology: Topology, names: SharedNames, target: DeploymentTarget, bus: string) {
  const owned = Object.keys(topology.services)
    .map((service) => ({ service, sources: sourcesOf(service) }))
    .filter(({ sources }) => sources.length);
  const roles = (service: string) =>
    `arn:aws:iam::${target.accountId}:role${rolePath(topology, target.stage, service)}*`;
  return {
    Version: "2012-10-17",
    Statement: [
      ...owned.map(({ service, sources }) => ({
        Sid: `OnlyThe${service[0]!.toUpperCase()}${service.slice(1)}PutsItsSource`,
        Effect: "Deny",
        Principal: "*",
        Action: "events:PutEvents",
        Resource: names.busArn(bus),
        Condition: {
          StringEquals: { "events:source": sources },
          ArnNotLike: { "aws:PrincipalArn": roles(service) },
        },
      })),
      {
        Sid: "NoUnownedQuireSources",
        Effect: "Deny",
        Principal: "*",
        Action: "events:PutEvents",
        Resource: names.busArn(bus),
        Condition: {
          StringLike: { "events:source": `${topology.app}.*` },
          StringNotEquals: { "events:source": owned.flatMap(({ sources }) => sources) },
        },
      },
    ],
  };
}

/**
 * The resource policy of a queue that SNS subscriptions or EventBridge rules fill: SNS may send
 * to it from the topics subscribing it, EventBridge from the rules targeting it (aws:SourceArn),
 * and no other service principal. (SST's `subscribeQueue` would let any topic, bucket or rule,
 * in any account, send to it.) Undefined for a queue nothing outside the account's roles fills.
 */
export function queuePolicy(topology: Topology, names: SharedNames, queue: string) {
  const topics = [
    ...new Set(
      Object.values(topology.subscriptions)
        .filter((subscription) => subscription.queue === queue)
        .map((subscription) => names.topicArn(subscription.topic)),
    ),
  ];
  const rules = Object.entries(topology.rules)
    .filter(([, rule]) => rule.targetQueue === queue)
    .map(([logical, rule]) => names.ruleArn(logical, rule.bus));
  const from = (sid: string, service: string, sources: string[]) => ({
    Sid: sid,
    Effect: "Allow",
    Principal: { Service: service },
    Action: "sqs:SendMessage",
    Resource: names.queueArn(queue),
    Condition: { ArnEquals: { "aws:SourceArn": sources } },
  });
  const statements = [
    ...(topics.length ? [from("FromItsTopics", "sns.amazonaws.com", topics)] : []),
    ...(rules.length ? [from("FromItsRules", "events.amazonaws.com", rules)] : []),
  ];
  return statements.length ? { Version: "2012-10-17", Statement: statements } : undefined;
}
