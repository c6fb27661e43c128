import {
  EventBridgeClient,
  InvalidEventPatternException,
  PutRuleCommand,
  TestEventPatternCommand,
} from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devcloud } from "../src/index.ts";
// The event-ruler oracle data, loaded as the matcher's own specs load it.
import { readConformance, type InvalidPatternCase, type MatchingCase } from "@quire/event-patterns/conformance";
import { startTestDevcloud } from "./support/devcloud.ts";

const ENVELOPE = {
  id: "1",
  account: "000000000000",
  source: "conformance",
  time: "2026-11-23T00:00:00Z",
  region: "us-east-1",
  "detail-type": "Conformance",
};

/**
 * TestEventPattern needs the envelope fields; most oracle events have none. They are spliced
 * into the event's own text (numbers keep their written form). Cases whose pattern or event
 * already use an envelope field are left to the matcher's own conformance test, since adding
 * one would change what the pattern sees.
 */
function withEnvelope(testCase: MatchingCase): string | undefined {
  const text = testCase.eventText.trim();
  if (!text.startsWith("{")) return undefined;
  const keys = Object.keys(ENVELOPE);
  const mentions = (json: string) => keys.some((key) => json.includes(`"${key}"`));
  if (mentions(testCase.patternText) || mentions(text)) return undefined;
  const fields = JSON.stringify(ENVELOPE).slice(1, -1);
  const rest = text.slice(1).trim();
  return `{${fields}${rest === "}" ? "" : ","}${rest}`;
}

describe("the EventBridge API agrees with event-ruler's recorded answers", () => {
  let devcloud: Devcloud;
  let events: EventBridgeClient;
  const matching = readConformance<MatchingCase>("matching.json");
  const invalid = readConformance<InvalidPatternCase>("invalid-patterns.json");

  beforeAll(async () => {
    devcloud = await startTestDevcloud({ topology: false });
    events = new EventBridgeClient(devcloud.clientConfig);
  });
  afterAll(() => devcloud.stop());

  it("TestEventPattern answers every applicable matching case as event-ruler did", async () => {
    const applicable = matching.flatMap((c) => {
      const event = withEnvelope(c);
      return event ? [{ ...c, event }] : [];
    });
    expect(applicable.length).toBeGreaterThan(matching.length * 0.8);
    const wrong: string[] = [];
    for (const c of applicable) {
      const { Result } = await events.send(
        new TestEventPatternCommand({ EventPattern: c.patternText, Event: c.event }),
      );
      if (Result !== c.match) wrong.push(`${c.name}: expected ${c.match}`);
    }
    expect(wrong).toEqual([]);
  });

  it("PutRule refuses every invalid pattern with InvalidEventPatternException", async () => {
    const accepted: string[] = [];
    for (const [i, c] of invalid.entries()) {
      try {
        await events.send(new PutRuleCommand({ Name: `invalid-${i}`, EventPattern: c.patternText }));
        accepted.push(c.name);
      } catch (error) {
        expect(error, c.name).toBeInstanceOf(InvalidEventPatternException);
      }
    }
    expect(accepted).toEqual([]);
  });
});
