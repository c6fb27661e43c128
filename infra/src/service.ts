import { eventSourceMaximumConcurrency } from "@quire/bedrock";
import {
  componentName,
  stagesSharingModelOf,
  toEventPattern,
  type ConsumerDeclaration,
  type FunctionDeclaration,
  type Topology,
} from "@quire/topology";
import { sharedNames, type DeploymentTarget } from "./names.ts";
import { functionGrants, queuePolicy, rolePath, type FunctionRole } from "./permissions.ts";
import { requireEmailSender, type DeploySettings } from "./settings.ts";
import type { renderSharedInfrastructure } from "./shared.ts";

/** What the shared infrastructure renders: the components a service's component depends on. */
export type SharedInfrastructure = ReturnType<typeof renderSharedInfrastructure>;

/** The component every resource of a service is a child of: what `sst deploy --target` names. */
export const serviceComponentName = (service: string) => componentName(service, "Service");
/** The Pulumi type of that component. */
export const SERVICE_COMPONENT_TYPE = "quire:aws:Service";
/** Where a service's code lives: its handlers are paths from the repository root, where the app is. */
export const serviceDirectory = (service: string) => `services/${service}`;

/**
 * The shared resources a service's components name (by their deterministic names, see
 * names.ts), by logical name: what its functions are granted and told about, the queues they
 * consume and their DLQs, the topics and buses whose subscriptions and rules fill those queues.
 */
export function sharedResourcesOf(topology: Topology, service: string) {
  const deployment = topology.services[service];
  if (!deployment) throw new Error(`topology declares no service ${service}`);
  const { uses } = deployment;
  const consumed = deployment.consumers.map((consumer) => consumer.queue);
  const everyQueue = Object.keys(topology.queues);
  const unique = (names: readonly string[]) => [...new Set(names)];
  const subscriptions = Object.values(topology.subscriptions).filter((s) => consumed.includes(s.queue));
  const rules = Object.values(topology.rules).filter((r) => consumed.includes(r.targetQueue));
  return {
    topics: unique([...(uses.topics ?? []), ...subscriptions.map((s) => s.topic)]),
    queues: unique([...consumed, ...(uses.queues ?? []), ...(uses.deadLetters ? everyQueue : [])]),
    deadLetterQueues: unique([...consumed, ...(uses.deadLetters ? everyQueue : [])]),
    buses: unique([...(uses.buses ?? []), ...rules.map((r) => r.bus)]),
    tables: unique(uses.tables ?? []),
    buckets: unique(uses.buckets ?? []),
    keys: unique(uses.keys ?? []),
    email: uses.email === true,
  };
}

/**
 * The shared components a service's component depends on: everything {@link sharedResourcesOf}
 * names (a bus with its policy, a key with its alias). This is what orders one `sst deploy`:
 * Pulumi creates a component's children only once its dependencies exist, and the services name
 * the shared resources by strings, which carry no dependency of their own.
 */
export function sharedDependencies(
  topology: Topology,
  service: string,
  shared: SharedInfrastructure,
): $util.Resource[] {
  const used = sharedResourcesOf(topology, service);
  const pick = <T>(from: Record<string, T>, logical: string, what: string): T => {
    const component = from[logical];
    if (!component)
      throw new Error(`the ${service} service uses ${what} ${logical}, which the shared infrastructure lacks`);
    return component;
  };
  return [
    ...used.topics.map((l) => pick(shared.topics, l, "topic")),
    ...used.queues.map((l) => pick(shared.queues, l, "queue")),
    ...used.deadLetterQueues.map((l) => pick(shared.deadLetterQueues, l, "dead-letter queue")),
    ...used.buses.flatMap((l) => [pick(shared.buses, l, "bus"), pick(shared.busPolicies, l, "bus policy")]),
    ...used.tables.map((l) => pick(shared.tables, l, "table")),
    ...used.buckets.map((l) => pick(shared.buckets, l, "bucket")),
    ...used.keys.flatMap((l) => [pick(shared.keys, l, "key"), pick(shared.keyAliases, l, "key alias")]),
    ...(used.email ? [shared.email] : []),
  ];
}

/**
 * One service: its functions, the event sources that feed them from its queues, the SNS
 * subscriptions and EventBridge rules that fill those queues (with the queues' policies), and its
 * HTTP API — every one a child of the service's component, which depends on the shared resources
 * it uses. `sst deploy --target <Service>Service` deploys exactly these (Pulumi's
 * `--target-dependents`, which SST adds, takes a component's children with it) and nothing of
 * another service: no component outside this one takes an input from inside it.
 */
