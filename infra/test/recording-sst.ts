/**
 * Recording stand-ins for SST's globals (`sst`, `aws`, `$util`, `$app`, `$config`): every
 * component a config creates, references (`.get`) or calls a static on is recorded with its
 * arguments and resource options, so a test can run a real sst.config.ts and read back what it
 * wires — without AWS or Pulumi. A stand-in's outputs are strings naming it
 * (`recorded:<kind>:<name>:arn`), so an input taken from another component shows which.
 */
export interface Recorded {
  /**
   * `Queue`, `Queue.get`, `Queue.subscribe`, `ApiGatewayV2.route`, `ComponentResource`, `aws.sns.TopicSubscription`…
   */
  kind: string;
  /** The component's name, or the first argument of a static call. */
  name: string;
  /** Every argument after the name, less the resource options. */
  args: unknown[];
  /** The component it was created under (its `parent` option), by name. */
  parent?: string;
  /** Its `dependsOn` option, by name. */
  dependsOn?: string[];
  /** Its other resource options (`deleteBeforeReplace`…). */
  options?: Record<string, unknown>;
}

/** What SST's and Pulumi's resource options carry that the stand-ins read. */
interface Options {
  parent?: unknown;
  dependsOn?: unknown;
  [option: string]: unknown;
}
/** The name a stand-in was created under (what `parent` and `dependsOn` are recorded as). */
const RECORDED_NAME = Symbol("recorded name");
const nameOf = (resource: unknown) => {
  const name = (resource as { [RECORDED_NAME]?: string } | undefined)?.[RECORDED_NAME];
  if (name === undefined) throw new Error(`a resource option names something that is not a recorded resource`);
  return name;
};

export const RECORDED_ACCOUNT = "123456789012";
export const RECORDED_REGION = "eu-west-1";

