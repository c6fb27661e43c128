/**
 * The shape of Quire's topology declaration. Logical names only: each renderer (devcloud's
 * provisioner, sst.config.ts) turns a logical name into a physical one its own way.
 */

export interface QueueDeclaration {
  /**
   * Who consumes it. Each service has one work queue fed by SNS/EventBridge; a service may own more (the notifier's
   * delivery retries).
   */
  readonly consumer: string;
  readonly visibilityTimeoutSeconds: number;
  readonly messageRetentionSeconds: number;
  /** Long-poll wait the consumers use, also set as the queue default. */
  readonly receiveWaitTimeSeconds: number;
  /** Deliveries before SQS moves a message to the DLQ. */
  readonly maxReceiveCount: number;
  readonly dlq: { readonly messageRetentionSeconds: number };
}

/**
 * An SNS → SQS subscription. Raw delivery means the SQS body is the published message itself;
 * the filter policy is SNS's own JSON (https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-
 * policies.html).
 */
export interface SubscriptionDeclaration {
  readonly topic: string;
  readonly queue: string;
  readonly rawMessageDelivery: boolean;
  readonly filterPolicy: Readonly<Record<string, unknown>>;
  readonly filterPolicyScope: "MessageAttributes" | "MessageBody";
}

/**
 * An EventBridge rule in the shape `sst.aws.Bus#subscribeQueue` takes (source / detailType /
 * detail), which maps 1:1 onto an event pattern's `source` / `detail-type` / `detail`.
 */
export interface RuleDeclaration {
  readonly bus: string;
  readonly description: string;
  readonly pattern: {
    readonly source?: readonly unknown[];
    readonly detailType?: readonly unknown[];
    readonly detail?: Readonly<Record<string, unknown>>;
  };
  readonly targetQueue: string;
}

export interface TableDeclaration {
  readonly description: string;
  readonly fields: Readonly<Record<string, "string" | "number" | "binary">>;
  readonly primaryIndex: { readonly hashKey: string; readonly rangeKey?: string };
  readonly globalIndexes?: Readonly<Record<string, { readonly hashKey: string; readonly rangeKey?: string }>>;
  /** Attribute holding an epoch-seconds expiry (DynamoDB TTL). */
  readonly ttl?: string;
}

/**
 * A KMS key the deployment owns (symmetric, SYMMETRIC_DEFAULT), for data a service encrypts
 * before storing it. Rendered as a key plus an alias named like every other physical name
 * (`alias/<prefix>-<logical>`); services find it by that alias, never by its random key id.
 */
export interface KeyDeclaration {
  readonly description: string;
}

/** A Lambda function of a service: its handler export, relative to the service's folder. */
export interface FunctionDeclaration {
  /** `src/lambda.handler`: module path without extension, then the export. */
  readonly handler: string;
  /** Must stay below the visibility timeout of the queue it consumes (AWS refuses the mapping otherwise). */
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

/** An HTTP API's function (API Gateway HTTP API, every route to it). */
export interface ApiDeclaration extends FunctionDeclaration {
  /** The variable that carries the API's deployed URL to the service's functions (for links it sends). */
  readonly publicUrlVariable: string;
}

/** What `sst dev` adds for a service: a command run beside its live functions on the laptop. */
export interface DevDeclaration {
  readonly command: string;
  readonly title: string;
  /** The variable that gives the command this service's API URL. */
  readonly apiUrlVariable: string;
  /** Under `sst dev` the functions run on the laptop: webhooks may reach it (QUIRE_WEBHOOK_ALLOWLIST). */
  readonly webhookAllowlist?: string;
}

/** A function that consumes one of the topology's queues through an SQS event source mapping. */
export interface ConsumerDeclaration extends FunctionDeclaration {
  readonly queue: string;
  /** Messages per invocation; partial batch responses are always on. */
  readonly batchSize: number;
  readonly batchWindowSeconds?: number;
  /**
   * The event source's maximum concurrency: a number, or `bedrock-quota` to derive it from the
   * model's quota and latency (Little's law; see @quire/bedrock eventSourceMaximumConcurrency).
   */
  readonly maximumConcurrency: number | "bedrock-quota";
  /** `interactive`: sync-mode requests, served before bulk by the Bedrock governor (default `bulk`). */
  readonly lane?: "bulk" | "interactive";
}

/**
 * How a service deploys: its functions, and what it may touch: a service's functions are granted
 * actions on these resources only (and on the DLQs of the queues they consume, where the host
 * dead-letters permanent failures); which actions each function gets is infra's
 * FUNCTION_ACCESS (infra/src/permissions.ts), checked against the code its handler reaches.
 */
export interface ServiceDeployment {
  readonly consumers: readonly ConsumerDeclaration[];
  /** An HTTP API (API Gateway HTTP API, every route to one function). */
  readonly api?: ApiDeclaration;
  readonly dev?: DevDeclaration;
  readonly uses: {
    readonly topics?: readonly string[];
    /** Queues it sends to (besides consuming). */
    readonly queues?: readonly string[];
    readonly buses?: readonly string[];
    readonly tables?: readonly string[];
    readonly buckets?: readonly string[];
    /** KMS keys it encrypts and decrypts with (kms:Encrypt, kms:Decrypt on that key alone). */
    readonly keys?: readonly string[];
    /** SESv2 SendEmail from the app's email identity. */
    readonly email?: boolean;
    /** bedrock:InvokeModel on the configured model. */
    readonly bedrock?: boolean;
    /**
     * Bedrock batch inference: model invocation jobs on the configured model, and iam:PassRole on
     * the service role Bedrock assumes to read the records and write the answers (the documents bucket).
     */
    readonly bedrockBatch?: boolean;
    /** The shared API key (`x-api-key`) its HTTP API checks. */
    readonly apiKey?: boolean;
    /** Reads and redrives every queue's dead letters (the DLQs and their work queues). */
    readonly deadLetters?: boolean;
  };
}

export interface Topology {
  readonly app: string;
  readonly topics: Readonly<Record<string, { readonly description: string }>>;
  readonly queues: Readonly<Record<string, QueueDeclaration>>;
  readonly subscriptions: Readonly<Record<string, SubscriptionDeclaration>>;
  readonly buses: Readonly<Record<string, { readonly description: string }>>;
  readonly rules: Readonly<Record<string, RuleDeclaration>>;
  readonly tables: Readonly<Record<string, TableDeclaration>>;
  readonly buckets: Readonly<Record<string, { readonly description: string }>>;
  readonly keys: Readonly<Record<string, KeyDeclaration>>;
  /**
   * Each service's deployment unit: one component of the app (`<Service>Service`), deployable alone with `sst deploy
   * --target`.
   */
  readonly services: Readonly<Record<string, ServiceDeployment>>;
}
