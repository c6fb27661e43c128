/**
 * What one entry of a pattern's value list compiles to, and whether one event value satisfies it.
 *
 * event-ruler keeps strings and "literals" (numbers, true, false, null) apart: strings are only
 * ever matched by string operators, literals by exact text or, when the number is comparable, by
 * numeric operators. Every anything-but form accepts values of the other kind.
 */
import { compareComparableNumbers } from "./comparable-number.ts";
import { ipAddressToHex, ipHexInRange, type IpRange } from "./ip-address.ts";
import {
  matchesCaseInsensitive,
  matchesWildcard,
  type CaseInsensitivePattern,
  type WildcardPattern,
} from "./string-matchers.ts";

export interface NumericBound {
  readonly value: number;
  readonly inclusive: boolean;
}

export type ValuePattern =
  | { readonly kind: "exists" }
  | { readonly kind: "absent" }
  | { readonly kind: "exactString"; readonly value: string }
  /** Exact text of a number, true, false or null as written in the pattern. */
  | { readonly kind: "exactLiteral"; readonly text: string }
  | { readonly kind: "numericEquals"; readonly value: number }
  | { readonly kind: "numericRange"; readonly low: NumericBound; readonly high: NumericBound }
  | { readonly kind: "ipRange"; readonly range: IpRange }
  | { readonly kind: "prefix"; readonly value: string }
  | { readonly kind: "suffix"; readonly value: string }
  | { readonly kind: "prefixIgnoreCase"; readonly pattern: CaseInsensitivePattern }
  | { readonly kind: "suffixIgnoreCase"; readonly pattern: CaseInsensitivePattern }
  | { readonly kind: "equalsIgnoreCase"; readonly pattern: CaseInsensitivePattern }
  | { readonly kind: "wildcard"; readonly pattern: WildcardPattern }
  | { readonly kind: "anythingButStrings"; readonly values: ReadonlySet<string> }
  | { readonly kind: "anythingButNumbers"; readonly values: readonly number[] }
  | { readonly kind: "anythingButPrefix"; readonly values: readonly string[] }
  | { readonly kind: "anythingButSuffix"; readonly values: readonly string[] }
  | { readonly kind: "anythingButIgnoreCase"; readonly patterns: readonly CaseInsensitivePattern[] }
  | { readonly kind: "anythingButWildcard"; readonly patterns: readonly WildcardPattern[] };

/** A leaf value of an event. */
export type EventValue =
  | { readonly kind: "string"; readonly text: string; ipHex?: string | null }
  /** `comparable` is the number event-ruler can compare it as, or null (also for true/false/null). */
  | { readonly kind: "literal"; readonly text: string; readonly comparable: number | null };

export function valueMatches(pattern: ValuePattern, value: EventValue): boolean {
  if (pattern.kind === "exists") return true;
  if (pattern.kind === "absent") return false;
  return value.kind === "string" ? stringMatches(pattern, value) : literalMatches(pattern, value);
}

function stringMatches(pattern: ValuePattern, value: Extract<EventValue, { kind: "string" }>): boolean {
  const text = value.text;
  switch (pattern.kind) {
    case "exactString":
      return text === pattern.value;
    case "prefix":
      return text.startsWith(pattern.value);
    case "suffix":
      return text.endsWith(pattern.value);
    case "prefixIgnoreCase":
      return matchesCaseInsensitive(pattern.pattern, text, "prefix");
    case "suffixIgnoreCase":
      return matchesCaseInsensitive(pattern.pattern, text, "suffix");
    case "equalsIgnoreCase":
      return matchesCaseInsensitive(pattern.pattern, text, "whole");
    case "wildcard":
      return matchesWildcard(pattern.pattern, text);
    case "ipRange": {
      const hex = ipHexOf(value);
      return hex !== null && ipHexInRange(hex, pattern.range);
    }
    case "anythingButStrings":
      return !pattern.values.has(text);
    case "anythingButPrefix":
      return !pattern.values.some((prefix) => text.startsWith(prefix));
    case "anythingButSuffix":
      return !pattern.values.some((suffix) => text.endsWith(suffix));
    case "anythingButIgnoreCase":
      return !pattern.patterns.some((p) => matchesCaseInsensitive(p, text, "whole"));
    case "anythingButWildcard":
      return !pattern.patterns.some((p) => matchesWildcard(p, text));
    case "anythingButNumbers":
      return true;
    default:
      return false;
  }
}

function literalMatches(pattern: ValuePattern, value: Extract<EventValue, { kind: "literal" }>): boolean {
  const number = value.comparable;
  switch (pattern.kind) {
    case "exactLiteral":
      return value.text === pattern.text;
    case "numericEquals":
      return number !== null && compareComparableNumbers(number, pattern.value) === 0;
    case "numericRange":
      return number !== null && withinRange(number, pattern.low, pattern.high);
    case "anythingButNumbers":
      return number === null || !pattern.values.some((excluded) => compareComparableNumbers(number, excluded) === 0);
    case "anythingButStrings":
    case "anythingButPrefix":
    case "anythingButSuffix":
    case "anythingButIgnoreCase":
    case "anythingButWildcard":
      return true;
    default:
      return false;
  }
}

function withinRange(value: number, low: NumericBound, high: NumericBound): boolean {
  const fromLow = compareComparableNumbers(value, low.value);
  const fromHigh = compareComparableNumbers(value, high.value);
  return (low.inclusive ? fromLow >= 0 : fromLow > 0) && (high.inclusive ? fromHigh <= 0 : fromHigh < 0);
}

/** Parsed at most once per event value, and only when a CIDR pattern asks. */
function ipHexOf(value: { readonly text: string; ipHex?: string | null }): string | null {
  if (value.ipHex === undefined) value.ipHex = ipAddressToHex(value.text);
  return value.ipHex;
}
