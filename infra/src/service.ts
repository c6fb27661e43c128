import { eventSourceMaximumConcurrency } from "@quire/bedrock";
import { SST_API_KEY_LINK } from "@quire/config";
import { componentName, type ConsumerDeclaration, type FunctionDeclaration, type Topology } from "@quire/topology";
import { sharedNames, type DeploymentTarget } from "./names.ts";
import { requireEmailSender, type DeploySettings } from "./settings.ts";

/**
 * One service's app: its functions, the event sources that feed them from its queues, the SNS
 * subscriptions and EventBridge rules that fill those queues, and its HTTP API — all against the
 * shared infrastructure, which it finds by name. Deploying it touches nothing of another service.
 */
export function renderService(
  topology: Topology,
  service: string,
  target: DeploymentTarget,
  settings: DeploySettings & { forwarded: Record<string, string> },
  options: { dev?: boolean } = {},
) {
  const deployment = topology.services[service];
  if (!deployment) throw new Error(`topology declares no service ${service}`);
  const names = sharedNames(topology, target);
  const consumed = deployment.consumers.map((consumer) => consumer.queue);
  // Dead letters are read from every DLQ and redriven into its work queue.
  const redriven = deployment.uses.deadLetters ? Object.keys(topology.queues) : [];
  // Set per stage in this service's app: `npx sst secret set QuireApiKey <key> --stage <stage>`.
  const apiKey = deployment.uses.apiKey ? new sst.Secret(SST_API_KEY_LINK) : undefined;

  // The shared resources this service touches, referenced (not created) by name. Each becomes
  // a link: its name reaches the code through `Resource`, and IAM grants the function access to
  // that resource alone.
  const links: unknown[] = [
    ...(deployment.uses.topics ?? []).map((logical) =>
      sst.aws.SnsTopic.get(componentName(logical, "Topic"), names.topicArn(logical)),
    ),
    ...[...consumed, ...(deployment.uses.queues ?? []), ...redriven]
      .filter((logical, i, all) => all.indexOf(logical) === i)
      .map((logical) => sst.aws.Queue.get(componentName(logical, "Queue"), names.queueUrl(logical))),
    // The host dead-letters a permanent failure itself, with its reason, into the queue's DLQ.
    ...[...consumed, ...redriven]
      .filter((logical, i, all) => all.indexOf(logical) === i)
      .map((logical) => sst.aws.Queue.get(componentName(logical, "Dlq"), names.dlqUrl(logical))),
    ...(deployment.uses.buses ?? []).map((logical) =>
      sst.aws.Bus.get(componentName(logical, "Bus"), names.bus(logical)),
    ),
    ...(deployment.uses.tables ?? []).map((logical) =>
      sst.aws.Dynamo.get(componentName(logical, "Table"), names.table(logical)),
    ),
    ...(deployment.uses.buckets ?? []).map((logical) =>
      sst.aws.Bucket.get(componentName(logical, "Bucket"), names.bucket(logical)),
    ),
    ...(deployment.uses.email ? [sst.aws.Email.get("Email", requireEmailSender(settings))] : []),
    ...(apiKey ? [apiKey] : []),
  ];
  const permissions = deployment.uses.bedrock
    ? // Converse is authorized as bedrock:InvokeModel, on the configured model only.
      [{ actions: ["bedrock:InvokeModel"], resources: [names.modelArn(settings.QUIRE_MODEL_ID)] }]
    : [];
  const environment: Record<string, $util.Input<string>> = {
    ...settings.forwarded,
    QUIRE_MODEL_ID: settings.QUIRE_MODEL_ID,
    QUIRE_BEDROCK_RPM: String(settings.QUIRE_BEDROCK_RPM),
    QUIRE_BEDROCK_LATENCY_MS: String(settings.QUIRE_BEDROCK_LATENCY_MS),
    ...(settings.QUIRE_API_PUBLIC_URL ? { QUIRE_API_PUBLIC_URL: settings.QUIRE_API_PUBLIC_URL } : {}),
  };

  const functionArgs = (declaration: FunctionDeclaration): sst.aws.FunctionArgs => ({
    handler: declaration.handler,
    runtime: "nodejs24.x",
    timeout: `${declaration.timeoutSeconds} seconds`,
    memory: `${declaration.memoryMb} MB`,
    link: links,
    permissions,
    environment: { ...environment },
    // Active tracing: Lambda samples each invocation into X-Ray.
    transform: { function: { tracingConfig: { mode: "Active" } } },
  });

  // The HTTP API first: its URL is what this service's emails and confirmation links point at.
  // Every variable is set before any function is created, so all of them get the same ones.
  const api = deployment.api ? new sst.aws.ApiGatewayV2(componentName(service, "Api")) : undefined;
  if (api && deployment.api) environment[deployment.api.publicUrlVariable] = api.url;
  // Under `sst dev` the functions run on this laptop, so a webhook may reach it (when the service sends them).
  if (options.dev && deployment.dev?.webhookAllowlist)
    environment.QUIRE_WEBHOOK_ALLOWLIST = deployment.dev.webhookAllowlist;

  // Every path to the one function: the service's own router (Hono) answers 404s and errors.
  if (api && deployment.api) api.route("$default", functionArgs(deployment.api));

  if (options.dev && deployment.dev && api) {
    // The service's dev command (the notifier's `quire listen`), started beside `sst dev`.
    new sst.x.DevCommand("Listen", {
      dev: { command: deployment.dev.command, title: deployment.dev.title, autostart: true },
      environment: {
        [deployment.dev.apiUrlVariable]: api.url,
        ...(apiKey ? { QUIRE_API_KEY: apiKey.value } : {}),
        ...(settings.QUIRE_API_PUBLIC_URL ? { QUIRE_API_URL: settings.QUIRE_API_PUBLIC_URL } : {}),
      },
    });
  }

  const stagesSharingModel = Object.values(topology.services).filter((declared) => declared.uses.bedrock).length;
  const maximumConcurrency = (consumer: ConsumerDeclaration) =>
    consumer.maximumConcurrency === "bedrock-quota"
      ? eventSourceMaximumConcurrency({
          requestsPerMinute: settings.QUIRE_BEDROCK_RPM,
          meanLatencyMs: settings.QUIRE_BEDROCK_LATENCY_MS,
          stagesSharingModel,
        })
      : consumer.maximumConcurrency;
  for (const consumer of deployment.consumers) {
    sst.aws.Queue.subscribe(names.queueArn(consumer.queue), functionArgs(consumer), {
      batch: {
        size: consumer.batchSize,
        ...(consumer.batchWindowSeconds ? { window: `${consumer.batchWindowSeconds} seconds` as const } : {}),
        // The host reports failed records (batchItemFailures); only those are redelivered.
        partialResponses: true,
      },
      transform: { eventSourceMapping: { scalingConfig: { maximumConcurrency: maximumConcurrency(consumer) } } },
    });
  }

  // What fills this service's queues belongs to it: changing its filter or pattern redeploys it alone.
  for (const [logical, subscription] of Object.entries(topology.subscriptions)) {
    if (!consumed.includes(subscription.queue)) continue;
    sst.aws.SnsTopic.subscribeQueue(
      componentName(logical, "Subscription"),
      names.topicArn(subscription.topic),
      names.queueArn(subscription.queue),
      {
        filter: subscription.filterPolicy,
        transform: {
          subscription: {
            rawMessageDelivery: subscription.rawMessageDelivery,
            filterPolicyScope: subscription.filterPolicyScope,
          },
        },
      },
    );
  }
  for (const [logical, rule] of Object.entries(topology.rules)) {
    if (!consumed.includes(rule.targetQueue)) continue;
    sst.aws.Bus.subscribeQueue(
      componentName(logical, "Rule"),
      names.busArn(rule.bus),
      names.queueArn(rule.targetQueue),
      {
        pattern: rule.pattern as sst.aws.BusSubscriberArgs["pattern"],
        transform: { rule: { description: rule.description } },
      },
    );
  }

  return { api: api?.url };
}
