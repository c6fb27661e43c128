/**
 * The wiring of Quire on AWS, read back from the app's real sst.config.ts (the repository root's)
 * run against recording stand-ins of SST's components: the shared infrastructure is exactly what
 * the topology declares (and devcloud provisions), each service's component holds exactly its
 * share of the wiring, and the dependencies that order one `sst deploy` and bound one
 * `sst deploy --target <Service>Service` are the ones the README promises.
 */
import { readFileSync } from "node:fs";
import { environmentFromLinks, loadConfig, unlinked } from "@quire/config";
import { eventCatalog } from "@quire/contracts";
import {
  renderAwsApiResources,
  resourceBindings,
  topology,
  type ResourceKind,
  type ServiceDeployment,
} from "@quire/topology";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DeploySettingsError,
  SERVICE_COMPONENT_TYPE,
  serviceComponentName,
  serviceDirectory,
  serviceTargets,
  sharedNames,
} from "../src/index.ts";
import { createAwsCallScanner } from "./aws-calls.ts";
import { RECORDED_ACCOUNT, RECORDED_REGION, runSstConfig, type Recorded, type SstConfig } from "./recording-sst.ts";

/** The app: the repository root's sst.config.ts. */
const APP_CONFIG = "../../sst.config.ts";
const STAGE = "staging";
const DEPLOY_ENV = {
  QUIRE_EMAIL_SENDER: "notifications@example.com",
  QUIRE_BEDROCK_RPM: "400",
  QUIRE_BEDROCK_LATENCY_MS: "8000",
};
type Service = keyof typeof topology.services;
const SERVICES = Object.keys(topology.services) as Service[];
const names = sharedNames(topology, { stage: STAGE, accountId: RECORDED_ACCOUNT, region: RECORDED_REGION });
const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const SES = `arn:aws:ses:${RECORDED_REGION}:${RECORDED_ACCOUNT}`;

/** An IAM statement as a function's `permissions` carry it (SST's FunctionPermissionArgs). */
interface Statement {
  actions: string[];
  resources: string[];
  conditions?: { test: string; variable: string; values: string[] }[];
}
/** What a function was given, as recorded. */
interface DeployedFunction {
  handler: string;
  link: { componentName: string }[];
  permissions: Statement[];
  environment: Record<string, string>;
  transform: { role?: unknown };
}
/** `…:table/quire-staging-jobs` → `jobs`, `…/index/*` → `jobs/index`. */
const tableOf = (arn: string) => {
  for (const table of Object.keys(topology.tables)) {
    if (arn === names.tableArn(table)) return table;
    if (arn === `${names.tableArn(table)}/index/*`) return `${table}/index`;
  }
  return arn;
};
/** The ARNs (or alias) a grant on a resource names. */
const arnsOf = (kind: ResourceKind, logical: string): string[] =>
  ({
    TOPIC: [names.topicArn(logical)],
    QUEUE: [names.queueArn(logical)],
    DLQ: [names.dlqArn(logical)],
    BUS: [names.busArn(logical)],
    TABLE: [names.tableArn(logical), `${names.tableArn(logical)}/index/*`],
    BUCKET: [names.bucketObjectsArn(logical)],
    KEY: [names.keyAlias(logical)],
  })[kind];
/** Which package holds each table's store: DynamoDB calls reached through it are that table's. */
const TABLE_OWNERS = { jobs: "packages/jobs", notifications: "packages/notifications", apiKeys: "packages/api-keys" };
/** devcloud's rendering of the same declaration, with the stage's prefix: what both must agree with. */
const api = renderAwsApiResources(topology, `quire-${STAGE}`);

const of = (recorded: Recorded[], kind: string) => recorded.filter((r) => r.kind === kind);
/**
 * The console's routes to one service's API (infra/src/console.ts): the one thing outside the
 * services that takes a service's output, deployed with that service (its API's URL changes with it).
 */
const consoleRoutesTo = (recorded: Recorded[], service: string) =>
  of(recorded, "Router.route").filter((r) => r.args[1] === `recorded:ApiGatewayV2:${cap(service)}Api:url`);
const argsOf = (r: Recorded) => r.args[0] as Record<string, any>;
/**
 * What the app creates outside every service's component: the shared infrastructure, its dashboard and alarms, the
 * app's secret.
 */
const outsideServices = (recorded: Recorded[]) =>
  recorded.filter((r) => r.parent === undefined && r.kind !== "ComponentResource");
/** A resource (whose name others' options and inputs name), not a call recorded under its first argument. */
const isResource = (r: Recorded) => !/\.(get|subscribe|subscribeQueue|route)$/.test(r.kind);
/** Everything created under a component (its children, theirs…). */
const under = (recorded: Recorded[], component: string): Recorded[] => {
  const children = recorded.filter((r) => r.parent === component);
  return [...children, ...children.filter(isResource).flatMap((child) => under(recorded, child.name))];
};
/** What one service's component holds: its share of the app. */
const shareOf = (recorded: Recorded[], service: string) => under(recorded, serviceComponentName(service));
/** Every string an entry's inputs hold, JSON documents (policies, patterns) opened up. */
const stringsIn = (value: unknown): string[] => {
  if (typeof value === "string") {
    if (value.startsWith("{")) {
      try {
        return [value, ...stringsIn(JSON.parse(value))];
      } catch {
        return [value];
      }
    }
    return [value];
  }
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === "object") return Object.values(value).flatMap(stringsIn);
  return [];
};
/** The recorded components whose outputs (`recorded:<kind>:<name>:<output>`) an entry's inputs take. */
const outputsTakenBy = (r: Recorded) =>
  new Set(
    stringsIn(r.args).flatMap((value) => {
      const match = /^recorded:[^:]+:([^:]+):[a-zA-Z]+$/.exec(value);
      return match ? [match[1]!] : [];
    }),
  );

