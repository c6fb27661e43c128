import { describe, expect, it } from "vitest";
import { compileEventPattern, InvalidEventPatternError } from "../src/index.ts";
import { readConformance } from "./support/conformance.ts";

const matches = (pattern: object | string, event: object | string): boolean =>
  compileEventPattern(pattern).matches(event);

describe("event patterns, by example", () => {
  it("an exact string value matches only that string", () => {
    expect(matches({ source: ["aws.ec2"] }, { source: "aws.ec2" })).toBe(true);
    expect(matches({ source: ["aws.ec2"] }, { source: "aws.s3" })).toBe(false);
  });

  it("a field missing from the event does not match", () => {
    expect(matches({ detail: { state: ["running"] } }, { source: "aws.ec2" })).toBe(false);
  });

  it("prefix matches the start of a string", () => {
    expect(matches({ time: [{ prefix: "2017-10-02" }] }, { time: "2017-10-02T15:32:48Z" })).toBe(true);
    expect(matches({ time: [{ prefix: "2017-10-02" }] }, { time: "2017-10-03T00:00:00Z" })).toBe(false);
  });

  it("suffix and equals-ignore-case compare strings, never numbers", () => {
    expect(matches({ key: [{ suffix: ".png" }] }, { key: "a/b.png" })).toBe(true);
    expect(matches({ name: [{ "equals-ignore-case": "alice" }] }, { name: "ALICE" })).toBe(true);
    expect(matches({ n: [{ suffix: "3" }] }, { n: 123 })).toBe(false);
  });

  it("an array in the event matches if any element matches", () => {
    expect(matches({ resources: ["arn:b"] }, { resources: ["arn:a", "arn:b"] })).toBe(true);
    expect(matches({ resources: ["arn:c"] }, { resources: ["arn:a", "arn:b"] })).toBe(false);
  });

  it("fields matched inside an array of objects must come from the same element", () => {
    const pattern = { items: { name: ["a"], size: [1] } };
    expect(matches(pattern, { items: [{ name: "a", size: 1 }] })).toBe(true);
    expect(
      matches(pattern, {
        items: [
          { name: "a", size: 2 },
          { name: "b", size: 1 },
        ],
      }),
    ).toBe(false);
  });

  it("numbers compare by value, so 300, 300.0 and 3.0e2 are equal", () => {
    expect(matches('{"x":[300]}', '{"x":300.0}')).toBe(true);
    expect(matches('{"x":[{"numeric":["=",3.0e2]}]}', '{"x":300}')).toBe(true);
    expect(matches('{"x":[{"numeric":[">",0,"<=",5]}]}', '{"x":5}')).toBe(true);
    expect(matches('{"x":[{"numeric":[">",0,"<=",5]}]}', '{"x":"5"}')).toBe(false);
  });

  it("exists:false matches an absent field, and an empty array counts as absent", () => {
    expect(matches({ a: [{ exists: false }] }, { b: 1 })).toBe(true);
    expect(matches({ a: [{ exists: false }] }, { a: [] })).toBe(true);
    expect(matches({ a: [{ exists: false }] }, { a: null })).toBe(false);
  });

  it("anything-but accepts values of the other kind (a string list never excludes a number)", () => {
    expect(matches({ state: [{ "anything-but": ["stopped", "terminated"] }] }, { state: "running" })).toBe(true);
    expect(matches({ state: [{ "anything-but": ["stopped"] }] }, { state: "stopped" })).toBe(false);
    expect(matches({ state: [{ "anything-but": ["stopped"] }] }, { state: 5 })).toBe(true);
  });

  it("cidr matches IPv4 and IPv6 addresses inside the block", () => {
    expect(matches({ ip: [{ cidr: "10.0.0.0/24" }] }, { ip: "10.0.0.255" })).toBe(true);
    expect(matches({ ip: [{ cidr: "10.0.0.0/24" }] }, { ip: "10.0.1.0" })).toBe(false);
    expect(matches({ ip: [{ cidr: "2001:db8::/32" }] }, { ip: "2001:0db8:ffff::1" })).toBe(true);
  });

  it("wildcard * matches any run of characters, and \\* a literal star", () => {
    expect(matches({ key: [{ wildcard: "dir/*.png" }] }, { key: "dir/a/b.png" })).toBe(true);
    expect(matches({ key: [{ wildcard: "a\\*b" }] }, { key: "a*b" })).toBe(true);
    expect(matches({ key: [{ wildcard: "a\\*b" }] }, { key: "axb" })).toBe(false);
  });

  it("$or matches when any branch matches", () => {
    const pattern = { $or: [{ a: ["x"] }, { b: [{ numeric: [">", 10] }] }] };
    expect(matches(pattern, { b: 11 })).toBe(true);
    expect(matches(pattern, { a: "y", b: 1 })).toBe(false);
  });

  it("invalid patterns are rejected with InvalidEventPatternException naming the problem", () => {
    const attempt = () => compileEventPattern({ a: [{ prefix: 3 }] });
    expect(attempt).toThrow(InvalidEventPatternError);
    expect(attempt).toThrow("prefix match pattern must be a string");
    try {
      attempt();
    } catch (error) {
      expect((error as InvalidEventPatternError).code).toBe("InvalidEventPatternException");
    }
    expect(() => compileEventPattern({ a: "x" })).toThrow('"a" must be an object or an array');
    expect(() => compileEventPattern({ a: [{ numeric: [">", 5, "<", 1] }] })).toThrow("Bottom must be less than top");
  });
});

// ---------------------------------------------------------------------------------------------
// Conformance: answers recorded from aws/event-ruler (see the data's README.md).

interface MatchingCase {
  readonly name: string;
  readonly pattern: object;
  readonly event: object;
  readonly patternText: string;
  readonly eventText: string;
  readonly match: boolean;
  readonly numbersLossy?: boolean;
}

interface InvalidPatternCase {
  readonly name: string;
  readonly patternText: string;
  readonly error: string;
}

const readCases = readConformance;

const matchingCases = readCases<MatchingCase>("matching.json");
const invalidPatternCases = readCases<InvalidPatternCase>("invalid-patterns.json");

describe("conformance: matching.json", () => {
  it("has the documented number of cases", () => {
    expect(matchingCases).toHaveLength(1348);
  });

  it.each(matchingCases.map((c) => [c.name, c] as const))("%s", (_name, testCase) => {
    expect(compileEventPattern(testCase.patternText).matches(testCase.eventText)).toBe(testCase.match);
    // Parsed values must give the same answer wherever JSON.parse kept the numbers as written.
    if (!testCase.numbersLossy) {
      expect(compileEventPattern(testCase.pattern).matches(testCase.event)).toBe(testCase.match);
    }
  });
});

describe("conformance: invalid-patterns.json", () => {
  it("has the documented number of cases", () => {
    expect(invalidPatternCases).toHaveLength(94);
  });

  it.each(invalidPatternCases.map((c) => [c.name, c] as const))("%s", (_name, testCase) => {
    let thrown: unknown;
    try {
      compileEventPattern(testCase.patternText);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidEventPatternError);
    const error = thrown as InvalidEventPatternError;
    // The recorded text is event-ruler's "<Java exception>: <first line of the message>".
    expect(`${error.rulerExceptionType}: ${error.message.split("\n")[0]}`).toBe(testCase.error);
  });
});
