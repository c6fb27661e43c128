import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devcloud } from "../src/index.ts";
import { startTestDevcloud, temporaryDirectory } from "./support/devcloud.ts";

const run = promisify(execFile);
/** The official AWS CLI is on the developer machines here; elsewhere these specs are skipped, loudly. */
const awsCli = await run("aws", ["--version"]).then(
  () => true,
  () => false,
);
if (!awsCli) console.warn("aws-cli.test.ts: the AWS CLI is not on PATH, so its specs are skipped.");

describe.skipIf(!awsCli)("the official AWS CLI against devcloud", () => {
  let devcloud: Devcloud;
  const awsText = (...args: string[]) =>
    run("aws", ["--endpoint-url", devcloud.endpoint, "--region", "us-east-1", "--output", "json", ...args], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: "devcloud", AWS_SECRET_ACCESS_KEY: "devcloud", AWS_PAGER: "" },
    }).then(({ stdout }) => stdout);
  const aws = (...args: string[]) => awsText(...args).then((stdout) => JSON.parse(stdout || "{}"));

  beforeAll(async () => {
    devcloud = await startTestDevcloud();
  });
  afterAll(() => devcloud.stop());

  it("events test-event-pattern answers true for a matching event", async () => {
    const event = {
      id: "1",
      account: "000000000000",
      source: "quire.summarizer",
      time: "2026-11-23T00:00:00Z",
      region: "us-east-1",
      resources: [],
      "detail-type": "Job Completed",
      detail: {},
    };
    const result = await aws(
      "events",
      "test-event-pattern",
      "--event-pattern",
      '{"source":[{"prefix":"quire."}]}',
      "--event",
      JSON.stringify(event),
    );
    expect(result).toEqual({ Result: true });
  });

  it("sqs receive-message returns a message sent by the SDK", async () => {
    await new SQSClient(devcloud.clientConfig).send(
      new SendMessageCommand({ QueueUrl: devcloud.resources.queueUrls.ingestion, MessageBody: "from the sdk" }),
    );
    const result = await aws(
      "sqs",
      "receive-message",
      "--queue-url",
      devcloud.resources.queueUrls.ingestion!,
      "--wait-time-seconds",
      "2",
    );
    expect(result.Messages.map((m: { Body: string }) => m.Body)).toEqual(["from the sdk"]);
  });

  it("s3 presign (botocore's signers, SigV2 and SigV4) makes URLs devcloud serves, and refuses them tampered", async () => {
    const s3 = new S3Client({ ...devcloud.clientConfig, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: "cli-presign" }));
    await s3.send(new PutObjectCommand({ Bucket: "cli-presign", Key: "notes/a b.txt", Body: "presigned by the CLI" }));
    s3.destroy();
    const config = temporaryDirectory("aws-config");
    writeFileSync(join(config.path, "s3v4"), "[default]\ns3 =\n  signature_version = s3v4\n");
    try {
      // `aws s3 presign` writes SigV2 (AWSAccessKeyId, Signature, Expires) in us-east-1 by default.
      for (const [signer, configFile] of [
        ["AWSAccessKeyId=", "/dev/null"],
        ["X-Amz-Algorithm=AWS4-HMAC-SHA256", join(config.path, "s3v4")],
      ] as const) {
        const url = (
          await run(
            "aws",
            [
              "--endpoint-url",
              devcloud.endpoint,
              "--region",
              "us-east-1",
              "s3",
              "presign",
              "s3://cli-presign/notes/a b.txt",
            ],
            {
              env: {
                ...process.env,
                AWS_ACCESS_KEY_ID: "devcloud",
                AWS_SECRET_ACCESS_KEY: "devcloud",
                AWS_CONFIG_FILE: configFile,
              },
            },
          )
        ).stdout.trim();
        expect(url).toContain(signer);
        const served = await fetch(url);
        expect(served.status, url).toBe(200);
        expect(await served.text()).toBe("presigned by the CLI");
        // A longer life than was signed.
        const tampered = new URL(url);
        const expiry = tampered.searchParams.has("Expires") ? "Expires" : "X-Amz-Expires";
        tampered.searchParams.set(expiry, String(Number(tampered.searchParams.get(expiry)) + 600));
        const refused = await fetch(tampered);
        expect(refused.status).toBe(403);
        expect(await refused.text()).toContain("<Code>SignatureDoesNotMatch</Code>");
      }
    } finally {
      config.remove();
    }
  });

  it("dynamodb list-tables lists the provisioned tables", async () => {
    const result = await aws("dynamodb", "list-tables");
    expect(result.TableNames).toEqual(expect.arrayContaining(["quire-jobs", "quire-notifications"]));
  });
});