describe("the app's shared infrastructure: the topology's shared resources, named as devcloud names them, outside every service", () => {
  let recorded: Recorded[];
  let config: SstConfig;
  beforeAll(async () => {
    let all: Recorded[];
    ({ recorded: all, config } = await runSstConfig(APP_CONFIG, STAGE, DEPLOY_ENV));
    recorded = outsideServices(all);
  });

  it("a queue and its own DLQ per declared queue, with visibility timeout, retention, long polling and redrive", () => {
    const queues = of(recorded, "Queue");
    expect(queues.map((q) => q.name).sort()).toEqual(
      Object.keys(topology.queues)
        .flatMap((l) => [`${cap(l)}Queue`, `${cap(l)}Dlq`])
        .sort(),
    );
    for (const q of api.queues) {
      const work = argsOf(queues.find((c) => c.name === `${cap(q.logical)}Queue`)!);
      const dlq = argsOf(queues.find((c) => c.name === `${cap(q.logical)}Dlq`)!);
      expect(work.transform.queue.name).toBe(q.name);
      expect(dlq.transform.queue.name).toBe(q.dlqName);
      expect(work.visibilityTimeout).toBe(`${q.attributes.VisibilityTimeout} seconds`);
      expect(String(work.transform.queue.receiveWaitTimeSeconds)).toBe(q.attributes.ReceiveMessageWaitTimeSeconds);
      expect(String(work.transform.queue.messageRetentionSeconds)).toBe(q.attributes.MessageRetentionPeriod);
      expect(String(dlq.transform.queue.messageRetentionSeconds)).toBe(q.dlqAttributes.MessageRetentionPeriod);
      expect(work.dlq).toEqual({ queue: `recorded:Queue:${cap(q.logical)}Dlq:arn`, retry: q.maxReceiveCount });
    }
  });

  it("the topic, bus, tables and bucket, with the declared keys, indexes and TTL", () => {
    expect(
      of(recorded, "SnsTopic")
        .filter((t) => t.name !== "AlarmsTopic")
        .map((t) => argsOf(t).transform.topic.name),
    ).toEqual(api.topics.map((t) => t.name));
    expect(of(recorded, "Bus").map((b) => argsOf(b).transform.bus.name)).toEqual(api.buses.map((b) => b.name));
    for (const t of api.tables) {
      const table = argsOf(of(recorded, "Dynamo").find((c) => c.name === `${cap(t.logical)}Table`)!);
      expect(table.transform.table.name).toBe(t.name);
      expect([table.primaryIndex.hashKey, table.primaryIndex.rangeKey].filter(Boolean)).toEqual(
        t.keySchema.map((k) => k.AttributeName),
      );
      expect(Object.keys(table.globalIndexes ?? {})).toEqual(t.globalSecondaryIndexes.map((i) => i.IndexName));
      expect(table.ttl).toBe(t.ttlAttribute);
    }
    // Bucket names are global: the account id is part of it.
    expect(of(recorded, "Bucket").map((b) => argsOf(b).transform.bucket.bucket)).toEqual(
      api.buckets.map((b) => `${b.name}-${RECORDED_ACCOUNT}`),
    );
    expect(of(recorded, "Email").map((e) => argsOf(e).sender)).toEqual(["notifications@example.com"]);
  });

  it("alarms on every DLQ holding a message and on every work queue's oldest message, to one alarms topic", () => {
    const alarms = of(recorded, "aws.cloudwatch.MetricAlarm").map(argsOf);
    for (const q of api.queues) {
      expect(alarms).toContainEqual(
        expect.objectContaining({
          metricName: "ApproximateNumberOfMessagesVisible",
          dimensions: { QueueName: q.dlqName },
          threshold: 0,
          comparisonOperator: "GreaterThanThreshold",
        }),
      );
      expect(alarms).toContainEqual(
        expect.objectContaining({ metricName: "ApproximateAgeOfOldestMessage", dimensions: { QueueName: q.name } }),
      );
    }
    expect(alarms).toHaveLength(api.queues.length * 2);
    expect(new Set(alarms.flatMap((a) => a.alarmActions))).toEqual(new Set(["recorded:SnsTopic:AlarmsTopic:arn"]));
  });

  it("a dashboard with the pipeline's EMF metrics (Quire namespace) and every queue's depth", () => {
    const [dashboard] = of(recorded, "aws.cloudwatch.Dashboard").map(argsOf);
    const body = JSON.parse(dashboard!.dashboardBody) as { widgets: { properties: { metrics: unknown[][] } }[] };
    const metrics = body.widgets.flatMap((w) => w.properties.metrics);
    for (const metric of [
      "JobsCompleted",
      "JobsFailed",
      "BedrockLatency",
      "BedrockInputTokens",
      "BedrockOutputTokens",
      "BedrockThrottles",
    ]) {
      expect(metrics).toContainEqual(expect.arrayContaining(["Quire", metric, "service", "summarizer"]));
    }
    for (const q of api.queues)
      expect(metrics).toContainEqual(
        expect.arrayContaining(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.dlqName]),
      );
  });

  it("nothing else outside the services: no functions, subscriptions or rules (those belong to the services), one API key secret", () => {
    const kinds = new Set(recorded.map((r) => r.kind));
    expect([...kinds].sort()).toEqual([
      "Bucket",
      "Bus",
      "Dynamo",
      "Email",
      "Queue",
      "Router",
      "Router.route",
      "Secret",
      "SnsTopic",
      "StaticSite",
      "aws.cloudwatch.Dashboard",
      "aws.cloudwatch.EventBusPolicy",
      "aws.cloudwatch.MetricAlarm",
      "aws.iam.Role",
      "aws.iam.RolePolicy",
      "aws.kms.Alias",
      "aws.kms.Key",
      "aws.s3.BucketLifecycleConfiguration",
    ]);
    // One secret for the stage, set once: `npx sst secret set QuireApiKey <key> --stage <stage>`.
    expect(of(recorded, "Secret").map((s) => s.name)).toEqual(["QuireApiKey"]);
  });

  it("manifest uploads expire after a day, a run's manifest copy and its batch files after eight; claim checks are kept", () => {
    const [lifecycle] = of(recorded, "aws.s3.BucketLifecycleConfiguration").map(argsOf);
    expect(
      lifecycle!.rules.map((rule: { filter: { prefix: string }; expiration: { days: number } }) => [
        rule.filter.prefix,
        rule.expiration.days,
      ]),
    ).toEqual([
      ["manifests/uploads/", 1],
      ["manifests/runs/", 8],
      ["batch/", 8],
    ]);
  });

  it("the claim-check bucket has no CORS rules: SST's default would let every origin use every method", () => {
    const buckets = of(recorded, "Bucket").map(argsOf);
    expect(buckets).toHaveLength(Object.keys(topology.buckets).length);
    for (const bucket of buckets) expect(bucket.cors).toBe(false);
  });

  it("the bus's policy lets only a service's own roles put its source, and nobody an unowned quire.* source", () => {
    const policies = of(recorded, "aws.cloudwatch.EventBusPolicy").map(argsOf);
    expect(policies.map((p) => p.eventBusName)).toEqual(["recorded:Bus:EventsBus:name"]);
    const policy = JSON.parse(policies[0]!.policy) as { Statement: Record<string, any>[] };
    const owners = SERVICES.filter((service) =>
      Object.values(eventCatalog).some((entry) => (entry.sources as readonly string[]).includes(`quire.${service}`)),
    );
    for (const service of owners)
      expect(policy.Statement).toContainEqual(
        expect.objectContaining({
          Effect: "Deny",
          Principal: "*",
          Action: "events:PutEvents",
          Resource: names.busArn("events"),
          Condition: {
            StringEquals: { "events:source": [`quire.${service}`] },
            ArnNotLike: { "aws:PrincipalArn": `arn:aws:iam::${RECORDED_ACCOUNT}:role/quire/${STAGE}/${service}/*` },
          },
        }),
      );
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({
        Effect: "Deny",
        Condition: {
          StringLike: { "events:source": "quire.*" },
          StringNotEquals: { "events:source": owners.map((service) => `quire.${service}`) },
        },
      }),
    );
    // Deny only: who may put at all is each role's own policy (and external sources stay possible).
    expect(policy.Statement.every((statement) => statement.Effect === "Deny")).toBe(true);
    expect(policy.Statement).toHaveLength(owners.length + 1);
  });

  it("a production stage retains its data: protected app, retained resources, tables with deletion protection", async () => {
    expect(config.app({ stage: "production" })).toMatchObject({ removal: "retain", protect: true });
    expect(config.app({ stage: "alice" })).toMatchObject({ removal: "remove", protect: false });
    // One app for the whole system: one state, one secret store, one `sst dev` session per stage.
    expect(config.app({ stage: "alice" })).toMatchObject({ name: "quire", home: "aws" });
    const production = await runSstConfig(APP_CONFIG, "production", DEPLOY_ENV);
    expect(of(production.recorded, "Dynamo").every((t) => argsOf(t).deletionProtection === true)).toBe(true);
    expect(of(recorded, "Dynamo").every((t) => argsOf(t).deletionProtection === false)).toBe(true);
  });

  it("refuses to deploy without an email sender, saying which setting is missing", async () => {
    await expect(runSstConfig(APP_CONFIG, STAGE, {})).rejects.toThrow(DeploySettingsError);
    await expect(runSstConfig(APP_CONFIG, STAGE, {})).rejects.toThrow(/QUIRE_EMAIL_SENDER/);
  });
});

