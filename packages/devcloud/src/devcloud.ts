import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { renderAwsApiResources, topology as quireTopology, type Topology } from "@quire/topology";
import { createBedrockBackend, type BedrockBackend, type BedrockEmulatorOptionsInput } from "./bedrock/index.ts";
import { DEVCLOUD_CREDENTIALS } from "./edge/authentication.ts";
import { AwsServiceError, parseJsonObject, writeJson, writeJsonError } from "./edge/aws-errors.ts";
import { forward } from "./edge/proxy.ts";
import { startEdge } from "./edge/server.ts";
import { snsRoute, sqsRoute } from "./edge/sns-sqs.ts";
import { startDynamoDb } from "./emulators/dynalite.ts";
import { createDynamoDbRoute } from "./emulators/dynamodb-transactions.ts";
import { startSnsSqsS3 } from "./emulators/fauxqs.ts";
import { createEventBridgeBackend, type EventBridgeBackend } from "./eventbridge/backend.ts";
import {
  createDuplicateDeliverer,
  createFaultInjector,
  parseFaultConfig,
  type FaultConfigInput,
  type FaultControl,
} from "./faults/index.ts";
import { createKmsBackend, type KmsBackend } from "./kms/backend.ts";
import {
  noResources,
  provisionResources,
  resourceEnvironment,
  type AwsClientSettings,
  type ProvisionedResources,
} from "./provision.ts";
import { createSesBackend } from "./ses/backend.ts";
import { readStateFile, writeStateFile } from "./state-file.ts";
import { s3BatchStorage } from "./bedrock/batch/s3-storage.ts";
import { isLargeObjectPut, putObjectInParts } from "./edge/s3-large-put.ts";
import type { BatchJob } from "./bedrock/batch/jobs.ts";
import type { Outbox } from "./ses/outbox.ts";
import { createRequestCounter, type RequestCounter } from "./edge/request-counter.ts";
import { startSqsMoveTasks } from "./sqs-move-tasks/index.ts";

/** fauxqs fixes the account id; EventBridge ARNs use the same so targets resolve. */
export const DEVCLOUD_ACCOUNT = "000000000000";
export const DEFAULT_DEVCLOUD_PORT = 4566;

export interface DevcloudOptions {
  /** Edge port; 0 picks a free one (tests). Default 4566, or QUIRE_DEVCLOUD_PORT. */
  port?: number;
  /**
   * The address the edge listens on: 127.0.0.1 unless asked otherwise. devcloud has no real
   * authentication, so anything else lets whoever reaches that address use it. The emulators
   * behind the edge always listen on 127.0.0.1.
   */
  host?: string;
  /** Host names, besides loopback ones and `host`, that requests may address devcloud by. */
  allowedHosts?: readonly string[];
  /** Where state persists across restarts. Omit (or undefined) to keep everything in memory. */
  dataDir?: string | undefined;
  region?: string;
  /** Which topology to provision on start (default: Quire's own); `false` provisions nothing. */
  topology?: Topology | false;
  /** Physical-name prefix for provisioned resources (default: the topology's app name). */
  prefix?: string;
  bedrock?: BedrockEmulatorOptionsInput;
  /** Fault injection at the edge (src/faults/config.ts); applied once the topology is provisioned. */
  faults?: FaultConfigInput;
  log?: (line: string) => void;
}

export interface Devcloud {
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  /** Settings for any AWS SDK v3 client: `new SQSClient(devcloud.clientConfig)`. */
  readonly clientConfig: AwsClientSettings;
  /** What was provisioned from the topology, by logical name. */
  readonly resources: ProvisionedResources;
  /** AWS_ENDPOINT_URL, credentials, and one QUIRE_* variable per provisioned resource. */
  readonly env: Record<string, string>;
  readonly bedrock: BedrockBackend;
  readonly eventBridge: EventBridgeBackend;
  /** KMS's keys and aliases (the material never leaves devcloud but through Decrypt / GenerateDataKey). */
  readonly kms: KmsBackend;
  readonly outbox: Outbox;
  /** The edge's fault injection, also at GET / PUT / DELETE /_quire/faults. */
  readonly faults: FaultControl;
  /** Every AWS request served, by `service:Operation` (also at GET /_quire/stats, as `requests`). */
  readonly requests: RequestCounter;
  stop(): Promise<void>;
}

