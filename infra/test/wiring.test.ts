/**
 * The wiring of Quire on AWS, read back from the real sst.config.ts files run against recording
 * stand-ins of SST's components: the infra app creates exactly what the topology declares (and
 * devcloud provisions), and each service's app wires exactly its share of it.
 */
import { readFileSync } from "node:fs";
import { renderAwsApiResources, toEventPattern, topology, type ServiceDeployment } from "@quire/topology";
import { beforeAll, describe, expect, it } from "vitest";
import { DeploySettingsError, sharedNames } from "../src/index.ts";
import { RECORDED_ACCOUNT, RECORDED_REGION, runSstConfig, type Recorded, type SstConfig } from "./recording-sst.ts";

const STAGE = "staging";
const DEPLOY_ENV = {
  QUIRE_EMAIL_SENDER: "notifications@example.com",
  QUIRE_BEDROCK_RPM: "400",
  QUIRE_BEDROCK_LATENCY_MS: "8000",
};
const SERVICES = Object.keys(topology.services) as (keyof typeof topology.services)[];
const names = sharedNames(topology, { stage: STAGE, accountId: RECORDED_ACCOUNT, region: RECORDED_REGION });
/** devcloud's rendering of the same declaration, with the stage's prefix: what both must agree with. */
const api = renderAwsApiResources(topology, `quire-${STAGE}`);

const of = (recorded: Recorded[], kind: string) => recorded.filter((r) => r.kind === kind);
const argsOf = (r: Recorded) => r.args[0] as Record<string, any>;

