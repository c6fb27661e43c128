/**
 * Recording stand-ins for SST's globals (`sst`, `aws`, `$app`, `$config`): every component a
 * config creates, references (`.get`) or calls a static on is recorded with its arguments, so a
 * test can run a real sst.config.ts and read back what it wires — without AWS or Pulumi.
 */
export interface Recorded {
  /** `Queue`, `Queue.get`, `Queue.subscribe`, `SnsTopic.subscribeQueue`, `ApiGatewayV2.route`, `aws.cloudwatch.MetricAlarm`… */
  kind: string;
  /** The component's name, or the first argument of a static call. */
  name: string;
  /** Every argument after the name. */
  args: unknown[];
}

export const RECORDED_ACCOUNT = "123456789012";
export const RECORDED_REGION = "eu-west-1";

export function createRecordingSst(stage: string, dev = false) {
  const recorded: Recorded[] = [];
  const record = (kind: string, name: string, args: unknown[]) => recorded.push({ kind, name, args });

  /** An SST component: constructor, `.get`, and the statics and methods Quire's renderers use. */
  const component = (kind: string) =>
    class {
      readonly arn: string;
      readonly url: string;
      readonly name: string;
      /** The name it was created or referenced under: what `Resource.<name>` would be when linked. */
      readonly componentName: string;
      readonly value: string;
      constructor(name: string, ...args: unknown[]) {
        this.componentName = name;
        this.value = `recorded:${kind}:${name}:value`;
        this.arn = `recorded:${kind}:${name}:arn`;
        this.url = `recorded:${kind}:${name}:url`;
        this.name = `recorded:${kind}:${name}:name`;
        if (!(args[0] as { ref?: boolean } | undefined)?.ref) record(kind, name, args);
      }
      static get(name: string, id: unknown) {
        record(`${kind}.get`, name, [id]);
        return new this(name, { ref: true });
      }
      static subscribe(...args: unknown[]) {
        record(`${kind}.subscribe`, String(args[0]), args.slice(1));
      }
      static subscribeQueue(name: string, ...args: unknown[]) {
        record(`${kind}.subscribeQueue`, name, args);
      }
      route(route: string, ...args: unknown[]) {
        record(`${kind}.route`, route, [this.componentName, ...args]);
      }
    };

  const rawResource = (kind: string) =>
    class {
      readonly arn: string;
      readonly dashboardName: string;
      readonly keyId: string;
      constructor(name: string, ...args: unknown[]) {
        this.arn = `recorded:${kind}:${name}:arn`;
        this.dashboardName = `recorded:${kind}:${name}:dashboardName`;
        this.keyId = `recorded:${kind}:${name}:keyId`;
        record(kind, name, args);
      }
    };

  const sst = {
    aws: {
      SnsTopic: component("SnsTopic"),
      Queue: component("Queue"),
      Bus: component("Bus"),
      Dynamo: component("Dynamo"),
      Bucket: component("Bucket"),
      Email: component("Email"),
      ApiGatewayV2: component("ApiGatewayV2"),
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
    },
    sns: { TopicSubscription: rawResource("aws.sns.TopicSubscription") },
    kms: { Key: rawResource("aws.kms.Key"), Alias: rawResource("aws.kms.Alias") },
  };
  const globals = { sst, aws, $app: { stage, name: "recorded" }, $dev: dev, $config: (config: unknown) => config };
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
