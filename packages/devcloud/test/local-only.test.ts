import { createHmac } from "node:crypto";
import { request as httpRequest, createServer } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientResolvedConfig,
} from "@aws-sdk/client-s3";
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDynamoDb } from "../src/emulators/dynalite.ts";
import { startSnsSqsS3 } from "../src/emulators/fauxqs.ts";
import type { Devcloud } from "../src/index.ts";
import { receiveAll, startTestDevcloud } from "./support/devcloud.ts";

/** An address of this machine that is not loopback: where the rest of the network would knock. */
const lanAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && !a.internal && a.family === "IPv4")?.address;
if (!lanAddress)
  console.warn("local-only.test.ts: no non-loopback IPv4 interface, so the reachability specs are skipped.");

/** Resolves "connected" or the connection error's code (ECONNREFUSED when nothing listens there). */
function knock(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve("timeout");
    });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** A plain HTTP/1.1 request with the headers as given (fetch will not send a Host of our choosing). */
function raw(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, method: options.method ?? "GET", path: options.path ?? "/", headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

describe.skipIf(!lanAddress)("devcloud's listeners are on loopback only", () => {
  it("fauxqs (SNS, SQS, S3) listens on 127.0.0.1, though it asks for 0.0.0.0, and only there", async () => {
    // A listener that really is on every interface, started while fauxqs starts: it shows the
    // knock on the LAN address does reach a wildcard listener, and that the rewrite is fauxqs's alone.
    const control = createServer();
    const [fauxqs] = await Promise.all([
      startSnsSqsS3({ dataDir: undefined, region: "us-east-1" }),
      new Promise<void>((resolve) => control.listen({ port: 0, host: "0.0.0.0" }, resolve)),
    ]);
    try {
      expect(await knock("127.0.0.1", fauxqs.port)).toBe("connected");
      expect(await knock(lanAddress!, fauxqs.port)).toBe("ECONNREFUSED");
      expect((control.address() as AddressInfo).address).toBe("0.0.0.0");
      expect(await knock(lanAddress!, (control.address() as AddressInfo).port)).toBe("connected");
    } finally {
      await fauxqs.stop();
      control.close();
    }
  });

  it("dynalite (DynamoDB) listens on 127.0.0.1 only", async () => {
    const dynamodb = await startDynamoDb({ dataDir: undefined });
    try {
      expect(await knock("127.0.0.1", dynamodb.port)).toBe("connected");
      expect(await knock(lanAddress!, dynamodb.port)).toBe("ECONNREFUSED");
    } finally {
      await dynamodb.stop();
    }
  });

  it("the edge listens where the user explicitly asks, and answers requests addressed there", async () => {
    const onLan = await startTestDevcloud({ topology: false, host: lanAddress! });
    try {
      expect(onLan.endpoint).toBe(`http://${lanAddress}:${onLan.port}`);
      const sqs = new SQSClient(onLan.clientConfig);
      expect((await sqs.send(new ListQueuesCommand({}))).$metadata.httpStatusCode).toBe(200);
      sqs.destroy();
      expect(await knock("127.0.0.1", onLan.port)).toBe("ECONNREFUSED");
    } finally {
      await onLan.stop();
    }
    const everywhere = await startTestDevcloud({ topology: false, host: "0.0.0.0" });
    try {
      // Advertised on loopback; this machine's own addresses are names it answers to, others are not.
      expect(everywhere.endpoint).toBe(`http://127.0.0.1:${everywhere.port}`);
      const health = (host: string) => raw(everywhere.port, { path: "/_quire/health", headers: { host } });
      expect((await health(`${lanAddress}:${everywhere.port}`)).status).toBe(200);
      expect((await health(`rebind.attacker.example:${everywhere.port}`)).status).toBe(403);
    } finally {
      await everywhere.stop();
    }
  });

  it("the edge listens on 127.0.0.1 unless told otherwise", async () => {
    const devcloud = await startTestDevcloud({ topology: false });
    try {
      expect(devcloud.endpoint).toBe(`http://127.0.0.1:${devcloud.port}`);
      expect(await knock("127.0.0.1", devcloud.port)).toBe("connected");
      expect(await knock(lanAddress!, devcloud.port)).toBe("ECONNREFUSED");
    } finally {
      await devcloud.stop();
    }
  });
});

describe("the edge serves this machine's programs, not web pages", () => {
  let devcloud: Devcloud;
  let sqs: SQSClient;
  let sns: SNSClient;
  let topicArn: string;
  let queueUrl: string;

  beforeAll(async () => {
    devcloud = await startTestDevcloud({ topology: false });
    sqs = new SQSClient(devcloud.clientConfig);
    sns = new SNSClient(devcloud.clientConfig);
    ({ TopicArn: topicArn } = (await sns.send(new CreateTopicCommand({ Name: "browser-target" }))) as {
      TopicArn: string;
    });
    ({ QueueUrl: queueUrl } = (await sqs.send(new CreateQueueCommand({ QueueName: "browser-target" }))) as {
      QueueUrl: string;
    });
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
    );
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: "sqs",
        Endpoint: Attributes!.QueueArn!,
        Attributes: { RawMessageDelivery: "true" },
      }),
    );
  });
  afterAll(async () => {
    sqs.destroy();
    sns.destroy();
    await devcloud.stop();
  });

  /** Messages in the subscribed queue, visible or not, read through the SDK. */
  async function queued(): Promise<number> {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return Number(Attributes!.ApproximateNumberOfMessages) + Number(Attributes!.ApproximateNumberOfMessagesNotVisible);
  }

  /** An SNS client whose every request also carries `headers`, as a browser's would. */
  function snsSending(headers: Record<string, string>): SNSClient {
    const client = new SNSClient({ ...devcloud.clientConfig, maxAttempts: 1 });
    client.middlewareStack.add(
      (next) => (args) => {
        Object.assign((args.request as { headers: Record<string, string> }).headers, headers);
        return next(args);
      },
      { step: "build" },
    );
    return client;
  }

  describe("every AWS request must be signed", () => {
    it("refuses an unsigned JSON-protocol call (SQS ListQueues) with 403 MissingAuthenticationTokenException", async () => {
      const response = await fetch(devcloud.endpoint, {
        method: "POST",
        headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.ListQueues" },
        body: "{}",
      });
      expect(response.status).toBe(403);
      expect(response.headers.get("x-amzn-errortype")).toBe("MissingAuthenticationTokenException");
      expect(await response.json()).toEqual({
        __type: "MissingAuthenticationTokenException",
        message: "Missing Authentication Token",
      });
    });

    it("refuses an unsigned query-protocol call (SNS) with the XML MissingAuthenticationToken", async () => {
      const response = await fetch(devcloud.endpoint, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "Action=ListTopics&Version=2010-03-31",
      });
      expect(response.status).toBe(403);
      const body = await response.text();
      expect(body).toContain("<Code>MissingAuthenticationToken</Code>");
      expect(body).toContain("<Message>Missing Authentication Token</Message>");
    });

    it("refuses an unsigned S3 read", async () => {
      expect((await fetch(`${devcloud.endpoint}/some-bucket/some-key`)).status).toBe(403);
    });

    it("refuses an Authorization header that is not SigV4", async () => {
      const response = await fetch(devcloud.endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/x-amz-json-1.0",
          "x-amz-target": "AmazonSQS.ListQueues",
          authorization: "Bearer hello",
        },
        body: "{}",
      });
      expect(response.status).toBe(403);
      expect(response.headers.get("x-amzn-errortype")).toBe("IncompleteSignatureException");
    });

    it("serves the SDK's signed calls, with any credentials, and /_quire/ endpoints without a signature", async () => {
      expect((await sqs.send(new ListQueuesCommand({}))).QueueUrls).toContain(queueUrl);
      const anyCredentials = new SQSClient({
        ...devcloud.clientConfig,
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
      });
      expect((await anyCredentials.send(new ListQueuesCommand({}))).QueueUrls).toContain(queueUrl);
      anyCredentials.destroy();
      expect((await fetch(`${devcloud.endpoint}/_quire/health`)).status).toBe(200);
    });
  });

  describe("browsers", () => {
    it("refuses a cross-site form POST (Origin of another site) and publishes nothing", async () => {
      await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
      // What <form method=post action=http://127.0.0.1:4566/> on any page sends.
      const form = new URLSearchParams({ Action: "Publish", TopicArn: topicArn, Message: "from a web page" });
      const response = await fetch(devcloud.endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          origin: "https://attacker.example",
          "sec-fetch-site": "cross-site",
        },
        body: form.toString(),
      });
      expect(response.status).toBe(403);
      expect(((await response.json()) as { __type: string }).__type).toBe("CrossOriginRequestRefused");

      // Even signed (a page cannot sign, but the Origin check does not lean on that).
      const fromPage = snsSending({ origin: "https://attacker.example" });
      const refused = await fromPage
        .send(new PublishCommand({ TopicArn: topicArn, Message: "signed" }))
        .catch((e) => e);
      expect(refused.$metadata?.httpStatusCode).toBe(403);
      fromPage.destroy();

      const local = snsSending({ origin: "http://localhost:3000" }); // another local dev server's page
      const alsoRefused = await local
        .send(new PublishCommand({ TopicArn: topicArn, Message: "local" }))
        .catch((e) => e);
      expect(alsoRefused.$metadata?.httpStatusCode).toBe(403);
      local.destroy();

      const sandboxed = snsSending({ origin: "null" });
      const nullRefused = await sandboxed
        .send(new PublishCommand({ TopicArn: topicArn, Message: "null" }))
        .catch((e) => e);
      expect(nullRefused.$metadata?.httpStatusCode).toBe(403);
      sandboxed.destroy();

      expect(await queued()).toBe(0);
    });

    it("refuses Sec-Fetch-Site cross-site and same-site, on /_quire/ endpoints too", async () => {
      for (const site of ["cross-site", "same-site"]) {
        const response = await fetch(`${devcloud.endpoint}/_quire/faults`, {
          method: "PUT",
          headers: { "content-type": "application/json", "sec-fetch-site": site },
          body: JSON.stringify({ rules: [{ service: "sqs", error: "Throttling" }] }),
        });
        expect(response.status).toBe(403);
      }
      const fromPage = await fetch(`${devcloud.endpoint}/_quire/resources`, {
        headers: { origin: "https://attacker.example" },
      });
      expect(fromPage.status).toBe(403);
      expect(await fromPage.text()).not.toContain("AWS_SECRET_ACCESS_KEY");
      expect(devcloud.faults.state().active).toBe(false);
    });

    it("serves a request from devcloud's own origin, and a URL typed into the address bar", async () => {
      await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
      const own = snsSending({ origin: `http://127.0.0.1:${devcloud.port}`, "sec-fetch-site": "same-origin" });
      await own.send(new PublishCommand({ TopicArn: topicArn, Message: "own origin" }));
      own.destroy();
      expect((await receiveAll(sqs, queueUrl, 1)).map((m) => m.Body)).toEqual(["own origin"]);
      const typed = await fetch(`${devcloud.endpoint}/_quire/outbox`, { headers: { "sec-fetch-site": "none" } });
      expect(typed.status).toBe(200);
    });
  });

  describe("DNS rebinding", () => {
    it("refuses a request whose Host is not a loopback name, on AWS and /_quire/ endpoints alike", async () => {
      for (const path of ["/_quire/resources", "/_quire/health"]) {
        const response = await raw(devcloud.port, {
          path,
          headers: { host: `rebind.attacker.example:${devcloud.port}` },
        });
        expect(response.status).toBe(403);
        expect(response.body).toContain("InvalidHostHeader");
        expect(response.body).not.toContain("AWS_SECRET_ACCESS_KEY");
      }
      const sqsCall = await raw(devcloud.port, {
        method: "POST",
        headers: {
          host: "192.168.1.20",
          "content-type": "application/x-amz-json-1.0",
          "x-amz-target": "AmazonSQS.ListQueues",
          authorization:
            "AWS4-HMAC-SHA256 Credential=devcloud/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00",
        },
        body: "{}",
      });
      expect(sqsCall.status).toBe(403);
      expect(sqsCall.body).toContain("InvalidHostHeader");
      // 0.0.0.0 reaches this machine's listeners from some browsers; it is not a name devcloud answers to.
      expect((await raw(devcloud.port, { path: "/_quire/health", headers: { host: "0.0.0.0" } })).status).toBe(403);
    });

    it("answers the loopback names: localhost, *.localhost (QueueUrls), 127.0.0.0/8, [::1]", async () => {
      for (const host of [
        `localhost:${devcloud.port}`,
        `sqs.us-east-1.localhost:${devcloud.port}`,
        "127.0.0.1",
        `127.1.2.3:${devcloud.port}`,
        `[::1]:${devcloud.port}`,
      ]) {
        expect((await raw(devcloud.port, { path: "/_quire/health", headers: { host } })).status, host).toBe(200);
      }
    });

    it("answers a name the user allowed, and only that one", async () => {
      const allowing = await startTestDevcloud({ topology: false, allowedHosts: ["devbox.lan"] });
      try {
        const health = (host: string) => raw(allowing.port, { path: "/_quire/health", headers: { host } });
        expect((await health(`devbox.lan:${allowing.port}`)).status).toBe(200);
        expect((await health(`other.lan:${allowing.port}`)).status).toBe(403);
      } finally {
        await allowing.stop();
      }
    });
  });
});