export function renderService(
  topology: Topology,
  service: string,
  target: DeploymentTarget,
  settings: DeploySettings & { forwarded: Record<string, string> },
  context: { shared: SharedInfrastructure; apiKey?: sst.Secret | undefined; dev?: boolean },
) {
  const deployment = topology.services[service];
  if (!deployment) throw new Error(`topology declares no service ${service}`);
  const names = sharedNames(topology, target);
  const consumed = deployment.consumers.map((consumer) => consumer.queue);
  // The app's one API key secret (`npx sst secret set QuireApiKey <key> --stage <stage>`).
  // The only link: a secret's link grants nothing (its value travels encrypted with the function).
  const { apiKey } = context;
  if (deployment.uses.apiKey && !apiKey) throw new Error(`the ${service} service uses the API key: pass the secret`);
  const linked = deployment.uses.apiKey && apiKey ? [apiKey] : [];

  const component = new $util.ComponentResource(
    SERVICE_COMPONENT_TYPE,
    serviceComponentName(service),
    {},
    { dependsOn: sharedDependencies(topology, service, context.shared) },
  );
  const parent = { parent: component };

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
      handler: `${serviceDirectory(service)}/${declaration.handler}`,
      runtime: "nodejs24.x",
      timeout: `${declaration.timeoutSeconds} seconds`,
      memory: `${declaration.memoryMb} MB`,
      link: linked,
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
  // Its routes are components of their own, which SST creates without a parent: the route
  // transform puts them under the service's component with the API.
  const api = deployment.api
    ? new sst.aws.ApiGatewayV2(
        componentName(service, "Api"),
        {
          transform: {
            route: {
              args: (_args, opts) => {
                opts.parent = component;
              },
            },
          },
        },
        parent,
      )
    : undefined;
  if (api && deployment.api) environment[deployment.api.publicUrlVariable] = api.url;
  // Under `sst dev` the functions run on this laptop, so a webhook may reach it (when the service sends them).
  if (context.dev && deployment.dev?.webhookAllowlist)
    environment.QUIRE_WEBHOOK_ALLOWLIST = deployment.dev.webhookAllowlist;

  // Every path to the one function: the service's own router (Hono) answers 404s and errors.
  if (api && deployment.api) api.route("$default", functionArgs(deployment.api, { kind: "api" }));

  if (context.dev && deployment.dev && api) {
    // The service's dev command (the notifier's `quire listen`), started beside `sst dev`, in the
    // app's directory (the repository root, where `npx quire` resolves).
    new sst.x.DevCommand(
      componentName(service, "Listen"),
      {
        dev: { command: deployment.dev.command, title: deployment.dev.title, autostart: true },
        environment: {
          [deployment.dev.apiUrlVariable]: api.url,
          ...(deployment.uses.apiKey && apiKey ? { QUIRE_API_KEY: apiKey.value } : {}),
          ...(settings.QUIRE_API_PUBLIC_URL ? { QUIRE_API_URL: settings.QUIRE_API_PUBLIC_URL } : {}),
        },
      },
      parent,
    );
  }

  const maximumConcurrency = (consumer: ConsumerDeclaration) =>
    consumer.maximumConcurrency === "bedrock-quota"
      ? eventSourceMaximumConcurrency({
          requestsPerMinute: settings.QUIRE_BEDROCK_RPM,
          meanLatencyMs: settings.QUIRE_BEDROCK_LATENCY_MS,
          stagesSharingModel: stagesSharingModelOf(topology),
        })
      : consumer.maximumConcurrency;
  for (const consumer of deployment.consumers) {
    sst.aws.Queue.subscribe(
      names.queueArn(consumer.queue),
      functionArgs(consumer, { kind: "consumer", consumer }),
      {
        batch: {
          size: consumer.batchSize,
          ...(consumer.batchWindowSeconds ? { window: `${consumer.batchWindowSeconds} seconds` as const } : {}),
          // The host reports failed records (batchItemFailures); only those are redelivered.
          partialResponses: true,
        },
        transform: { eventSourceMapping: { scalingConfig: { maximumConcurrency: maximumConcurrency(consumer) } } },
      },
      parent,
    );
  }

  // What fills this service's queues belongs to it: changing its filter or pattern redeploys it
  // alone. Plain AWS resources rather than SST's `SnsTopic.subscribeQueue` / `Bus.subscribeQueue`:
  // those take no resource options, so what they create could not be this component's children
  // (and Pulumi refuses to re-parent a resource in a transformation).
  for (const [logical, subscription] of Object.entries(topology.subscriptions)) {
    if (!consumed.includes(subscription.queue)) continue;
    new aws.sns.TopicSubscription(
      componentName(logical, "Subscription"),
      {
        topic: names.topicArn(subscription.topic),
        protocol: "sqs",
        endpoint: names.queueArn(subscription.queue),
        rawMessageDelivery: subscription.rawMessageDelivery,
        filterPolicy: JSON.stringify(subscription.filterPolicy),
        filterPolicyScope: subscription.filterPolicyScope,
      },
      parent,
    );
  }
  for (const [logical, rule] of Object.entries(topology.rules)) {
    if (!consumed.includes(rule.targetQueue)) continue;
    const eventRule = new aws.cloudwatch.EventRule(
      componentName(logical, "Rule"),
      {
        // Named as devcloud names it: the queue's policy names its ARN.
        name: names.rule(logical),
        eventBusName: names.bus(rule.bus),
        description: rule.description,
        eventPattern: JSON.stringify(toEventPattern(rule.pattern)),
      },
      // A fixed name cannot be created before the old one is deleted.
      { ...parent, deleteBeforeReplace: true },
    );
    new aws.cloudwatch.EventTarget(
      componentName(logical, "Target"),
      { rule: eventRule.name, eventBusName: names.bus(rule.bus), arn: names.queueArn(rule.targetQueue) },
      parent,
    );
  }
  // Who may send to each queue it consumes: its topics and rules alone (one policy per queue).
  for (const queue of consumed) {
    const policy = queuePolicy(topology, names, queue);
    if (!policy) continue;
    new aws.sqs.QueuePolicy(
      componentName(queue, "QueuePolicy"),
      { queueUrl: names.queueUrl(queue), policy: JSON.stringify(policy) },
      parent,
    );
  }

  return { component, api: api?.url };
}
