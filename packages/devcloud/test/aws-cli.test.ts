import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devcloud } from "../src/index.ts";
import { startTestDevcloud } from "./support/devcloud.ts";

const run = promisify(execFile);
/** The official AWS CLI is on the developer machines here; elsewhere these specs are skipped, loudly. */
const awsCli = await run("aws", ["--version"]).then(
  () => true,
  () => false,
);
if (!awsCli) console.warn("aws-cli.test.ts: the AWS CLI is not on PATH, so its specs are skipped.");

describe.skipIf(!awsCli)("the official AWS CLI against devcloud", () => {
  let devcloud: Devcloud;
  const aws = (...args: string[]) =>
    run("aws", ["--endpoint-url", devcloud.endpoint, "--region", "us-east-1", "--output", "json", ...args], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: "devcloud", AWS_SECRET_ACCESS_KEY: "devcloud", AWS_PAGER: "" },
    }).then(({ stdout }) => JSON.parse(stdout || "{}"));

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

  it("dynamodb list-tables lists the provisioned tables", async () => {
    const result = await aws("dynamodb", "list-tables");
    expect(result.TableNames).toEqual(expect.arrayContaining(["quire-jobs", "quire-notifications"]));
  });
});
