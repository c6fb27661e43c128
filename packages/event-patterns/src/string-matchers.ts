/**
 * String comparisons with event-ruler's semantics. event-ruler matches UTF-8 bytes; for well-formed
 * strings comparing UTF-16 code units gives the same answers, so the only byte-level effect kept
 * here is Java's encoding of a lone surrogate as "?".
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** The string as event-ruler sees it after Java's `getBytes(UTF_8)`. */
export function asJavaUtf8Text(text: string): string {
  return text.isWellFormed() ? text : text.replace(LONE_SURROGATE, "?");
}

/** Literal pieces between `*`s; a value matches when the pieces appear in order, anchored at both ends. */
export type WildcardPattern = readonly string[];

export class InvalidWildcardError extends Error {
  override readonly name = "InvalidWildcardError";
}

/**
 * Parses a wildcard value. Errors report UTF-8 byte positions within the value wrapped in quotes,
 * because that is the string event-ruler's parser sees.
 */
export function parseWildcard(value: string): WildcardPattern {
  const pieces: string[] = [];
  let current = "";
  let bytePosition = 1;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (ch === "*") {
      if (value[i + 1] === "*")
        throw new InvalidWildcardError(`Consecutive wildcard characters at pos ${bytePosition}`);
      pieces.push(current);
      current = "";
    } else if (ch === "\\") {
      const next = value[i + 1];
      if (next !== "*" && next !== "\\")
        throw new InvalidWildcardError(`Invalid escape character at pos ${bytePosition}`);
      current += next;
      i++;
      bytePosition++;
    } else {
      current += ch;
    }
    bytePosition += utf8Length(value, i);
  }
  pieces.push(current);
  return pieces;
}

function utf8Length(text: string, index: number): number {
  const code = text.charCodeAt(index);
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  // A surrogate pair is 4 bytes in all; count 2 for each half.
  if (code >= 0xd800 && code <= 0xdfff) return 2;
  return 3;
}

export function matchesWildcard(pattern: WildcardPattern, value: string): boolean {
  const first = pattern[0] ?? "";
  if (pattern.length === 1) return value === first;
  const last = pattern[pattern.length - 1] ?? "";
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  // Greedy leftmost placement of the middle pieces is optimal for `*`-only globs.
  let position = first.length;
  const end = value.length - last.length;
  for (let i = 1; i < pattern.length - 1; i++) {
    const piece = pattern[i] as string;
    const found = value.indexOf(piece, position);
    if (found < 0 || found + piece.length > end) return false;
    position = found + piece.length;
  }
  return true;
}

/**
 * equals-ignore-case as event-ruler builds it: each UTF-16 unit of the pattern may appear in the
 * value as its lower-case or its upper-case form (which can differ in length, e.g. "ß" / "SS").
 * The value itself is not case-mapped.
 */
export type CaseInsensitivePattern = readonly (readonly string[])[];

export function parseCaseInsensitive(value: string): CaseInsensitivePattern {
  const units: string[][] = [];
  for (let i = 0; i < value.length; i++) {
    const lower = asJavaUtf8Text((value[i] as string).toLowerCase());
    const upper = asJavaUtf8Text((value[i] as string).toUpperCase());
    units.push(lower === upper ? [lower] : [lower, upper]);
  }
  return units;
}

type Anchoring = "whole" | "prefix" | "suffix";

export function matchesCaseInsensitive(pattern: CaseInsensitivePattern, value: string, anchoring: Anchoring): boolean {
  if (anchoring === "suffix") return matchBackward(pattern, value, pattern.length, value.length);
  return matchForward(pattern, value, 0, 0, anchoring === "prefix");
}

function matchForward(
  pattern: CaseInsensitivePattern,
  value: string,
  unitIndex: number,
  position: number,
  allowRemainder: boolean,
): boolean {
  if (unitIndex === pattern.length) return allowRemainder || position === value.length;
  for (const form of pattern[unitIndex] ?? []) {
    if (
      value.startsWith(form, position) &&
      matchForward(pattern, value, unitIndex + 1, position + form.length, allowRemainder)
    ) {
      return true;
    }
  }
  return false;
}

function matchBackward(pattern: CaseInsensitivePattern, value: string, unitEnd: number, end: number): boolean {
  if (unitEnd === 0) return true;
  for (const form of pattern[unitEnd - 1] ?? []) {
    const start = end - form.length;
    if (start >= 0 && value.startsWith(form, start) && matchBackward(pattern, value, unitEnd - 1, start)) return true;
  }
  return false;
}