describe("each service's component wires its share of the topology, and only that", () => {
  /** Each service's share of the app: what its component holds. */
  const apps: Record<string, Recorded[]> = {};
  let recorded: Recorded[];
  let scanner: ReturnType<typeof createAwsCallScanner>;
  beforeAll(async () => {
    ({ recorded } = await runSstConfig(APP_CONFIG, STAGE, DEPLOY_ENV));
    for (const service of SERVICES) apps[service] = shareOf(recorded, service);
    // Every handler's code, parsed once (a few seconds).
    scanner = createAwsCallScanner(
      SERVICES.map((service) => `${root}/services/${service}/src/lambda.ts`),
      { root, tableOwners: TABLE_OWNERS },
    );
  }, 120_000);

  it("every declared consumer subscribes its function to its queue with partial batch responses and its batch size", () => {
    for (const service of SERVICES) {
      const subscriptions = of(apps[service]!, "Queue.subscribe");
      const declared = topology.services[service].consumers;
      expect(subscriptions.map((s) => s.name)).toEqual(declared.map((c) => names.queueArn(c.queue)));
      for (const [i, consumer] of declared.entries()) {
        const [fn, args] = subscriptions[i]!.args as [Record<string, any>, Record<string, any>];
        // Handlers are paths from the app's directory, the repository root.
        expect(fn.handler).toBe(`services/${service}/${consumer.handler}`);
        expect(fn.runtime).toBe("nodejs24.x");
        expect(args.batch).toMatchObject({ size: consumer.batchSize, partialResponses: true });
        // AWS refuses an event source whose function may outlive the queue's visibility timeout.
        expect(consumer.timeoutSeconds).toBeLessThan(
          topology.queues[consumer.queue as keyof typeof topology.queues].visibilityTimeoutSeconds,
        );
      }
    }
  });

  it("the stages' bulk event-source maximum concurrency comes from the Bedrock quota: 400 RPM × 8 s × 1.2 split over two stages = 32", () => {
    for (const service of ["summarizer", "classifier"] as const) {
      const [bulk, interactive] = of(apps[service]!, "Queue.subscribe");
      const concurrencyOf = (r: Recorded) =>
        (r.args[1] as Record<string, any>).transform.eventSourceMapping.scalingConfig.maximumConcurrency;
      expect(bulk!.name).toBe(names.queueArn(service));
      expect(concurrencyOf(bulk!)).toBe(32);
      // Sync requests get their own small event source, so they never wait behind the bulk backlog.
      expect(interactive!.name).toBe(names.queueArn(`${service}Interactive`));
      expect(concurrencyOf(interactive!)).toBe(5);
    }
  });

  it("SNS subscriptions live with the service whose queue they fill: same topic, queue, raw delivery and filter policy as devcloud's", () => {
    const all = SERVICES.flatMap((service) =>
      of(apps[service]!, "aws.sns.TopicSubscription").map((s) => ({ service, s })),
    );
    expect(all.map(({ s }) => s.name).sort()).toEqual(
      Object.keys(topology.subscriptions)
        .map((l) => `${cap(l)}Subscription`)
        .sort(),
    );
    for (const declared of api.subscriptions) {
      const { service, s } = all.find(({ s }) => s.name === `${cap(declared.logical)}Subscription`)!;
      const args = argsOf(s);
      expect(topology.queues[logicalOf(declared.queueName) as keyof typeof topology.queues].consumer).toBe(service);
      expect(args.protocol).toBe("sqs");
      expect(args.topic).toBe(names.topicArn(logicalOf(declared.topicName)));
      expect(args.endpoint).toBe(names.queueArn(logicalOf(declared.queueName)));
      expect(args.filterPolicy).toBe(declared.attributes.FilterPolicy);
      expect(String(args.rawMessageDelivery)).toBe(declared.attributes.RawMessageDelivery);
      expect(args.filterPolicyScope).toBe(declared.attributes.FilterPolicyScope);
    }
  });

  it("EventBridge rules live with the service whose queue they target: devcloud's rule name, bus and event pattern", () => {
    const all = SERVICES.flatMap((service) =>
      of(apps[service]!, "aws.cloudwatch.EventRule").map((r) => ({ service, r })),
    );
    expect(all).toHaveLength(api.rules.length);
    for (const declared of api.rules) {
      const { service, r } = all.find(({ r }) => r.name === `${cap(declared.logical)}Rule`)!;
      expect(topology.queues[logicalOf(declared.targetQueueName) as keyof typeof topology.queues].consumer).toBe(
        service,
      );
      expect(argsOf(r)).toEqual({
        name: declared.name,
        eventBusName: declared.busName,
        description: declared.description,
        eventPattern: declared.eventPattern,
      });
      // A fixed name: a replacement deletes the old rule first.
      expect(r.options).toEqual({ deleteBeforeReplace: true });
      const targets = of(apps[service]!, "aws.cloudwatch.EventTarget").filter(
        (t) => argsOf(t).rule === `recorded:aws.cloudwatch.EventRule:${r.name}:name`,
      );
      expect(targets.map(argsOf)).toEqual([
        {
          rule: `recorded:aws.cloudwatch.EventRule:${r.name}:name`,
          eventBusName: declared.busName,
          arn: names.queueArn(logicalOf(declared.targetQueueName)),
        },
      ]);
    }
    expect(SERVICES.flatMap((service) => of(apps[service]!, "aws.cloudwatch.EventTarget"))).toHaveLength(
      api.rules.length,
    );
  });

  it("a queue SNS or EventBridge fills accepts messages from its own topics and rules alone (aws:SourceArn), by one policy its consumer owns", () => {
    const policies = SERVICES.flatMap((service) =>
      of(apps[service]!, "aws.sqs.QueuePolicy").map((p) => ({ service, queueUrl: argsOf(p).queueUrl, p })),
    );
    const filled = Object.keys(topology.queues).filter(
      (queue) =>
        Object.values(topology.subscriptions).some((s) => s.queue === queue) ||
        Object.values(topology.rules).some((r) => r.targetQueue === queue),
    );
    expect(policies.map((p) => p.queueUrl).sort()).toEqual(filled.map(names.queueUrl).sort());
    for (const queue of filled) {
      const { service, p } = policies.find((policy) => policy.queueUrl === names.queueUrl(queue))!;
      expect(topology.queues[queue as keyof typeof topology.queues].consumer).toBe(service);
      const topics = Object.values(topology.subscriptions)
        .filter((s) => s.queue === queue)
        .map((s) => names.topicArn(s.topic));
      const rules = api.rules
        .filter((r) => r.targetQueueName === names.queue(queue))
        .map((r) => `arn:aws:events:${RECORDED_REGION}:${RECORDED_ACCOUNT}:rule/${r.busName}/${r.name}`);
      const statement = (Sid: string, Service: string, sources: string[]) => ({
        Sid,
        Effect: "Allow",
        Principal: { Service },
        Action: "sqs:SendMessage",
        Resource: names.queueArn(queue),
        Condition: { ArnEquals: { "aws:SourceArn": sources } },
      });
      expect(JSON.parse(argsOf(p).policy)).toEqual({
        Version: "2012-10-17",
        Statement: [
          ...(topics.length ? [statement("FromItsTopics", "sns.amazonaws.com", topics)] : []),
          ...(rules.length ? [statement("FromItsRules", "events.amazonaws.com", rules)] : []),
        ],
      });
    }
  });

  /** Every function a service's component deploys, with what it was given and where its code starts. */
  const functionsOf = (service: Service) => {
    const deployment: ServiceDeployment = topology.services[service];
    const consumers = of(apps[service]!, "Queue.subscribe").map((s, i) => ({
      label: `${service} consumer of ${deployment.consumers[i]!.queue}`,
      queue: deployment.consumers[i]!.queue as string | undefined,
      args: s.args[0] as DeployedFunction,
    }));
    const apis = of(apps[service]!, "ApiGatewayV2.route").map((r) => ({
      label: `${service} API`,
      queue: undefined,
      args: r.args[1] as DeployedFunction,
    }));
    return [...consumers, ...apis].map((fn) => ({ ...fn, service, exportName: fn.args.handler.split(".")[1]! }));
  };
  const everyFunction = () => SERVICES.flatMap(functionsOf);
  const isTracing = (statement: Statement) => statement.actions.every((action) => action.startsWith("xray:"));

  it("no function holds a wildcard action, or a wildcard resource beyond X-Ray's (which has no resources)", () => {
    const functions = everyFunction();
    expect(functions).toHaveLength(
      SERVICES.reduce((n, s) => n + topology.services[s].consumers.length + ("api" in topology.services[s] ? 1 : 0), 0),
    );
    for (const fn of functions) {
      for (const statement of fn.args.permissions) {
        for (const action of statement.actions) expect(action, fn.label).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
        if (isTracing(statement))
          expect(statement, fn.label).toEqual({
            actions: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            resources: ["*"],
          });
        else expect(statement.resources, fn.label).not.toContain("*");
      }
      // Active tracing needs the role to write segments: Lambda refuses the function otherwise.
      expect(fn.args.permissions.filter(isTracing), fn.label).toHaveLength(1);
    }
  });

  it("no function is linked to a shared resource (SST grants `sqs:*`, `dynamodb:*`… through links): only the API key secret, which grants nothing", () => {
    for (const fn of everyFunction()) {
      const uses: ServiceDeployment["uses"] = topology.services[fn.service].uses;
      expect(
        fn.args.link.map((l) => l.componentName),
        fn.label,
      ).toEqual(uses.apiKey ? ["QuireApiKey"] : []);
    }
    // Nothing is referenced for a link either: the shared resources are found by their deterministic names.
    expect(recorded.filter((r) => r.kind.endsWith(".get")).map((r) => r.kind)).toEqual([]);
  });

  it("each function is granted exactly what its code calls: every action (per table for DynamoDB) it reaches is granted, every granted one is reached", () => {
    for (const fn of everyFunction()) {
      const lambda = `${root}/services/${fn.service}/src/lambda.ts`;
      const { calls, unclassified } = scanner.scan(lambda, fn.exportName);
      expect(unclassified, `${fn.label}: calls IAM_ACTIONS (infra/test/aws-calls.ts) does not map`).toEqual([]);
      const used = new Map<string, string[]>();
      const firstVia = new Map<string, readonly string[]>();
      for (const call of calls) {
        if (call.sdk.includes("dynamodb"))
          expect(call.table, `${fn.label}: a DynamoDB call outside any table's package, at ${call.at}`).toBeDefined();
        for (const action of call.actions) {
          const key = action.startsWith("dynamodb:")
            ? `${action} on ${call.table}${call.onIndex ? "/index" : ""}`
            : action;
          used.set(key, [...(used.get(key) ?? []), call.at]);
          if (!firstVia.has(key)) firstVia.set(key, call.via);
        }
      }
      const granted = new Set<string>();
      for (const statement of fn.args.permissions.filter((s) => !isTracing(s)))
        for (const action of statement.actions)
          if (action.startsWith("dynamodb:"))
            for (const resource of statement.resources) granted.add(`${action} on ${tableOf(resource)}`);
          else granted.add(action);
      // Each with where the call is, and how the handler reaches it.
      const notGranted = [...used]
        .filter(([key]) => !granted.has(key))
        .map(([key, at]) => `${key} at ${at.join(", ")}, reached ${firstVia.get(key)!.join(" → ")}`);
      const notCalled = [...granted].filter((key) => !used.has(key));
      expect(notGranted, `${fn.label}: called but not granted (infra/src/permissions.ts FUNCTION_ACCESS)`).toEqual([]);
      expect(notCalled, `${fn.label}: granted but never called (infra/src/permissions.ts FUNCTION_ACCESS)`).toEqual([]);
    }
  }, 120_000);

  it("each function's resources are the ones its service declares (topology uses), by their deterministic ARNs", () => {
    for (const fn of everyFunction()) {
      const uses: ServiceDeployment["uses"] = topology.services[fn.service].uses;
      const everyQueue = Object.keys(topology.queues);
      const allowed = new Set([
        ...(uses.tables ?? []).flatMap((t) => [names.tableArn(t), `${names.tableArn(t)}/index/*`]),
        ...(uses.topics ?? []).map(names.topicArn),
        ...(uses.buckets ?? []).map(names.bucketObjectsArn),
        ...(uses.buses ?? []).map(names.busArn),
        ...(uses.queues ?? []).map(names.queueArn),
        ...(fn.queue ? [names.queueArn(fn.queue), names.dlqArn(fn.queue)] : []),
        ...(uses.deadLetters ? everyQueue.flatMap((q) => [names.queueArn(q), names.dlqArn(q)]) : []),
        ...(uses.bedrock ? [names.modelArn("anthropic.claude-3-haiku-20240307-v1:0")] : []),
        ...(uses.email ? [`${SES}:identity/*`, `${SES}:configuration-set/*`] : []),
        ...(uses.keys?.length ? [`arn:aws:kms:${RECORDED_REGION}:${RECORDED_ACCOUNT}:key/*`] : []),
        ...(uses.bedrockBatch
          ? [
              names.modelArn("anthropic.claude-3-haiku-20240307-v1:0"),
              names.modelInvocationJobsArn(),
              names.batchRoleArn(),
              ...(uses.buckets ?? []).map(names.bucketArn),
            ]
          : []),
      ]);
      for (const statement of fn.args.permissions.filter((s) => !isTracing(s)))
        for (const resource of statement.resources) expect(allowed, `${fn.label}: ${resource}`).toContain(resource);
    }
    // The examples the issue names: a stage reads the claim-check object, nothing else of the bucket.
    for (const fn of [...functionsOf("summarizer"), ...functionsOf("classifier")]) {
      expect(fn.args.permissions.filter((s) => s.resources.some((r) => r.startsWith("arn:aws:s3:")))).toEqual([
        { actions: ["s3:GetObject"], resources: [names.bucketObjectsArn("documents")] },
      ]);
    }
    const [ingestionApi] = functionsOf("ingestion").filter((fn) => fn.queue === undefined);
    expect(ingestionApi!.args.permissions).toContainEqual({
      actions: ["sns:Publish"],
      resources: [names.topicArn("documents")],
    });
    // A consumer sets its retry delays on its own queue and dead-letters into its own DLQ, nowhere else.
    const [summarizer] = functionsOf("summarizer");
    expect(summarizer!.args.permissions).toEqual(
      expect.arrayContaining([
        { actions: ["sqs:ChangeMessageVisibility"], resources: [names.queueArn("summarizer")] },
        { actions: ["sqs:SendMessage"], resources: [names.dlqArn("summarizer")] },
      ]),
    );
    // Only the ingestion API reads and redrives dead letters: its queue consumer may not.
    const [ingestionQueue] = functionsOf("ingestion").filter((fn) => fn.queue !== undefined);
    expect(ingestionQueue!.args.permissions.flatMap((s) => s.actions)).not.toContain("sqs:StartMessageMoveTask");
    expect(ingestionApi!.args.permissions.flatMap((s) => s.actions)).toContain("sqs:StartMessageMoveTask");
    // The ingestion API lists runs and a run's jobs through the jobs table's index, and reads every
    // queue's and DLQ's depth (GET /v1/queues).
    expect(ingestionApi!.args.permissions).toContainEqual({
      actions: ["dynamodb:Query"],
      resources: [`${names.tableArn("jobs")}/index/*`],
    });
    const readsAttributes = ingestionApi!.args.permissions
      .filter((s) => s.actions.includes("sqs:GetQueueAttributes"))
      .flatMap((s) => s.resources);
    expect(readsAttributes.sort()).toEqual(
      Object.keys(topology.queues)
        .flatMap((q) => [names.queueArn(q), names.dlqArn(q)])
        .sort(),
    );
  });

  it("PutEvents is granted on the bus only with an events:source condition naming exactly the sources the catalogue gives the service", () => {
    const putters = everyFunction().filter((fn) =>
      fn.args.permissions.some((s) => s.actions.includes("events:PutEvents")),
    );
    expect(new Set(putters.map((fn) => fn.service))).toEqual(new Set(["ingestion", "summarizer", "classifier"]));
    for (const fn of putters) {
      const sources = [
        ...new Set(
          Object.values(eventCatalog).flatMap((entry) =>
            (entry.sources as readonly string[]).filter((source) => source === `quire.${fn.service}`),
          ),
        ),
      ];
      expect(sources, fn.label).toEqual([`quire.${fn.service}`]);
      expect(
        fn.args.permissions.filter((s) => s.actions.includes("events:PutEvents")),
        fn.label,
      ).toEqual([
        {
          actions: ["events:PutEvents"],
          resources: [names.busArn("events")],
          conditions: [{ test: "StringEquals", variable: "events:source", values: sources }],
        },
      ]);
    }
  });

  it("the notifier sends mail only from the app's sender address, the QUIRE_EMAIL_FROM an Email link would have given", () => {
    const sender = DEPLOY_ENV.QUIRE_EMAIL_SENDER;
    for (const fn of everyFunction()) {
      const email = fn.args.permissions.filter((s) => s.actions.includes("ses:SendEmail"));
      if (!email.length) {
        expect(fn.args.environment.QUIRE_EMAIL_FROM, fn.label).toBeUndefined();
        continue;
      }
      expect(fn.service).toBe("notifier");
      expect(email).toEqual([
        {
          actions: ["ses:SendEmail"],
          resources: [`${SES}:identity/*`, `${SES}:configuration-set/*`],
          conditions: [{ test: "StringEquals", variable: "ses:FromAddress", values: [sender] }],
        },
      ]);
      expect(fn.args.environment.QUIRE_EMAIL_FROM).toBe(
        environmentFromLinks({ App: {}, Email: { sender } }).QUIRE_EMAIL_FROM,
      );
    }
  });

  it("each function's config loads from its own environment: the resources it is granted named, every other one unlinked", () => {
    const bindings = resourceBindings(topology);
    for (const fn of everyFunction()) {
      const env = Object.fromEntries(
        Object.entries(fn.args.environment).map(([key, value]) => [
          key,
          // The stand-ins' outputs (an API's URL) are not URLs.
          String(value).startsWith("recorded:") ? "https://api.example.com" : String(value),
        ]),
      );
      const uses: ServiceDeployment["uses"] = topology.services[fn.service].uses;
      const config = loadConfig(
        { ...env, ...(uses.apiKey ? { QUIRE_API_KEY: "a-test-key-of-16+chars" } : {}) },
        { App: { name: "quire", stage: STAGE } },
      ) as unknown as Record<string, unknown>;
      const referenced = new Set(
        fn.args.permissions.flatMap((s) => [...s.resources, ...(s.conditions ?? []).flatMap((c) => c.values)]),
      );
      for (const binding of bindings) {
        const named = env[binding.environmentKey];
        if (named === undefined) {
          expect(config[binding.environmentKey], `${fn.label}: ${binding.environmentKey}`).toBe(
            unlinked(binding.component),
          );
          continue;
        }
        // A name it gets is a resource it may use, and the name is the one the infra app gave it.
        expect(config[binding.environmentKey]).toBe(named);
        const arns = arnsOf(binding.kind, binding.logical);
        expect(
          arns.some((arn) => referenced.has(arn)),
          `${fn.label} gets ${binding.environmentKey} but no grant on it`,
        ).toBe(true);
      }
      // What it is granted, it is told the name of.
      for (const binding of bindings)
        if (arnsOf(binding.kind, binding.logical).some((arn) => referenced.has(arn)) && binding.kind !== "KEY")
          expect(env, `${fn.label}: granted ${binding.component}`).toHaveProperty(binding.environmentKey);
      // Lambda's limit for all variables is 4 KB; SST adds its own few.
      expect(JSON.stringify(fn.args.environment).length, fn.label).toBeLessThan(3500);
    }
  });

  it("only the stages may call Bedrock, and only the configured model", () => {
    for (const fn of everyFunction()) {
      const bedrock = "bedrock" in topology.services[fn.service].uses;
      const batch = "bedrockBatch" in topology.services[fn.service].uses;
      const model = `arn:aws:bedrock:${RECORDED_REGION}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0`;
      const jobs = `arn:aws:bedrock:${RECORDED_REGION}:${RECORDED_ACCOUNT}:model-invocation-job/*`;
      expect(fn.args.permissions.filter((s) => s.actions.some((a) => a.startsWith("bedrock:")))).toEqual([
        ...(bedrock ? [{ actions: ["bedrock:InvokeModel"], resources: [model] }] : []),
        // The batcher: batch jobs on the configured model, read and stopped as jobs.
        ...(batch
          ? [
              { actions: ["bedrock:CreateModelInvocationJob"], resources: [model, jobs] },
              { actions: ["bedrock:GetModelInvocationJob", "bedrock:StopModelInvocationJob"], resources: [jobs] },
            ]
          : []),
      ]);
    }
  });

  it("only the batcher passes a role, and only the batch service role, to Bedrock alone; that role reads and writes batch/ of the documents bucket", () => {
    for (const fn of everyFunction()) {
      const passes = fn.args.permissions.filter((s) => s.actions.includes("iam:PassRole"));
      expect(passes, fn.label).toEqual(
        fn.service === "batcher"
          ? [
              {
                actions: ["iam:PassRole"],
                resources: [names.batchRoleArn()],
                conditions: [
                  { test: "StringEquals", variable: "iam:PassedToService", values: ["bedrock.amazonaws.com"] },
                ],
              },
            ]
          : [],
      );
    }
    const [role] = of(recorded, "aws.iam.Role").map(argsOf) as { name: string; assumeRolePolicy: string }[];
    expect(role!.name).toBe(names.batchRole());
    expect(JSON.parse(role!.assumeRolePolicy).Statement[0].Principal).toEqual({ Service: "bedrock.amazonaws.com" });
    const [policy] = of(recorded, "aws.iam.RolePolicy").map(argsOf) as { policy: string }[];
    expect(JSON.parse(policy!.policy).Statement.map((s: { Resource: string[] }) => s.Resource)).toEqual([
      [`${names.bucketArn("documents")}/batch/*`],
      [names.bucketArn("documents")],
    ]);
  });

  it("a service's function roles share its path, /quire/<stage>/<service>/, the one the bus policy names", () => {
    for (const fn of everyFunction())
      expect(fn.args.transform.role, fn.label).toEqual({ path: `/quire/${STAGE}/${fn.service}/` });
  });

  it("ingestion and the notifier serve their HTTP API from one function each, under their component; the app's one API key secret is linked to them alone", () => {
    for (const service of SERVICES) {
      const routes = of(apps[service]!, "ApiGatewayV2.route");
      const declared = topology.services[service] as { api?: { handler: string } };
      expect(routes.map((r) => [r.name, (r.args[1] as { handler: string }).handler])).toEqual(
        declared.api ? [["$default", `services/${service}/${declared.api.handler}`]] : [],
      );
      // SST creates a route without a parent: the API's route transform gives it the service's.
      for (const route of routes) expect(route.parent).toBe(serviceComponentName(service));
    }
    expect(of(recorded, "Secret").map((s) => [s.name, s.parent])).toEqual([["QuireApiKey", undefined]]);
  });

  it("every handler a function names is exported by its service's lambda.ts, a path from the app's root", () => {
    for (const fn of everyFunction()) {
      const [module, name] = fn.args.handler.split(".");
      expect(module, fn.label).toBe(`${serviceDirectory(fn.service)}/src/lambda`);
      const source = readFileSync(new URL(`../../${module}.ts`, import.meta.url), "utf8");
      expect(source, fn.label).toMatch(new RegExp(`export const ${name} =`));
    }
  });

  it("under sst dev, the notifier (running on the laptop) may reach loopback, and `quire listen` starts beside it", async () => {
    const dev = (await runSstConfig(APP_CONFIG, "alice", DEPLOY_ENV, { dev: true })).recorded;
    const [listen, ...others] = of(dev, "DevCommand");
    expect(others).toEqual([]);
    expect(listen!.parent).toBe(serviceComponentName("notifier"));
    expect(argsOf(listen!).dev).toMatchObject({ command: "npx quire listen", autostart: true });
    expect(argsOf(listen!).environment).toMatchObject({
      QUIRE_NOTIFIER_URL: "recorded:ApiGatewayV2:NotifierApi:url",
      QUIRE_API_KEY: "recorded:Secret:QuireApiKey:value",
    });
    const [fn] = of(shareOf(dev, "notifier"), "Queue.subscribe")[0]!.args as [{ environment: Record<string, string> }];
    expect(fn.environment.QUIRE_WEBHOOK_ALLOWLIST).toBe("localhost:4700-4709,127.0.0.1:4700-4709,[::1]:4700-4709");
    // Deployed for real, webhooks reach public addresses only.
    const [deployed] = of(apps.notifier!, "Queue.subscribe")[0]!.args as [{ environment: Record<string, string> }];
    expect(deployed.environment.QUIRE_WEBHOOK_ALLOWLIST).toBeUndefined();
    expect(of(recorded, "DevCommand")).toEqual([]);
  });

  it("a service's component holds no shared resource (queues, topics, tables stay outside every service)", () => {
    for (const service of SERVICES) {
      for (const kind of ["Queue", "SnsTopic", "Bus", "Dynamo", "Bucket", "Email", "Secret"])
        expect(of(apps[service]!, kind)).toEqual([]);
    }
  });
});