export function createRecordingSst(stage: string, dev = false) {
  const recorded: Recorded[] = [];
  const record = (kind: string, name: string, args: unknown[], opts?: Options) => {
    const { parent, dependsOn, ...options } = opts ?? {};
    recorded.push({
      kind,
      name,
      args,
      ...(parent === undefined ? {} : { parent: nameOf(parent) }),
      ...(dependsOn === undefined ? {} : { dependsOn: [dependsOn].flat().map(nameOf) }),
      ...(Object.keys(options).length ? { options } : {}),
    });
  };

  /** An SST component: constructor, `.get`, and the statics and methods Quire's renderers use. */
  const component = (kind: string) =>
    class {
      readonly arn: string;
      readonly url: string;
      readonly name: string;
      /** The name it was created or referenced under: what `Resource.<name>` would be when linked. */
      readonly componentName: string;
      readonly value: string;
      readonly [RECORDED_NAME]: string;
      readonly #args: unknown;
      constructor(name: string, args?: unknown, opts?: Options) {
        this.componentName = name;
        this[RECORDED_NAME] = name;
        this.#args = args;
        this.value = `recorded:${kind}:${name}:value`;
        this.arn = `recorded:${kind}:${name}:arn`;
        this.url = `recorded:${kind}:${name}:url`;
        this.name = `recorded:${kind}:${name}:name`;
        if (!(args as { ref?: boolean } | undefined)?.ref) record(kind, name, args === undefined ? [] : [args], opts);
      }
      static get(name: string, id: unknown) {
        record(`${kind}.get`, name, [id]);
        return new this(name, { ref: true });
      }
      /** `Queue.subscribe(queueArn, subscriber, args, opts)`. */
      static subscribe(queueArn: unknown, subscriber: unknown, args?: unknown, opts?: Options) {
        record(`${kind}.subscribe`, String(queueArn), [subscriber, args], opts);
      }
      static subscribeQueue(name: string, ...args: unknown[]) {
        record(`${kind}.subscribeQueue`, name, args);
      }
      /** As SST's: the route is a component of its own, its options given by `transform.route.args`. */
      route(route: string, handler: unknown, args: Record<string, unknown> = {}) {
        const opts: Options = {};
        const transform = (this.#args as { transform?: { route?: { args?: unknown } } } | undefined)?.transform?.route
          ?.args;
        if (typeof transform === "function") transform(args, opts, route);
        record(`${kind}.route`, route, [this.componentName, handler, args], opts);
      }
    };

  const rawResource = (kind: string) =>
    class {
      readonly arn: string;
      readonly name: string;
      readonly dashboardName: string;
      readonly keyId: string;
      readonly [RECORDED_NAME]: string;
      constructor(name: string, args: unknown, opts?: Options) {
        this[RECORDED_NAME] = name;
        this.arn = `recorded:${kind}:${name}:arn`;
        this.name = `recorded:${kind}:${name}:name`;
        this.dashboardName = `recorded:${kind}:${name}:dashboardName`;
        this.keyId = `recorded:${kind}:${name}:keyId`;
        record(kind, name, [args], opts);
      }
    };

  /** Pulumi's own component (`$util.ComponentResource`): a parent for other resources, nothing created. */
  class ComponentResource {
    readonly [RECORDED_NAME]: string;
    readonly urn: string;
    constructor(type: string, name: string, args: unknown = {}, opts?: Options) {
      this[RECORDED_NAME] = name;
      this.urn = `recorded:ComponentResource:${name}:urn`;
      record("ComponentResource", name, [type, args], opts);
    }
  }

  const sst = {
    aws: {
      SnsTopic: component("SnsTopic"),
      Queue: component("Queue"),
      Bus: component("Bus"),
      Dynamo: component("Dynamo"),
      Bucket: component("Bucket"),
      Email: component("Email"),
      ApiGatewayV2: component("ApiGatewayV2"),
      Router: component("Router"),
      StaticSite: component("StaticSite"),
    },
    Secret: component("Secret"),
    x: { DevCommand: component("DevCommand") },
  };
  const aws = {
    getCallerIdentity: async () => ({ accountId: RECORDED_ACCOUNT }),
    getRegion: async () => ({ region: RECORDED_REGION }),
    cloudwatch: {
      MetricAlarm: rawResource("aws.cloudwatch.MetricAlarm"),
      Dashboard: rawResource("aws.cloudwatch.Dashboard"),
      EventBusPolicy: rawResource("aws.cloudwatch.EventBusPolicy"),
      EventRule: rawResource("aws.cloudwatch.EventRule"),
      EventTarget: rawResource("aws.cloudwatch.EventTarget"),
    },
    sns: { TopicSubscription: rawResource("aws.sns.TopicSubscription") },
    sqs: { QueuePolicy: rawResource("aws.sqs.QueuePolicy") },
    kms: { Key: rawResource("aws.kms.Key"), Alias: rawResource("aws.kms.Alias") },
    iam: { Role: rawResource("aws.iam.Role"), RolePolicy: rawResource("aws.iam.RolePolicy") },
    s3: { BucketLifecycleConfiguration: rawResource("aws.s3.BucketLifecycleConfiguration") },
  };
  const globals = {
    sst,
    aws,
    $util: { ComponentResource },
    $app: { stage, name: "recorded" },
    $dev: dev,
    $config: (config: unknown) => config,
  };
  return { globals, recorded };
}

export interface SstConfig {
  app(input: { stage: string }): Record<string, unknown>;
  run(): Promise<unknown>;
}

/** Evaluate an sst.config.ts with the stand-ins as SST's globals; returns what it recorded. */
export async function runSstConfig(
  path: string,
  stage = "staging",
  env: Record<string, string> = {},
  options: { dev?: boolean } = {},
) {
  const { globals, recorded } = createRecordingSst(stage, options.dev);
  const global = globalThis as Record<string, unknown>;
  const saved = { ...process.env };
  Object.assign(global, globals);
  Object.assign(process.env, env);
  try {
    const { default: config } = (await import(/* @vite-ignore */ new URL(path, import.meta.url).href)) as {
      default: SstConfig;
    };
    const outputs = await config.run();
    return { config, outputs, recorded };
  } finally {
    for (const key of Object.keys(globals)) delete global[key];
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}
