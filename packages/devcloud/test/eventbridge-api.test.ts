import {
  CreateEventBusCommand,
  DeleteRuleCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  InvalidEventPatternException,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  ResourceNotFoundException,
  TestEventPatternCommand,
} from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devcloud } from "../src/index.ts";
import { receiveAll, startTestDevcloud } from "./support/devcloud.ts";

describe("EventBridge API", () => {
  let devcloud: Devcloud;
  let events: EventBridgeClient;
  let sqs: SQSClient;
  let serial = 0;

  beforeAll(async () => {
    devcloud = await startTestDevcloud({ topology: false });
    events = new EventBridgeClient(devcloud.clientConfig);
    sqs = new SQSClient(devcloud.clientConfig);
  });
  afterAll(() => devcloud.stop());

  /** A fresh bus, a rule with `pattern`, and an SQS queue as its target. */
  async function ruleToQueue(pattern: object, target: Record<string, unknown> = {}) {
    const name = `t${++serial}`;
    await events.send(new CreateEventBusCommand({ Name: `bus-${name}` }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `queue-${name}` }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
    await events.send(
      new PutRuleCommand({ Name: `rule-${name}`, EventBusName: `bus-${name}`, EventPattern: JSON.stringify(pattern) }),
    );
    const { FailedEntryCount } = await events.send(
      new PutTargetsCommand({
        Rule: `rule-${name}`,
        EventBusName: `bus-${name}`,
        Targets: [{ Id: "queue", Arn: Attributes!.QueueArn!, ...target }],
      }),
    );
    expect(FailedEntryCount).toBe(0);
    return { bus: `bus-${name}`, rule: `rule-${name}`, queueUrl: QueueUrl! };
  }

  const put = (bus: string, detailType: string, detail: object, source = "quire.summarizer") =>
    events.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: bus, Source: source, DetailType: detailType, Detail: JSON.stringify(detail) }],
      }),
    );

  it("delivers a matching event to the SQS target with the full envelope", async () => {
    const { bus, queueUrl } = await ruleToQueue({ source: [{ prefix: "quire." }], "detail-type": ["Job Completed"] });
    const { Entries, FailedEntryCount } = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: bus,
            Source: "quire.classifier",
            DetailType: "Job Completed",
            Detail: '{"jobId":"job_1"}',
            Resources: ["r1"],
          },
        ],
      }),
    );
    expect(FailedEntryCount).toBe(0);
    const [message] = await receiveAll(sqs, queueUrl, 1);
    const event = JSON.parse(message!.Body!);
    expect(event).toMatchObject({
      version: "0",
      id: Entries![0]!.EventId,
      "detail-type": "Job Completed",
      source: "quire.classifier",
      account: "000000000000",
      region: "us-east-1",
      resources: ["r1"],
      detail: { jobId: "job_1" },
    });
    expect(event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it("does not deliver an event the pattern does not match", async () => {
    const { bus, queueUrl } = await ruleToQueue({ "detail-type": ["Job Completed"] });
    await put(bus, "Summary Completed", { jobId: "job_2" });
    expect(await receiveAll(sqs, queueUrl, 1, 1200)).toEqual([]);
  });

  it("matches on detail fields with numeric ranges and anything-but", async () => {
    const { bus, queueUrl } = await ruleToQueue({
      detail: { confidence: [{ numeric: [">=", 0.8] }], label: [{ "anything-but": "other" }] },
    });
    await put(bus, "Classification Completed", { confidence: 0.5, label: "invoice" });
    await put(bus, "Classification Completed", { confidence: 0.9, label: "other" });
    await put(bus, "Classification Completed", { confidence: 0.95, label: "invoice" });
    const messages = await receiveAll(sqs, queueUrl, 2, 1500);
    expect(messages.map((m) => JSON.parse(m.Body!).detail)).toEqual([{ confidence: 0.95, label: "invoice" }]);
  });

  it("InputPath delivers only the selected part of the event", async () => {
    const { bus, queueUrl } = await ruleToQueue({ source: ["quire.summarizer"] }, { InputPath: "$.detail" });
    await put(bus, "Summary Completed", { jobId: "job_3", words: 12 });
    const [message] = await receiveAll(sqs, queueUrl, 1);
    expect(JSON.parse(message!.Body!)).toEqual({ jobId: "job_3", words: 12 });
  });

  it("InputTransformer fills a JSON template: strings quoted outside quotes, raw inside", async () => {
    const { bus, queueUrl } = await ruleToQueue(
      { source: ["quire.summarizer"] },
      {
        InputTransformer: {
          InputPathsMap: { job: "$.detail.jobId", n: "$.detail.words", type: "$.detail-type" },
          InputTemplate: '{"job": <job>, "words": <n>, "text": "<type> for <job>", "rule": "<aws.events.rule-name>"}',
        },
      },
    );
    await put(bus, "Summary Completed", { jobId: "job_4", words: 7 });
    const [message] = await receiveAll(sqs, queueUrl, 1);
    expect(JSON.parse(message!.Body!)).toMatchObject({ job: "job_4", words: 7, text: "Summary Completed for job_4" });
  });

  it("Input replaces the event with a constant", async () => {
    const { bus, queueUrl } = await ruleToQueue({ source: ["quire.summarizer"] }, { Input: '{"constant":true}' });
    await put(bus, "Summary Completed", { jobId: "job_5" });
    const [message] = await receiveAll(sqs, queueUrl, 1);
    expect(message!.Body).toBe('{"constant":true}');
  });

  it("PutRule rejects an invalid pattern with InvalidEventPatternException", async () => {
    await expect(
      events.send(
        new PutRuleCommand({ Name: "bad", EventPattern: JSON.stringify({ detail: { n: [{ numeric: [">", "x"] }] } }) }),
      ),
    ).rejects.toBeInstanceOf(InvalidEventPatternException);
    await expect(events.send(new PutRuleCommand({ Name: "bad", EventPattern: "{not json" }))).rejects.toBeInstanceOf(
      InvalidEventPatternException,
    );
  });

  it("PutEvents reports per-entry errors and still delivers the good entries", async () => {
    const { bus, queueUrl } = await ruleToQueue({ source: ["quire.test"] });
    const { FailedEntryCount, Entries } = await events.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: bus, Source: "quire.test", DetailType: "Ok", Detail: "{}" },
          { EventBusName: bus, Source: "quire.test", DetailType: "Bad", Detail: "{oops" },
          { EventBusName: bus, Source: "quire.test", DetailType: "NoDetail" },
          { EventBusName: "no-such-bus", Source: "quire.test", DetailType: "Lost", Detail: "{}" },
        ],
      }),
    );
    expect(FailedEntryCount).toBe(3);
    expect(Entries!.map((e) => e.ErrorCode ?? "ok")).toEqual([
      "ok",
      "MalformedDetail",
      "InvalidArgument",
      "ResourceNotFoundException",
    ]);
    expect((await receiveAll(sqs, queueUrl, 2, 1200)).length).toBe(1);
  });

  it("PutEvents refuses a request over 1 MB (AWS's limit since January 2026; limits in aws-limits.test.ts)", async () => {
    const detail = JSON.stringify({ blob: "x".repeat(1024 * 1024) });
    await expect(
      events.send(new PutEventsCommand({ Entries: [{ Source: "quire.test", DetailType: "Big", Detail: detail }] })),
    ).rejects.toMatchObject({ name: "ValidationException" });
  });

  it("describes, lists, un-targets and deletes rules; a rule with targets cannot be deleted", async () => {
    const { bus, rule } = await ruleToQueue({ source: ["x"] });
    const described = await events.send(new DescribeRuleCommand({ Name: rule, EventBusName: bus }));
    expect(described).toMatchObject({ Name: rule, State: "ENABLED", EventPattern: '{"source":["x"]}' });
    expect(described.Arn).toBe(`arn:aws:events:us-east-1:000000000000:rule/${bus}/${rule}`);
    const { Rules } = await events.send(new ListRulesCommand({ EventBusName: bus }));
    expect(Rules!.map((r) => r.Name)).toEqual([rule]);
    await expect(events.send(new DeleteRuleCommand({ Name: rule, EventBusName: bus }))).rejects.toMatchObject({
      name: "ValidationException",
    });
    const { Targets } = await events.send(new ListTargetsByRuleCommand({ Rule: rule, EventBusName: bus }));
    expect(Targets!.map((t) => t.Id)).toEqual(["queue"]);
    await events.send(new RemoveTargetsCommand({ Rule: rule, EventBusName: bus, Ids: ["queue"] }));
    await events.send(new DeleteRuleCommand({ Name: rule, EventBusName: bus }));
    await expect(events.send(new DescribeRuleCommand({ Name: rule, EventBusName: bus }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it("PutTargets refuses targets that are not SQS queues, per entry", async () => {
    await events.send(new PutRuleCommand({ Name: "lambda-target", EventPattern: '{"source":["x"]}' }));
    const { FailedEntryCount, FailedEntries } = await events.send(
      new PutTargetsCommand({
        Rule: "lambda-target",
        Targets: [{ Id: "fn", Arn: "arn:aws:lambda:us-east-1:000000000000:function:f" }],
      }),
    );
    expect(FailedEntryCount).toBe(1);
    expect(FailedEntries![0]!.ErrorMessage).toMatch(/SQS/);
  });

  it("TestEventPattern answers whether a full event matches", async () => {
    const event = JSON.stringify({
      id: "1",
      account: "000000000000",
      source: "quire.classifier",
      time: "2026-11-23T00:00:00Z",
      region: "us-east-1",
      resources: [],
      "detail-type": "Classification Completed",
      detail: { label: "invoice" },
    });
    const yes = await events.send(
      new TestEventPatternCommand({ EventPattern: '{"detail":{"label":[{"prefix":"inv"}]}}', Event: event }),
    );
    const no = await events.send(
      new TestEventPatternCommand({ EventPattern: '{"detail":{"label":["contract"]}}', Event: event }),
    );
    expect([yes.Result, no.Result]).toEqual([true, false]);
  });

  it("TestEventPattern refuses an event without the envelope fields", async () => {
    await expect(
      events.send(new TestEventPatternCommand({ EventPattern: '{"source":["a"]}', Event: '{"source":"a"}' })),
    ).rejects.toMatchObject({ name: "ValidationException", message: expect.stringMatching(/missing id/) });
  });
});