describe("one app, deployed whole in order or one service at a time", () => {
  let recorded: Recorded[];
  beforeAll(async () => {
    ({ recorded } = await runSstConfig(APP_CONFIG, STAGE, DEPLOY_ENV));
  });
  const byName = (name: string) => recorded.filter((r) => r.name === name);

  it("a `--target` name for every topology service: one component each, named uniquely in the app, and its workspace's deploy targets it", () => {
    const components = of(recorded, "ComponentResource");
    expect(components.map((c) => c.name)).toEqual(SERVICES.map(serviceComponentName));
    expect(serviceTargets()).toEqual({
      ingestion: "IngestionService",
      summarizer: "SummarizerService",
      classifier: "ClassifierService",
      notifier: "NotifierService",
      batcher: "BatcherService",
    });
    for (const component of components) {
      expect(component.args[0]).toBe(SERVICE_COMPONENT_TYPE);
      // SST looks the name up among the stage's resources and takes the first: it must be this one's alone.
      expect(byName(component.name)).toEqual([component]);
    }
    for (const service of SERVICES) {
      const { scripts } = JSON.parse(
        readFileSync(new URL(`../../services/${service}/package.json`, import.meta.url), "utf8"),
      ) as { scripts: Record<string, string> };
      expect(scripts.deploy).toBe(`sst deploy --config ../../sst.config.ts --target ${serviceComponentName(service)}`);
    }
  });

  it("everything is either outside the services or under exactly one service's component", () => {
    const shares = SERVICES.flatMap((service) => shareOf(recorded, service));
    expect(new Set(shares).size).toBe(shares.length);
    const components = of(recorded, "ComponentResource");
    expect(recorded.length).toBe(outsideServices(recorded).length + components.length + shares.length);
    for (const service of SERVICES) expect(shareOf(recorded, service).length, service).toBeGreaterThan(0);
  });

  it("`sst deploy --target <Service>Service` (Pulumi's --target with --target-dependents) applies that service's share and nothing else", () => {
    // Pulumi takes a targeted resource's dependents with it: its children, and whatever depends
    // on one of them (dependsOn, or an input taken from its outputs), transitively.
    const dependents = (start: Recorded) => {
      const targeted = new Set([start]);
      const names = new Set([start.name]);
      let grown = true;
      while (grown) {
        grown = false;
        for (const r of recorded) {
          if (targeted.has(r)) continue;
          const dependsOnTargeted =
            (r.parent !== undefined && names.has(r.parent)) ||
            (r.dependsOn ?? []).some((d) => names.has(d)) ||
            [...outputsTakenBy(r)].some((taken) => names.has(taken));
          if (dependsOnTargeted) {
            targeted.add(r);
            if (isResource(r)) names.add(r.name);
            grown = true;
          }
        }
      }
      return targeted;
    };
    for (const service of SERVICES) {
      const [component] = byName(serviceComponentName(service));
      const targeted = dependents(component!);
      const share = shareOf(recorded, service);
      // Its share, and the console's routes to its API (which take the API's URL).
      const routes = consoleRoutesTo(recorded, service);
      expect(targeted.size, service).toBe(share.length + 1 + routes.length);
      for (const route of routes) expect(targeted.has(route), `${service}: console route ${route.name}`).toBe(true);
      for (const r of share) expect(targeted.has(r), `${service}: ${r.kind} ${r.name}`).toBe(true);
      // Not a shared resource, not another service's.
      for (const other of [
        ...outsideServices(recorded).filter((r) => !routes.includes(r)),
        ...SERVICES.filter((s) => s !== service).flatMap((s) => shareOf(recorded, s)),
      ])
        expect(targeted.has(other), `${service} targets ${other.kind} ${other.name}`).toBe(false);
    }
  });

  it("one `sst deploy` creates the shared resources before the services: each service's component depends on every shared resource its share names", () => {
    // Each shared component, by the strings (names, ARNs, URLs, aliases) the services name it with.
    const sharedBy = new Map<string, string>();
    const add = (component: string, ...values: string[]) => {
      for (const value of values) sharedBy.set(value, component);
    };
    for (const l of Object.keys(topology.topics)) add(`${cap(l)}Topic`, names.topicArn(l), names.topic(l));
    for (const l of Object.keys(topology.queues)) {
      add(`${cap(l)}Queue`, names.queueArn(l), names.queueUrl(l), names.queue(l));
      add(`${cap(l)}Dlq`, names.dlqArn(l), names.dlqUrl(l), names.dlq(l));
    }
    for (const l of Object.keys(topology.buses)) add(`${cap(l)}Bus`, names.busArn(l), names.bus(l));
    for (const l of Object.keys(topology.tables)) add(`${cap(l)}Table`, names.tableArn(l), names.table(l));
    for (const l of Object.keys(topology.buckets)) add(`${cap(l)}Bucket`, names.bucketObjectsArn(l), names.bucket(l));
    for (const l of Object.keys(topology.keys)) add(`${cap(l)}KeyAlias`, names.keyAlias(l));
    add("Email", `${SES}:identity/*`);
    const named = (value: string) =>
      sharedBy.get(value) ?? sharedBy.get(value.replace(/\/index\/\*$/, "")) ?? undefined;

    const shared = new Set(outsideServices(recorded).map((r) => r.name));
    for (const component of [...sharedBy.values()]) expect(shared, component).toContain(component);
    for (const service of SERVICES) {
      const [component] = byName(serviceComponentName(service));
      const referenced = new Set(
        shareOf(recorded, service)
          .flatMap((r) => stringsIn(r.args))
          .flatMap((value) => {
            const component = named(value);
            return component ? [component] : [];
          }),
      );
      expect(referenced.size, service).toBeGreaterThan(0);
      // Each bus comes with its policy (which services may put its sources), each key alias with its key.
      const expected = [...referenced].flatMap((name) =>
        name.endsWith("Bus")
          ? [name, `${name}Policy`]
          : name.endsWith("KeyAlias")
            ? [name, name.replace(/Alias$/, "")]
            : [name],
      );
      expect([...(component!.dependsOn ?? [])].sort(), service).toEqual(expected.sort());
      for (const dependency of component!.dependsOn ?? []) expect(shared, service).toContain(dependency);
    }
    // And nothing outside the services waits on (or takes an output of) anything of a service.
    const inServices = new Set(
      SERVICES.flatMap((s) => [serviceComponentName(s), ...shareOf(recorded, s).map((r) => r.name)]),
    );
    // But the console's routes to each API, which take that API's URL (and nothing else of a service).
    const consoleRoutes = SERVICES.flatMap((service) => consoleRoutesTo(recorded, service));
    for (const r of outsideServices(recorded).filter((r) => !consoleRoutes.includes(r))) {
      expect(
        (r.dependsOn ?? []).filter((d) => inServices.has(d)),
        r.name,
      ).toEqual([]);
      expect(
        [...outputsTakenBy(r)].filter((taken) => inServices.has(taken)),
        r.name,
      ).toEqual([]);
    }
  });
});

function cap(s: string) {
  return s[0]!.toUpperCase() + s.slice(1);
}
/** `quire-staging-summarizer` → `summarizer`, `quire-staging-notifier-deliveries` → `notifierDeliveries`. */
function logicalOf(physical: string) {
  return physical.replace(`quire-${STAGE}-`, "").replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