/**
 * Start the local cloud: SNS/SQS/S3 (fauxqs), DynamoDB (dynalite), EventBridge, Bedrock runtime,
 * SESv2 and KMS behind one edge endpoint, then provision the topology through the real SDK clients.
 */
export async function startDevcloud(options: DevcloudOptions = {}): Promise<Devcloud> {
  const region = options.region ?? "us-east-1";
  const host = options.host ?? "127.0.0.1";
  const dataDir = options.dataDir;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (options.faults !== undefined) parseFaultConfig(options.faults, "faults"); // fail before starting anything

  const snsSqsS3 = await startSnsSqsS3({ dataDir, region });
  const sqsMoveTasks = startSqsMoveTasks({ fauxqs: snsSqsS3, region, dataDir, log });
  const dynamodb = await startDynamoDb({ dataDir });
  const eventBridge = createEventBridgeBackend({
    file: dataDir ? join(dataDir, "eventbridge.json") : undefined,
    account: DEVCLOUD_ACCOUNT,
    region,
    log,
    async deliverToQueue(queueArn, body, { messageGroupId }) {
      const [, , , queueRegion, , queueName] = queueArn.split(":");
      try {
        snsSqsS3.sendMessage(queueName!, body, {
          region: queueRegion || region,
          ...(messageGroupId ? { messageGroupId, messageDeduplicationId: crypto.randomUUID() } : {}),
        });
        return true;
      } catch {
        return false;
      }
    },
  });
  // Batch inference reads and writes devcloud's S3 through the edge, known once it listens.
  let edgeClientConfig: AwsClientSettings | undefined;
  const batchFile = dataDir ? join(dataDir, "bedrock-batch-jobs.json") : undefined;
  const bedrock = createBedrockBackend(options.bedrock, {
    batch: {
      region,
      account: DEVCLOUD_ACCOUNT,
      storage: s3BatchStorage(() => {
        if (!edgeClientConfig) throw new Error("devcloud's edge is not listening yet");
        return edgeClientConfig;
      }),
      announce: (detailType, detail, resources) =>
        eventBridge.emitServiceEvent({ source: "aws.bedrock", detailType, detail, resources }),
      ...(batchFile ? { save: (jobs) => writeStateFile(batchFile, jobs) } : {}),
    },
  });
  const ses = createSesBackend({ outboxDir: dataDir ? join(dataDir, "outbox") : undefined });
  const kms = createKmsBackend({
    file: dataDir ? join(dataDir, "kms.json") : undefined,
    account: DEVCLOUD_ACCOUNT,
    region,
  });

  const requests = createRequestCounter();
  const faults = createFaultInjector({ duplicates: createDuplicateDeliverer(snsSqsS3, log), log });
  const toSnsSqsS3 = (req: IncomingMessage, body: Buffer, res: ServerResponse) =>
    forward(snsSqsS3.port, req, body, res);
  // A PutObject over what one request to fauxqs may carry arrives unread (see the edge): in parts.
  const toS3 = (req: IncomingMessage, body: Buffer, res: ServerResponse) =>
    body.length === 0 && isLargeObjectPut(req)
      ? putObjectInParts(snsSqsS3.port, req, res)
      : forward(snsSqsS3.port, req, body, res);
  const edge = await startEdge({
    host,
    port: options.port ?? DEFAULT_DEVCLOUD_PORT,
    ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
    services: requests.wrap(
      faults.wrap({
        sqs: sqsRoute(snsSqsS3.port, sqsMoveTasks.handle),
        sns: snsRoute(snsSqsS3.port),
        s3: toS3,
        sts: toSnsSqsS3,
        dynamodb: createDynamoDbRoute(dynamodb.port),
        events: eventBridge.handle,
        bedrock: bedrock.handle,
        ses: ses.handle,
        kms: kms.handle,
      }),
    ),
    admin: (req, body, res) => handleAdmin(req, body, res),
  });

  // Listening on every interface, devcloud is still addressed by loopback from this machine.
  const advertised = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  const endpoint = `http://${advertised.includes(":") ? `[${advertised}]` : advertised}:${edge.port}`;
  const clientConfig: AwsClientSettings = {
    endpoint,
    region,
    credentials: { ...DEVCLOUD_CREDENTIALS },
  };
  edgeClientConfig = clientConfig;
  // A previous run's jobs (the data dir): the finished ones stay listed, the others start over.
  if (batchFile) bedrock.batchJobs?.restore(readStateFile<BatchJob[]>(batchFile, "Bedrock batch jobs") ?? []);

  async function stop() {
    await edge.close();
    // Movers finish the batch they are in while fauxqs still answers, then stop.
    await sqsMoveTasks.close().catch(() => {});
    await Promise.allSettled([
      snsSqsS3.stop(),
      dynamodb.stop(),
      bedrock.close?.(),
      eventBridge.close?.(),
      ses.close?.(),
    ]);
  }

  // The edge answers while the topology is still being provisioned (provisioning goes through
  // it); until then health says "starting" so nobody uses resources that do not exist yet.
  let ready = false;
  let resources: ProvisionedResources;
  try {
    const topology = options.topology ?? quireTopology;
    resources =
      topology === false
        ? noResources()
        : await provisionResources(clientConfig, renderAwsApiResources(topology, options.prefix ?? topology.app));
  } catch (error) {
    await stop();
    throw error;
  }
  const env = resourceEnvironment(clientConfig, resources);
  // Faults start after provisioning, so a config never fails devcloud's own setup calls.
  if (options.faults !== undefined) faults.configure(options.faults);
  ready = true;

  async function backendHealth(): Promise<Record<string, "up" | "down">> {
    const ping = async (port: number) => {
      try {
        await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
        return "up" as const;
      } catch {
        return "down" as const;
      }
    };
    const [fauxqsState, dynamoState] = await Promise.all([ping(snsSqsS3.port), ping(dynamodb.port)]);
    return {
      sns: fauxqsState,
      sqs: fauxqsState,
      s3: fauxqsState,
      dynamodb: dynamoState,
      events: "up",
      bedrock: "up",
      ses: "up",
      kms: "up",
    };
  }

  async function handleAdmin(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? "/", "http://edge");
    const path = url.pathname;
    try {
      if (await faults.handleAdmin(req, body, res)) {
        // GET / PUT / DELETE /_quire/faults
      } else if (!ready && (path === "/_quire/health" || path === "/_quire/resources")) {
        writeJson(res, 503, { status: "starting", message: "devcloud is provisioning the topology" });
      } else if (req.method === "GET" && path === "/_quire/health") {
        const services = await backendHealth();
        const healthy = Object.values(services).every((s) => s === "up");
        writeJson(res, healthy ? 200 : 503, { status: healthy ? "ok" : "degraded", services });
      } else if (req.method === "GET" && path === "/_quire/resources") {
        writeJson(res, 200, { endpoint, region, resources, env });
      } else if (req.method === "GET" && path === "/_quire/outbox") {
        const to = url.searchParams.get("to");
        writeJson(res, 200, { messages: ses.outbox.list(to ? { to } : {}) });
      } else if (req.method === "DELETE" && path === "/_quire/outbox") {
        ses.outbox.clear();
        writeJson(res, 200, {});
      } else if (req.method === "GET" && path.startsWith("/_quire/outbox/")) {
        const message = ses.outbox.get(decodeURIComponent(path.slice("/_quire/outbox/".length)));
        if (!message) throw new AwsServiceError("NotFound", "No such message in the outbox.", 404);
        writeJson(res, 200, message);
      } else if (req.method === "GET" && path === "/_quire/stats") {
        writeJson(res, 200, {
          bedrock: bedrock.stats(),
          eventBridge: eventBridge.stats(),
          requests: requests.counts(),
        });
      } else if (req.method === "PUT" && path.startsWith("/_quire/bedrock/models/")) {
        const modelId = decodeURIComponent(path.slice("/_quire/bedrock/models/".length));
        bedrock.configureModel(modelId, parseJsonObject(body, "ValidationException"));
        writeJson(res, 200, { modelId });
      } else {
        return false;
      }
    } catch (error) {
      writeJsonError(
        res,
        error instanceof AwsServiceError ? error : new AwsServiceError("ValidationException", (error as Error).message),
      );
    }
    return true;
  }

  return {
    endpoint,
    port: edge.port,
    region,
    clientConfig,
    resources,
    env,
    bedrock,
    eventBridge,
    kms,
    outbox: ses.outbox,
    faults: { configure: faults.configure, clear: faults.clear, state: faults.state },
    requests,
    stop,
  };
}
