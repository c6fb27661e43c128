import { eventSourceMaximumConcurrency } from "@quire/bedrock";
import { SST_API_KEY_LINK } from "@quire/config";
import { componentName, type ConsumerDeclaration, type FunctionDeclaration, type Topology } from "@quire/topology";
import { sharedNames, type DeploymentTarget } from "./names.ts";
import { functionGrants, rolePath, type FunctionRole } from "./permissions.ts";
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
  // Set per stage in this service's app: `npx sst secret set QuireApiKey <key> --stage <stage>`.
  // The only link: a secret's link grants nothing (its value travels encrypted with the function).
  const apiKey = deployment.uses.apiKey ? new sst.Secret(SST_API_KEY_LINK) : undefined;

  // No links to the shared resources: SST would grant every function of the service `sqs:*`,
  // `dynamodb:*`, `s3:*`… on each of them. Each function gets its own grants instead, and the
  // names of those resources alone as the variables the config loader reads (see permissions.ts).
  const grantsOf = (role: FunctionRole) =>
    functionGrants(topology, service, role, {
      names,
      target,
      modelId: settings.QUIRE_MODEL_ID,
      emailSender: deployment.uses.email ? requireEmailSender(settings) : undefined,
    });
  const environment: Record<string, $util.Input<string>> = {
    ...settings.forwarded,
    QUIRE_MODEL_ID: settings.QUIRE_MODEL_ID,
    QUIRE_BEDROCK_RPM: String(settings.QUIRE_BEDROCK_RPM),
    QUIRE_BEDROCK_LATENCY_MS: String(settings.QUIRE_BEDROCK_LATENCY_MS),
    ...(settings.QUIRE_API_PUBLIC_URL ? { QUIRE_API_PUBLIC_URL: settings.QUIRE_API_PUBLIC_URL } : {}),
  };

  const functionArgs = (declaration: FunctionDeclaration, role: FunctionRole): sst.aws.FunctionArgs => {
    const grants = grantsOf(role);
    return {
      handler: declaration.handler,
      runtime: "nodejs24.x",
      timeout: `${declaration.timeoutSeconds} seconds`,
      memory: `${declaration.memoryMb} MB`,
      link: apiKey ? [apiKey] : [],
      permissions: grants.permissions,
      environment: { ...environment, ...grants.environment },
      transform: {
        // Active tracing: Lambda samples each invocation into X-Ray.
        function: { tracingConfig: { mode: "Active" } },
        // The service's roles share a path: the bus policy lets only them put the service's source.
        role: { path: rolePath(topology, target.stage, service) },
      },
    };
  };

  // The HTTP API first: its URL is what this service's emails and confirmation links point at.
  // Every variable is set before any function is created, so all of them get the same ones.
  const api = deployment.api ? new sst.aws.ApiGatewayV2(componentName(service, "Api")) : undefined;
  if (api && deployment.api) environment[deployment.api.publicUrlVariable] = api.url;
  // Under `sst dev` the functions run on this laptop, so a webhook may reach it (when the service sends them).
  if (options.dev && deployment.dev?.webhookAllowlist)
    environment.QUIRE_WEBHOOK_ALLOWLIST = deployment.dev.webhookAllowlist;

  // Every path to the one function: the service's own router (Hono) answers 404s and errors.
  if (api && deployment.api) api.route("$default", functionArgs(deployment.api, { kind: "api" }));

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
    sst.aws.Queue.subscribe(names.queueArn(consumer.queue), functionArgs(consumer, { kind: "consumer", consumer }), {
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
