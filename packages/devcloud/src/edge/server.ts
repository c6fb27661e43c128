import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttp2Server } from "node:http2";
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { AwsServiceError, writeJsonError } from "./aws-errors.ts";
import { createAuthenticationCheck, writeRefusal, type LocalCredentials } from "./authentication.ts";
import { createLocalOnlyCheck } from "./local-only.ts";
import { isLargeObjectPut } from "./s3-large-put.ts";
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
  /** Host names besides loopback (and the bound address) that requests may address the edge by. */
  allowedHosts?: readonly string[];
  /** The credentials presigned URLs are checked against (default: devcloud's own). */
  credentials?: readonly LocalCredentials[];
}

/**
 * One endpoint for every AWS client: each request goes to the emulator of the service its
 * SigV4 credential scope names, so `AWS_ENDPOINT_URL` alone points a whole SDK at devcloud.
 *
 * Before that, every request — devcloud's own /_quire/ endpoints included — must be addressed to
 * this machine and not come from a web page (src/edge/local-only.ts), and every request to a
 * service must be signed, presigned URLs with a valid, unexpired signature
 * (src/edge/authentication.ts). /_quire/ endpoints need no signature: the local tools and scripts
 * call them with plain HTTP.
 */
export async function startEdge(
  options: EdgeOptions,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const localOnly = createLocalOnlyCheck({
    host: options.host,
    port: () => (server.address() as AddressInfo).port,
    ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
  });
  const authenticate = createAuthenticationCheck(options.credentials ? { credentials: options.credentials } : {});
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const refused = localOnly(req);
    if (refused) {
      req.resume();
      writeJsonError(res, refused);
      return;
    }
    // A PutObject larger than the edge buffers goes to S3's route unread (an empty body), which
    // streams it in parts (s3-large-put.ts); every other request is read whole first.
    const streamed = isLargeObjectPut(req) && signingScopeOf(req, NO_BODY)?.service === "s3";
    (streamed ? Promise.resolve(NO_BODY) : readBody(req))
      .then(async (body) => {
        if (req.url?.startsWith("/_quire/") && (await options.admin(req, body, res))) return;
        const unauthenticated = authenticate(req, body);
        if (unauthenticated) return writeRefusal(req, body, res, unauthenticated);
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
          error instanceof AwsServiceError
            ? error
            : new AwsServiceError("InternalFailure", String((error as Error)?.message ?? error), status ?? 500),
        );
      });
  };
  const http1 = createServer(onRequest);
  http1.keepAliveTimeout = 65_000;
  http1.headersTimeout = 66_000;
  // Some SDK v3 clients (BedrockRuntimeClient) speak HTTP/2 by default, which over plain http
  // means h2c with prior knowledge. Node's compatibility API hands those requests over with the
  // same req/res surface, so every route serves both protocols.
  const http2 = createHttp2Server((req, res) =>
    onRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse),
  );
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.once("data", (first: Buffer) => {
      socket.pause();
      if (startsLikeHttp2(first)) {
        http2.emit("connection", replayed(socket, first));
      } else {
        socket.unshift(first);
        http1.emit("connection", socket);
        socket.resume();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  return { server, port: (server.address() as AddressInfo).port, close };
}

const NO_BODY = Buffer.alloc(0);

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

function startsLikeHttp2(first: Buffer): boolean {
  const length = Math.min(first.length, HTTP2_PREFACE.length);
  return first.subarray(0, length).equals(HTTP2_PREFACE.subarray(0, length));
}

/**
 * The socket as a stream that first yields the bytes already read from it. The HTTP/2 server
 * reads the socket's native handle directly, so `unshift` would not give those bytes back.
 */
function replayed(socket: Socket, first: Buffer): Duplex {
  const stream = new Duplex({
    read: () => void socket.resume(),
    write: (chunk, encoding, callback) => void socket.write(chunk, encoding, callback),
    final: (callback) => void socket.end(callback),
    destroy: (error, callback) => {
      socket.destroy(error ?? undefined);
      callback(error);
    },
  });
  stream.push(first);
  socket.on("data", (chunk) => {
    if (!stream.push(chunk)) socket.pause();
  });
  socket.on("end", () => stream.push(null));
  socket.on("error", (error) => stream.destroy(error));
  return stream;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new AwsServiceError("RequestEntityTooLarge", `Request body over ${MAX_BODY_BYTES} bytes.`, 413));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
