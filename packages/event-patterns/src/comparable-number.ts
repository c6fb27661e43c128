/**
 * event-ruler compares numbers only when they survive a round trip through an IEEE-754 double
 * exactly: the decimal written must equal the shortest decimal of the nearest double. Anything
 * else (too many digits, overflow, underflow) is "not comparable": a pattern using it in a numeric
 * context is rejected, and an event value like it is only ever compared as text.
 */

/** Parsed `-?digits(.digits)?([eE][+-]?digits)?` as sign, significant digits and exponent. */
interface NormalizedDecimal {
  readonly negative: boolean;
  /** Significant digits without leading or trailing zeros; "" for zero. */
  readonly digits: string;
  /** Value is 0.digits × 10^exponent. */
  readonly exponent: number;
}

const DECIMAL_SYNTAX = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

function normalizeDecimal(text: string): NormalizedDecimal | null {
  const parts = DECIMAL_SYNTAX.exec(text);
  if (parts === null) return null;
  const integerPart = parts[2] ?? "";
  const fractionPart = parts[3] ?? "";
  if (integerPart === "" && fractionPart === "") return null;
  const exponentText = parts[4] ?? "0";
  const allDigits = integerPart + fractionPart;
  const firstNonZero = allDigits.search(/[1-9]/);
  const negative = parts[1] === "-";
  if (firstNonZero < 0) return { negative, digits: "", exponent: 0 };
  const trimmedEnd = allDigits.replace(/0+$/, "");
  const exponent = Number(exponentText) + integerPart.length - firstNonZero;
  return { negative, digits: trimmedEnd.slice(firstNonZero), exponent };
}

function sameDecimalValue(a: NormalizedDecimal, b: NormalizedDecimal): boolean {
  if (a.digits === "" || b.digits === "") return a.digits === b.digits;
  return a.negative === b.negative && a.digits === b.digits && a.exponent === b.exponent;
}

/**
 * The double a JSON number stands for when event-ruler can compare it, else null.
 * `-0` stays distinct from `0`: event-ruler orders numbers by their raw IEEE bits, where -0 < 0.
 */
export function toComparableNumber(text: string): number | null {
  const written = normalizeDecimal(text);
  if (written === null) return null;
  const value = Number(text);
  if (!Number.isFinite(value)) return null;
  const shortest = normalizeDecimal(String(value));
  if (shortest === null || !sameDecimalValue(written, shortest)) return null;
  return value;
}

/** Total order used by event-ruler's numeric ranges: numeric order, with -0 below 0. */
export function compareComparableNumbers(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === 0 && b === 0) {
    const aNegative = Object.is(a, -0);
    const bNegative = Object.is(b, -0);
    return aNegative === bNegative ? 0 : aNegative ? -1 : 1;
  }
  return 0;
}

/** Thrown where event-ruler's ComparableNumber throws; callers turn it into a pattern error. */
export function requireComparableNumber(text: string): number {
  const value = toComparableNumber(text);
  if (value === null) throw new NotComparableNumberError(`Cannot compare number : ${text}`);
  return value;
}

export class NotComparableNumberError extends Error {
  override readonly name = "NotComparableNumberError";
}
