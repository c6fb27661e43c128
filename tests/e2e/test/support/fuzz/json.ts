/**
 * JSON text the fuzzer sends. Values are plain JSON values, except `RawJson`: text spliced in
 * as it is, for what JSON.stringify cannot write (1e309, -0, integers past 2^53, nesting a few
 * thousand levels deep). Objects are built with Object.fromEntries, so a `__proto__` key is an
 * own property and is written like any other.
 */
export class RawJson {
  readonly text: string;
  readonly label: string;
  constructor(text: string, label = text) {
    this.text = text;
    this.label = label;
  }
  /** How fast-check prints it in a counterexample: short, even for 5,000 levels of nesting. */
  toString(): string {
    return `RawJson(${this.label})`;
  }
}

export function encodeJson(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(encodeJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value)
      .map(([key, item]) => `${JSON.stringify(key)}:${encodeJson(item)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** `[[[…]]]` or `{"a":{"a":…}}`, `depth` levels. */
export function deeplyNested(depth: number, kind: "array" | "object"): RawJson {
  const text =
    kind === "array" ? "[".repeat(depth) + "]".repeat(depth) : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
  return new RawJson(text, `${kind} nested ${depth} deep`);
}