interface Presigner {
  presign(
    request: {
      method: string;
      protocol: string;
      hostname: string;
      port: number;
      path: string;
      query: Record<string, string>;
      headers: Record<string, string>;
    },
    options: { expiresIn?: number; signingDate?: Date },
  ): Promise<{ query: Record<string, string | string[] | null> }>;
}

describe("presigned S3 URLs are checked as AWS checks them", () => {
  let devcloud: Devcloud;
  let s3: S3Client;
  const bucket = "presigned";

  beforeAll(async () => {
    devcloud = await startTestDevcloud({ topology: false });
    s3 = new S3Client({ ...devcloud.clientConfig, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "report.txt", Body: "the report" }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "secret.txt", Body: "another object" }));
  });
  afterAll(async () => {
    s3.destroy();
    await devcloud.stop();
  });

  /**
   * A presigned URL as @aws-sdk/s3-request-presigner makes one: the S3 client's own SigV4 signer,
   * the payload UNSIGNED-PAYLOAD (hoisted into X-Amz-Content-Sha256).
   */
  async function presign(
    method: "GET" | "PUT",
    key: string,
    options: { expiresIn?: number; signingDate?: Date; client?: S3Client } = {},
  ): Promise<string> {
    const client = options.client ?? s3;
    const signer = (await (client.config as S3ClientResolvedConfig).signer()) as unknown as Presigner;
    const { query } = await signer.presign(
      {
        method,
        protocol: "http:",
        hostname: "127.0.0.1",
        port: devcloud.port,
        path: `/${bucket}/${key}`,
        query: { "x-id": method === "GET" ? "GetObject" : "PutObject" },
        headers: { host: `127.0.0.1:${devcloud.port}`, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      },
      { expiresIn: options.expiresIn ?? 900, ...(options.signingDate ? { signingDate: options.signingDate } : {}) },
    );
    const search = Object.entries(query)
      .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`)
      .join("&");
    return `${devcloud.endpoint}/${bucket}/${key}?${search}`;
  }

  const withParam = (url: string, name: string, value: string) => {
    const parsed = new URL(url);
    parsed.searchParams.set(name, value);
    return parsed.href;
  };

  async function s3Error(response: Response) {
    const body = await response.text();
    return {
      status: response.status,
      code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1],
      message: /<Message>([^<]*)<\/Message>/.exec(body)?.[1],
      body,
    };
  }

  it("serves a valid presigned GET and PUT", async () => {
    const get = await fetch(await presign("GET", "report.txt"));
    expect(get.status).toBe(200);
    expect(await get.text()).toBe("the report");

    const put = await fetch(await presign("PUT", "uploaded.txt"), { method: "PUT", body: "uploaded by URL" });
    expect(put.status).toBe(200);
    const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "uploaded.txt" }));
    expect(await stored.Body!.transformToString()).toBe("uploaded by URL");
  });

  it("refuses an expired URL: 403 AccessDenied, Request has expired", async () => {
    const url = await presign("GET", "report.txt", { expiresIn: 60, signingDate: new Date(Date.now() - 2 * 3600_000) });
    const error = await s3Error(await fetch(url));
    expect(error).toMatchObject({ status: 403, code: "AccessDenied", message: "Request has expired" });
    expect(error.body).toContain("<X-Amz-Expires>60</X-Amz-Expires>");
    expect(error.body).toMatch(/<Expires>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ<\/Expires><ServerTime>/);
  });

  it("refuses a tampered URL: 403 SignatureDoesNotMatch", async () => {
    const url = await presign("GET", "report.txt", { expiresIn: 60 });
    // Another object with the same signature.
    expect(await s3Error(await fetch(url.replace("/report.txt?", "/secret.txt?")))).toMatchObject({
      status: 403,
      code: "SignatureDoesNotMatch",
    });
    // A longer life than was signed.
    expect(await s3Error(await fetch(withParam(url, "X-Amz-Expires", "3600")))).toMatchObject({
      status: 403,
      code: "SignatureDoesNotMatch",
    });
    // A signature that is not even hex.
    expect(await s3Error(await fetch(withParam(url, "X-Amz-Signature", "nothex")))).toMatchObject({
      status: 403,
      code: "SignatureDoesNotMatch",
    });
    // The GET URL used to PUT.
    expect((await fetch(url, { method: "PUT", body: "overwritten" })).status).toBe(403);
    const report = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "report.txt" }));
    expect(await report.Body!.transformToString()).toBe("the report");
  });

  it("refuses X-Amz-Expires over AWS's seven days, and malformed or missing parameters", async () => {
    const url = await presign("GET", "report.txt");
    expect(await s3Error(await fetch(withParam(url, "X-Amz-Expires", "604801")))).toMatchObject({
      status: 400,
      code: "AuthorizationQueryParametersError",
      message: "X-Amz-Expires must be less than a week (in seconds) that is 604800",
    });
    expect(await s3Error(await fetch(withParam(url, "X-Amz-Expires", "soon")))).toMatchObject({
      status: 400,
      code: "AuthorizationQueryParametersError",
    });
    const withoutDate = new URL(url);
    withoutDate.searchParams.delete("X-Amz-Date");
    expect(await s3Error(await fetch(withoutDate))).toMatchObject({
      status: 400,
      code: "AuthorizationQueryParametersError",
    });
    expect(await s3Error(await fetch(withParam(url, "X-Amz-Credential", "devcloud/garbage")))).toMatchObject({
      status: 400,
      code: "AuthorizationQueryParametersError",
    });
  });

  it("checks S3's older SigV2 presigned URLs (AWSAccessKeyId, Expires, Signature) the same way", async () => {
    const v2 = (key: string, expires: number, secret = "devcloud") => {
      const path = `/${bucket}/${key}`;
      const signature = createHmac("sha1", secret).update(`GET\n\n\n${expires}\n${path}`).digest("base64");
      return `${devcloud.endpoint}${path}?AWSAccessKeyId=devcloud&Expires=${expires}&Signature=${encodeURIComponent(signature)}`;
    };
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    const valid = await fetch(v2("report.txt", inAnHour));
    expect(valid.status).toBe(200);
    expect(await valid.text()).toBe("the report");
    expect(await s3Error(await fetch(v2("report.txt", inAnHour - 7200)))).toMatchObject({
      status: 403,
      code: "AccessDenied",
      message: "Request has expired",
    });
    expect(await s3Error(await fetch(v2("report.txt", inAnHour, "another secret")))).toMatchObject({
      status: 403,
      code: "SignatureDoesNotMatch",
    });
    expect(
      await s3Error(await fetch(v2("report.txt", inAnHour).replace("/report.txt?", "/secret.txt?"))),
    ).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
  });

  it("refuses a URL presigned with credentials other than devcloud's: 403 InvalidAccessKeyId", async () => {
    const other = new S3Client({
      ...devcloud.clientConfig,
      forcePathStyle: true,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const error = await s3Error(await fetch(await presign("GET", "report.txt", { client: other })));
    expect(error).toMatchObject({ status: 403, code: "InvalidAccessKeyId" });
    other.destroy();
  });
});
