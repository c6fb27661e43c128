import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import type { PublishBatchCommandInput, PublishCommandInput } from "@aws-sdk/client-sns";
import { loadConfig, type QuireConfig } from "@quire/config";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import { createAwsClients, type AwsClients } from "@quire/pipeline";
import { createLogger, startLocalRunner, type Consumer, type LocalRunner } from "@quire/runtime";
import { createIngestion } from "../../src/service.ts";

export const API_KEY = "test-api-key-0123456789";
const quiet = createLogger({ test: true }, () => {});

/** One SNS call ingestion made, as the SDK was asked to send it. */
export type SnsCall =
  | { command: "PublishCommand"; input: PublishCommandInput }
  | { command: "PublishBatchCommand"; input: PublishBatchCommandInput };

export interface Ingestion {
  devcloud: Devcloud;
  config: QuireConfig;
  clients: AwsClients;
  api: string;
  /** Every Publish / PublishBatch ingestion's SNS client sent, in order. */
  snsCalls: SnsCall[];
  /** Faults to inject into the next AWS calls (each counts down as it fires). */
  faults: { publish: number; jobWrite: number };
  request(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** Runs ingestion's own queue consumer (Document Submitted from the bus), with its DLQ. */
  startConsumer(): void;
  stop(): Promise<void>;
}

/**
 * Ingestion as it runs locally: devcloud, ingestion's HTTP app on a real port, all through the
 * real SDK clients. An SDK middleware records what goes to SNS and injects faults (SNS down,
 * a failed job write), so specs see exactly what AWS would have been sent.
 */
export async function startIngestion(options: { env?: Record<string, string> } = {}): Promise<Ingestion> {
  const devcloud = await startDevcloud({ port: 0, log: () => {} });
  // acme.dms: the upstream system the specs submit on the bus as (QUIRE_EXTERNAL_SOURCES).
  const env = { ...devcloud.env, QUIRE_API_KEY: API_KEY, QUIRE_EXTERNAL_SOURCES: "acme.dms", ...options.env };
  const config = loadConfig(env);
  const clients = createAwsClients(env);
  const snsCalls: SnsCall[] = [];
  const faults = { publish: 0, jobWrite: 0 };

  clients.sns.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName;
      if (command === "PublishCommand" || command === "PublishBatchCommand") {
        if (faults.publish > 0) {
          faults.publish--;
          throw Object.assign(new Error("SNS is unavailable"), { name: "InternalErrorException" });
        }
        snsCalls.push({ command, input: structuredClone(args.input) } as SnsCall);
      }
      return next(args);
    },
    { step: "initialize", name: "recordSnsCalls" },
  );
  // After lib-dynamodb has marshalled the item, so the key is an AttributeValue.
  clients.dynamodb.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { Item?: { pk?: { S?: string } } };
      if (faults.jobWrite > 0 && input.Item?.pk?.S?.startsWith("JOB#")) {
        faults.jobWrite--;
        throw Object.assign(new Error("DynamoDB is unavailable"), { name: "InternalServerError" });
      }
      return next(args);
    },
    { step: "build", name: "failJobWrites" },
  );

  const ingestion = createIngestion(config, clients, { apiKey: API_KEY });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: ingestion.app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let runner: LocalRunner | undefined;

  return {
    devcloud,
    config,
    clients,
    api,
    snsCalls,
    faults,
    request: (path, init = {}) => send(api, path, init),
    startConsumer() {
      runner ??= startLocalRunner(ingestion.externalSubmissions as Consumer<never>, {
        sqs: clients.sqs,
        queueUrl: config.QUIRE_QUEUE_INGESTION_URL,
        deadLetterQueueUrl: config.QUIRE_DLQ_INGESTION_URL,
        waitTimeSeconds: 1,
        log: quiet,
      });
    },
    async stop() {
      await runner?.stop();
      server.close();
      await devcloud.stop();
    },
  };
}

function send(base: string, path: string, init: RequestInit & { json?: unknown }): Promise<Response> {
  const { json, headers, ...rest } = init;
  return fetch(`${base}${path}`, {
    ...rest,
    headers: {
      "x-api-key": API_KEY,
      ...(json !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    ...(json !== undefined ? { body: JSON.stringify(json), method: rest.method ?? "POST" } : {}),
  });
}

/** Bytes SNS counts toward a message's size: the body, plus each attribute's name, data type and value. */
export function snsEntryBytes(entry: {
  Message?: string | undefined;
  MessageAttributes?:
    | Record<
        string,
        { DataType?: string | undefined; StringValue?: string | undefined; BinaryValue?: Uint8Array | undefined }
      >
    | undefined;
}): number {
  let bytes = Buffer.byteLength(entry.Message ?? "", "utf8");
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    bytes += Buffer.byteLength(name, "utf8") + Buffer.byteLength(value.DataType ?? "", "utf8");
    bytes +=
      value.StringValue !== undefined
        ? Buffer.byteLength(value.StringValue, "utf8")
        : (value.BinaryValue?.byteLength ?? 0);
  }
  return bytes;
}

/** The jobIds of every document.submitted ingestion published (single or batched). */
export function publishedJobIds(calls: SnsCall[]): string[] {
  return calls.flatMap((call) =>
    call.command === "PublishCommand"
      ? [(JSON.parse(call.input.Message!) as { jobId: string }).jobId]
      : (call.input.PublishBatchRequestEntries ?? []).map(
          (entry) => (JSON.parse(entry.Message!) as { jobId: string }).jobId,
        ),
  );
}

export const errorOf = async (response: Response) => {
  const body = (await response.json()) as { error?: { code: string; message: string; details?: unknown } };
  return { status: response.status, code: body.error?.code, message: body.error?.message ?? "" };
};
