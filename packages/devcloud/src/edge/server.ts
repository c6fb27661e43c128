import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AwsServiceError, writeJsonError } from "./aws-errors.ts";
import { signingScopeOf } from "./signing-service.ts";

/** A route the edge sends a signing service's requests to: an in-process backend or a proxy. */
export type EdgeHandler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => Promise<void>;

/** Largest request body the edge buffers: above S3's single-PUT needs of Quire's 10 MiB documents. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface EdgeOptions {
  host: string;
  port: number;
  /** Signing service name (sqs, sns, s3, dynamodb, events, bedrock, ses...) → handler. */
  services: Record<string, EdgeHandler>;
  /** devcloud's own endpoints under /_quire/ (health, outbox, emulator settings). */
  admin: (req: IncomingMessage, body: Buffer, res: ServerResponse) => Promise<boolean>;
}

/**
 * One endpoint for every AWS client: each request goes to the emulator of the service its
 * SigV4 credential scope names, so `AWS_ENDPOINT_URL` alone points a whole SDK at devcloud.
 */
export async function startEdge(options: EdgeOptions): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    readBody(req)
      .then(async (body) => {
        if (req.url?.startsWith("/_quire/") && (await options.admin(req, body, res))) return;
        const scope = signingScopeOf(req, body);
        const handler = scope && options.services[scope.service];
        if (!handler) {
          throw new AwsServiceError(
            "UnrecognizedClientException",
            scope
              ? `devcloud does not emulate the AWS service "${scope.service}" (it serves ${Object.keys(options.services).join(", ")}).`
              : "devcloud could not tell which AWS service this request is for: sign it with SigV4 (any credentials work).",
          );
        }
        await handler(req, body, res);
      })
      .catch((error: unknown) => {
        if (res.headersSent) return void res.destroy();
        const status = (error as { status?: number }).status;
        writeJsonError(
          res,
          error instanceof AwsServiceError ? error : new AwsServiceError("InternalFailure", String((error as Error)?.message ?? error), status ?? 500),
        );
      });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new AwsServiceError("RequestEntityTooLarge", `Request body over ${MAX_BODY_BYTES} bytes.`, 413)));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