describe("the infra app creates the topology's shared resources, named as devcloud names them", () => {
  let recorded: Recorded[];
  let config: SstConfig;
  beforeAll(async () => {
    ({ recorded, config } = await runSstConfig("../sst.config.ts", STAGE, DEPLOY_ENV));
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

  it("creates nothing else: no functions, subscriptions or rules (those belong to the services)", () => {
    const kinds = new Set(recorded.map((r) => r.kind));
    expect([...kinds].sort()).toEqual([
      "Bucket",
      "Bus",
      "Dynamo",
      "Email",
      "Queue",
      "SnsTopic",
      "aws.cloudwatch.Dashboard",
      "aws.cloudwatch.MetricAlarm",
    ]);
  });

  it("a production stage retains its data: protected app, retained resources, tables with deletion protection", async () => {
    expect(config.app({ stage: "production" })).toMatchObject({ removal: "retain", protect: true });
    expect(config.app({ stage: "alice" })).toMatchObject({ removal: "remove", protect: false });
    const production = await runSstConfig("../sst.config.ts", "production", DEPLOY_ENV);
    expect(of(production.recorded, "Dynamo").every((t) => argsOf(t).deletionProtection === true)).toBe(true);
    expect(of(recorded, "Dynamo").every((t) => argsOf(t).deletionProtection === false)).toBe(true);
  });

  it("refuses to deploy without an email sender, saying which setting is missing", async () => {
    await expect(runSstConfig("../sst.config.ts", STAGE, {})).rejects.toThrow(DeploySettingsError);
    await expect(runSstConfig("../sst.config.ts", STAGE, {})).rejects.toThrow(/QUIRE_EMAIL_SENDER/);
  });
});

describe("each service's app wires its share of the topology, and only that", () => {
  const apps: Record<string, Recorded[]> = {};
  beforeAll(async () => {
    for (const service of SERVICES)
      apps[service] = (await runSstConfig(`../../services/${service}/sst.config.ts`, STAGE, DEPLOY_ENV)).recorded;
  });

  it("every declared consumer subscribes its function to its queue with partial batch responses and its batch size", () => {
    for (const service of SERVICES) {
      const subscriptions = of(apps[service]!, "Queue.subscribe");
      const declared = topology.services[service].consumers;
      expect(subscriptions.map((s) => s.name)).toEqual(declared.map((c) => names.queueArn(c.queue)));
      for (const [i, consumer] of declared.entries()) {
        const [fn, args] = subscriptions[i]!.args as [Record<string, any>, Record<string, any>];
        expect(fn.handler).toBe(consumer.handler);
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
      of(apps[service]!, "SnsTopic.subscribeQueue").map((s) => ({ service, s })),
    );
    expect(all.map(({ s }) => s.name).sort()).toEqual(
      Object.keys(topology.subscriptions)
        .map((l) => `${cap(l)}Subscription`)
        .sort(),
    );
    for (const declared of api.subscriptions) {
      const { service, s } = all.find(({ s }) => s.name === `${cap(declared.logical)}Subscription`)!;
      const [topicArn, queueArn, args] = s.args as [string, string, Record<string, any>];
      expect(topology.queues[logicalOf(declared.queueName) as keyof typeof topology.queues].consumer).toBe(service);
      expect(topicArn).toBe(names.topicArn(logicalOf(declared.topicName)));
      expect(queueArn).toBe(names.queueArn(logicalOf(declared.queueName)));
      expect(JSON.stringify(args.filter)).toBe(declared.attributes.FilterPolicy);
      expect(String(args.transform.subscription.rawMessageDelivery)).toBe(declared.attributes.RawMessageDelivery);
      expect(args.transform.subscription.filterPolicyScope).toBe(declared.attributes.FilterPolicyScope);
    }
  });

  it("EventBridge rules live with the service whose queue they target: same bus and event pattern as devcloud's", () => {
    const all = SERVICES.flatMap((service) => of(apps[service]!, "Bus.subscribeQueue").map((r) => ({ service, r })));
    expect(all).toHaveLength(api.rules.length);
    for (const declared of api.rules) {
      const { service, r } = all.find(({ r }) => r.name === `${cap(declared.logical)}Rule`)!;
      const [busArn, queueArn, args] = r.args as [string, string, Record<string, any>];
      expect(topology.queues[logicalOf(declared.targetQueueName) as keyof typeof topology.queues].consumer).toBe(
        service,
      );
      expect(busArn).toBe(names.busArn(logicalOf(declared.busName)));
      expect(queueArn).toBe(names.queueArn(logicalOf(declared.targetQueueName)));
      expect(JSON.stringify(toEventPattern(args.pattern))).toBe(declared.eventPattern);
    }
  });

  it("links are least privilege: each service references only the shared resources it uses, by their deterministic names", () => {
    const linked = (service: string) =>
      of(apps[service]!, "Queue.get").concat(
        ...["SnsTopic", "Bus", "Dynamo", "Bucket", "Email"].map((k) => of(apps[service]!, `${k}.get`)),
      );
    const refs = (service: string) => Object.fromEntries(linked(service).map((r) => [r.name, r.args[0]]));
    expect(refs("summarizer")).toEqual({
      SummarizerQueue: names.queueUrl("summarizer"),
      SummarizerDlq: names.dlqUrl("summarizer"),
      SummarizerInteractiveQueue: names.queueUrl("summarizerInteractive"),
      SummarizerInteractiveDlq: names.dlqUrl("summarizerInteractive"),
      EventsBus: names.bus("events"),
      JobsTable: names.table("jobs"),
      DocumentsBucket: names.bucket("documents"),
    });
    expect(Object.keys(refs("classifier")).sort()).toEqual([
      "ClassifierDlq",
      "ClassifierInteractiveDlq",
      "ClassifierInteractiveQueue",
      "ClassifierQueue",
      "DocumentsBucket",
      "EventsBus",
      "JobsTable",
    ]);
    // Ingestion's API reads every DLQ and redrives into its work queue (topology: uses.deadLetters).
    const everyQueue = Object.keys(topology.queues).flatMap((logical) => [
      `${cap(logical)}Queue`,
      `${cap(logical)}Dlq`,
    ]);
    expect(Object.keys(refs("ingestion")).sort()).toEqual(
      ["DocumentsBucket", "DocumentsTopic", "EventsBus", "JobsTable", ...everyQueue].sort(),
    );
    expect(refs("notifier")).toEqual({
      NotifierQueue: names.queueUrl("notifier"),
      NotifierDeliveriesQueue: names.queueUrl("notifierDeliveries"),
      NotifierDlq: names.dlqUrl("notifier"),
      NotifierDeliveriesDlq: names.dlqUrl("notifierDeliveries"),
      NotificationsTable: names.table("notifications"),
      // Read to check every announcement against its job or run (a forged event announces nothing).
      JobsTable: names.table("jobs"),
      Email: "notifications@example.com",
    });
    // Every function of a service gets the same links, and nothing beyond them.
    for (const service of SERVICES) {
      const functions = [
        ...of(apps[service]!, "Queue.subscribe").map((s) => s.args[0]),
        ...of(apps[service]!, "ApiGatewayV2.route").map((r) => r.args[1]),
      ] as { link: { componentName: string }[] }[];
      const uses: ServiceDeployment["uses"] = topology.services[service].uses;
      const expected = [...Object.keys(refs(service)), ...(uses.apiKey ? ["QuireApiKey"] : [])].sort();
      for (const fn of functions) expect(fn.link.map((l) => l.componentName).sort()).toEqual(expected);
    }
  });

  it("only the stages may call Bedrock, and only the configured model", () => {
    for (const service of SERVICES) {
      const [fn] = of(apps[service]!, "Queue.subscribe")[0]!.args as [{ permissions: unknown[] }];
      const bedrock = "bedrock" in topology.services[service].uses;
      expect(fn.permissions).toEqual(
        bedrock
          ? [
              {
                actions: ["bedrock:InvokeModel"],
                resources: [
                  `arn:aws:bedrock:${RECORDED_REGION}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0`,
                ],
              },
            ]
          : [],
      );
    }
  });

  it("ingestion and the notifier serve their HTTP API from one function each; the API key is a secret linked to them alone", () => {
    for (const service of SERVICES) {
      const routes = of(apps[service]!, "ApiGatewayV2.route");
      const declared = topology.services[service] as { api?: { handler: string } };
      expect(routes.map((r) => [r.name, (r.args[1] as { handler: string }).handler])).toEqual(
        declared.api ? [["$default", declared.api.handler]] : [],
      );
      expect(of(apps[service]!, "Secret").map((s) => s.name)).toEqual(declared.api ? ["QuireApiKey"] : []);
    }
  });

  it("every handler a function names is exported by the service's lambda.ts", () => {
    for (const service of SERVICES) {
      const source = readFileSync(new URL(`../../services/${service}/src/lambda.ts`, import.meta.url), "utf8");
      const deployment = topology.services[service] as {
        api?: { handler: string };
        consumers: readonly { handler: string }[];
      };
      for (const { handler } of [...deployment.consumers, ...(deployment.api ? [deployment.api] : [])]) {
        const [module, name] = handler.split(".");
        expect(module).toBe("src/lambda");
        expect(source).toMatch(new RegExp(`export const ${name} =`));
      }
    }
  });

  it("under sst dev, the notifier (running on the laptop) may reach loopback, and `quire listen` starts beside it", async () => {
    const dev = (await runSstConfig("../../services/notifier/sst.config.ts", "alice", DEPLOY_ENV, { dev: true }))
      .recorded;
    const [listen] = of(dev, "DevCommand");
    expect(argsOf(listen!).dev).toMatchObject({ command: "npx quire listen", autostart: true });
    expect(argsOf(listen!).environment).toMatchObject({
      QUIRE_NOTIFIER_URL: "recorded:ApiGatewayV2:NotifierApi:url",
      QUIRE_API_KEY: "recorded:Secret:QuireApiKey:value",
    });
    const [fn] = of(dev, "Queue.subscribe")[0]!.args as [{ environment: Record<string, string> }];
    expect(fn.environment.QUIRE_WEBHOOK_ALLOWLIST).toBe("localhost,127.0.0.0/8,::1");
    // Deployed for real, webhooks reach public addresses only.
    const [deployed] = of(apps.notifier!, "Queue.subscribe")[0]!.args as [{ environment: Record<string, string> }];
    expect(deployed.environment.QUIRE_WEBHOOK_ALLOWLIST).toBeUndefined();
    expect(of(apps.notifier!, "DevCommand")).toEqual([]);
  });

  it("a service's app creates no shared resource (queues, topics, tables stay with the infra app)", () => {
    for (const service of SERVICES) {
      for (const kind of ["Queue", "SnsTopic", "Bus", "Dynamo", "Bucket", "Email"])
        expect(of(apps[service]!, kind)).toEqual([]);
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
