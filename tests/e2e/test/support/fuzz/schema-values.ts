import fc from "fast-check";
import type { JsonSchema, OpenApiDocument } from "./document.ts";
import { anyJson, deepNesting, hostileKey, hostileNumber, hostileString } from "./hostile.ts";
import { RawJson } from "./json.ts";
import { resolve } from "./document.ts";

/**
 * JSON values from a JSON Schema (the subset the Quire documents use): `validValue` mostly obeys
 * it, with hostile strings wherever the schema allows any string; `invalidValue` breaks it in
 * one place: a field dropped, the wrong type, an extra property, one past a size bound, a
 * hostile string, number or nesting where something else belongs.
 */
export interface ValueOptions {
  /** Arrays are kept this short when valid, so a valid run stays a few documents. */
  maxValidItems?: number;
}

const WRONG_TYPES: Record<string, unknown[]> = {
  string: [0, true, null, [], {}, ["a"]],
  integer: ["1", 1.5, true, null, [], {}],
  number: ["1", true, null, [1], {}],
  boolean: ["true", 0, 1, null, [], {}],
  array: ["a", 0, null, {}, true],
  object: ["a", 0, null, [], true, [{}]],
};

const typesOf = (schema: JsonSchema): string[] =>
  schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];

/** A value of another type than the schema's (anything at all when it has none). */
function wrongType(schema: JsonSchema): fc.Arbitrary<unknown> {
  const types = typesOf(schema);
  if (types.length === 0) return anyJson;
  const candidates = types
    .flatMap((type) => WRONG_TYPES[type] ?? [])
    .filter((value) => !types.some((type) => matchesType(type, value)));
  return candidates.length ? fc.constantFrom(...candidates) : anyJson;
}

function matchesType(type: string, value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    case "array":
      return Array.isArray(value);
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    case "null":
      return value === null;
    default:
      return false;
  }
}

const fitLength = (min: number, max: number) => (text: string) => {
  const cut = text.slice(0, max);
  return cut.length >= min ? cut : cut + "a".repeat(min - cut.length);
};

/** A valid instant, as the date-time format writes it. */
const dateTime = fc
  .date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true })
  .map((d) => d.toISOString());
/** An ISO 8601 duration: days, hours, minutes, seconds. */
const duration = fc.oneof(
  fc.constantFrom("PT30M", "PT1H", "P1D", "PT0S", "PT1S", "P1DT12H", "PT90M"),
  fc.integer({ min: 1, max: 100_000 }).map((n) => `PT${n}M`),
);
/** Webhook targets: public IP literals (accepted without DNS), then the addresses the guard must refuse. */
const uri = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("https://93.184.216.34/hooks/quire", "http://[2606:4700::1111]/x?y=1") },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "http://127.0.0.1:9/",
      "http://169.254.169.254/latest/meta-data/",
      "http://0x7f.1/",
      "http://[::ffff:127.0.0.1]/",
      "http://10.0.0.1/",
      "https://user:pw@1.1.1.1/",
      "file:///etc/passwd",
      "gopher://1.1.1.1/",
      "https://nonexistent.invalid/hook",
    ),
  },
);
const FORMATS: Record<string, fc.Arbitrary<string>> = {
  "date-time": dateTime,
  duration,
  uri,
  // fc.emailAddress() writes RFC 5322's every corner, which stricter validators refuse: mostly plain addresses.
  email: fc.oneof(
    { weight: 4, arbitrary: fc.stringMatching(/^[a-z0-9]{1,12}(\+[a-z0-9]{1,6})?@[a-z]{1,10}\.(com|org|dev)$/) },
    { weight: 1, arbitrary: fc.emailAddress() },
  ),
};
/** Strings that look like the format but are not. */
const NOT_FORMATS: Record<string, string[]> = {
  "date-time": [
    "2025-13-45T99:99:99Z",
    "yesterday",
    "2025-01-01",
    "+275760-09-13T00:00:00.001Z",
    "0000-00-00T00:00:00Z",
  ],
  duration: ["P", "PT", "PT-1S", "P1.5.5D", "P1Y", "P99999999999999999999D", "PT1e3S", "30m"],
  uri: ["not a url", "//no-scheme", "http://", "javascript:alert(1)", "http://[::1"],
  email: ["a@", "@b", "a b@c.d", "a@b@c", "\u0000@x.y"],
};

export class SchemaValues {
  private readonly document: OpenApiDocument;
  private readonly maxValidItems: number;
  private readonly valids = new WeakMap<JsonSchema, fc.Arbitrary<unknown>>();
  private readonly invalids = new WeakMap<JsonSchema, fc.Arbitrary<unknown>>();

  constructor(document: OpenApiDocument, options: ValueOptions = {}) {
    this.document = document;
    this.maxValidItems = options.maxValidItems ?? 3;
  }

  /** A value the schema accepts (strings may still be hostile, where the schema takes any string). */
  valid(schema: JsonSchema): fc.Arbitrary<unknown> {
    let arbitrary = this.valids.get(schema);
    if (!arbitrary) {
      arbitrary = this.buildValid(resolve(this.document, schema));
      this.valids.set(schema, arbitrary);
    }
    return arbitrary;
  }

  /** A value the schema refuses, broken in one place. */
  invalid(schema: JsonSchema): fc.Arbitrary<unknown> {
    let arbitrary = this.invalids.get(schema);
    if (!arbitrary) {
      arbitrary = this.buildInvalid(resolve(this.document, schema));
      this.invalids.set(schema, arbitrary);
    }
    return arbitrary;
  }

  /** The smallest value the schema accepts: required properties only, the shortest strings. */
  minimal(schema: JsonSchema): unknown {
    const resolved = resolve(this.document, schema);
    if (resolved.const !== undefined) return resolved.const;
    if (resolved.enum) return resolved.enum[0];
    if (resolved.default !== undefined) return resolved.default;
    const branch = resolved.oneOf?.[0] ?? resolved.anyOf?.[0];
    if (branch) return this.minimal(branch);
    if (resolved.allOf) return this.minimal(mergeAll(this.document, resolved.allOf));
    switch (typesOf(resolved)[0]) {
      case "string":
        return (resolved.pattern || resolved.format) && typeof resolved.example === "string"
          ? resolved.example
          : "a".repeat(resolved.minLength ?? 0);
      case "integer":
      case "number":
        return resolved.minimum ?? (resolved.exclusiveMinimum !== undefined ? resolved.exclusiveMinimum + 1 : 0);
      case "boolean":
        return false;
      case "array":
        return Array(resolved.minItems ?? 0).fill(resolved.items ? this.minimal(resolved.items) : null);
      default: {
        const properties = resolved.properties ?? {};
        return Object.fromEntries(
          (resolved.required ?? []).map((name) => [name, this.minimal(properties[name] ?? {})]),
        );
      }
    }
  }

  private buildValid(schema: JsonSchema): fc.Arbitrary<unknown> {
    if (schema.const !== undefined) return fc.constant(schema.const);
    if (schema.enum) return fc.constantFrom(...schema.enum);
    if (schema.allOf) return this.valid(mergeAll(this.document, schema.allOf));
    const branches = schema.oneOf ?? schema.anyOf;
    if (branches) return fc.oneof(...branches.map((branch) => this.valid(branch)));
    const types = typesOf(schema);
    if (types.length > 1) return fc.oneof(...types.map((type) => this.valid({ ...schema, type })));
    switch (types[0]) {
      case "string":
        return this.validString(schema);
      case "integer":
      case "number":
        return validNumber(schema, types[0]);
      case "boolean":
        return fc.boolean();
      case "null":
        return fc.constant(null);
      case "array":
        return this.validArray(schema);
      case "object":
        return this.validObject(schema);
      default:
        return schema.properties ? this.validObject(schema) : fc.jsonValue({ maxDepth: 2 });
    }
  }

  private validString(schema: JsonSchema): fc.Arbitrary<string> {
    if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
    const format = schema.format ? FORMATS[schema.format] : undefined;
    if (format) return format;
    const min = schema.minLength ?? 0;
    const max = Math.min(schema.maxLength ?? 200, 200);
    const fit = fitLength(min, schema.maxLength ?? Number.MAX_SAFE_INTEGER);
    const candidates: fc.WeightedArbitrary<string>[] = [
      { weight: 5, arbitrary: fc.string({ minLength: min, maxLength: Math.max(min, max) }) },
      { weight: 2, arbitrary: fc.string({ unit: "grapheme", minLength: min, maxLength: Math.max(min, max) }) },
      { weight: 3, arbitrary: hostileString.map(fit) },
    ];
    if (typeof schema.example === "string") candidates.push({ weight: 3, arbitrary: fc.constant(schema.example) });
    return fc.oneof(...candidates);
  }

  private validArray(schema: JsonSchema): fc.Arbitrary<unknown[]> {
    const minLength = schema.minItems ?? 0;
    const maxLength = Math.max(minLength, Math.min(schema.maxItems ?? this.maxValidItems, this.maxValidItems));
    return fc.array(schema.items ? this.valid(schema.items) : anyJson, { minLength, maxLength });
  }

  private validObject(schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
    const properties = schema.properties ?? {};
    const names = Object.keys(properties);
    if (names.length === 0 && schema.additionalProperties !== false) return this.validDictionary(schema);
    const required = schema.required ?? [];
    return fc
      .record(Object.fromEntries(names.map((name) => [name, this.valid(properties[name]!)])), {
        requiredKeys: required.filter((name) => names.includes(name)),
      })
      .map((value) => Object.fromEntries(Object.entries(value)));
  }

  /** An object of free keys (metadata, filters): keys per propertyNames, values per additionalProperties. */
  private validDictionary(schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
    const names = schema.propertyNames ? resolve(this.document, schema.propertyNames) : {};
    const forbidden = new Set((names.not?.enum ?? []) as string[]);
    const key = fc
      .string({ minLength: names.minLength ?? 0, maxLength: Math.min(names.maxLength ?? 20, 20) })
      .filter((k) => !forbidden.has(k));
    const values = typeof schema.additionalProperties === "object" ? this.valid(schema.additionalProperties) : anyJson;
    const maxKeys = Math.min(schema.maxProperties ?? 4, 4);
    return fc
      .dictionary(key, values, { maxKeys, noNullPrototype: true })
      .map((d) => Object.fromEntries(Object.entries(d)));
  }

  private buildInvalid(schema: JsonSchema): fc.Arbitrary<unknown> {
    const mutations: fc.Arbitrary<unknown>[] = [wrongType(schema), hostileValue];
    if (schema.const !== undefined || schema.enum) mutations.push(notInEnum(schema));
    if (schema.allOf) mutations.push(this.invalid(mergeAll(this.document, schema.allOf)));
    const branches = schema.oneOf ?? schema.anyOf;
    if (branches) mutations.push(...branches.map((branch) => this.invalid(branch)));
    for (const type of typesOf(schema)) {
      if (type === "string") mutations.push(...invalidStrings(schema));
      if (type === "integer" || type === "number") mutations.push(...invalidNumbers(schema, type));
      if (type === "array") mutations.push(...this.invalidArrays(schema));
      if (type === "object") mutations.push(...this.invalidObjects(schema));
    }
    if (!schema.type && schema.properties) mutations.push(...this.invalidObjects(schema));
    return fc.oneof(...mutations);
  }

  private invalidArrays(schema: JsonSchema): fc.Arbitrary<unknown>[] {
    const item = schema.items ? this.valid(schema.items) : anyJson;
    const mutations: fc.Arbitrary<unknown>[] = [];
    // One past maxItems: the smallest valid item repeated, so even 10,001 of them is cheap to build and send.
    if (schema.maxItems !== undefined && schema.items) {
      mutations.push(fc.constant(Array(schema.maxItems + 1).fill(this.minimal(schema.items))));
    }
    if (schema.minItems) mutations.push(fc.constant([]));
    if (schema.items) {
      mutations.push(
        fc
          .tuple(fc.array(item, { maxLength: 2 }), this.invalid(schema.items), fc.array(item, { maxLength: 2 }))
          .map(([before, bad, after]) => [...before, bad, ...after]),
      );
    }
    return mutations;
  }

  private invalidObjects(schema: JsonSchema): fc.Arbitrary<unknown>[] {
    const valid = this.valid(schema) as fc.Arbitrary<Record<string, unknown>>;
    const properties = schema.properties ?? {};
    const names = Object.keys(properties);
    const mutations: fc.Arbitrary<unknown>[] = [];
    const required = (schema.required ?? []).filter((name) => names.includes(name));
    if (required.length) {
      mutations.push(fc.tuple(valid, fc.constantFrom(...required)).map(([value, dropped]) => without(value, dropped)));
    }
    if (names.length) {
      // One property broken, the rest valid.
      mutations.push(
        fc
          .constantFrom(...names)
          .chain((name) => fc.tuple(valid, fc.constant(name), this.invalid(properties[name]!)))
          .map(([value, name, bad]) => ({ ...value, [name]: bad })),
      );
    }
    // An extra property (refused where additionalProperties is false; a hostile key everywhere).
    mutations.push(
      fc
        .tuple(valid, fc.oneof(hostileKey, fc.string({ maxLength: 10 })), anyJson)
        .map(([value, key, extra]) => Object.fromEntries([...Object.entries(value), [key, extra]])),
    );
    if (schema.maxProperties !== undefined) {
      const entries = schema.maxProperties + 1;
      mutations.push(fc.constant(Object.fromEntries(Array.from({ length: entries }, (_, i) => [`k${i}`, "v"]))));
    }
    if (typeof schema.additionalProperties === "object") {
      mutations.push(
        this.invalid(schema.additionalProperties).map((bad) => ({ key: bad })),
        deepNesting.map((deep) => ({ key: deep })),
      );
    }
    return mutations;
  }
}

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(hostileString, hostileNumber, deepNesting);

function notInEnum(schema: JsonSchema): fc.Arbitrary<unknown> {
  const allowed = schema.enum ?? [schema.const];
  const near = allowed.flatMap((value) =>
    typeof value === "string" ? [value.toUpperCase(), ` ${value}`, `${value}\u0000`, value.slice(0, -1)] : [],
  );
  return fc.constantFrom(...near.filter((value) => !allowed.includes(value)), "nope", "");
}

function invalidStrings(schema: JsonSchema): fc.Arbitrary<unknown>[] {
  const mutations: fc.Arbitrary<unknown>[] = [];
  if (schema.maxLength !== undefined) {
    const over = schema.maxLength + 1;
    mutations.push(fc.constantFrom("a".repeat(over), "é".repeat(over), "😀".repeat(Math.ceil(over / 2) + 1)));
  }
  if (schema.minLength) mutations.push(fc.constant("a".repeat(schema.minLength - 1)));
  if (schema.pattern) {
    const pattern = new RegExp(schema.pattern);
    mutations.push(hostileString.filter((s) => !pattern.test(s)));
    mutations.push(fc.stringMatching(pattern).map((s) => `${s}x`));
    mutations.push(fc.stringMatching(pattern).map((s) => s.toLowerCase()));
  }
  const notFormat = schema.format ? NOT_FORMATS[schema.format] : undefined;
  if (notFormat) mutations.push(fc.constantFrom(...notFormat));
  return mutations;
}

function validNumber(schema: JsonSchema, type: "integer" | "number"): fc.Arbitrary<number> {
  if (type === "integer") {
    const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -1_000_000);
    const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : 1_000_000);
    return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max));
  }
  return fc.double({
    min: schema.minimum ?? schema.exclusiveMinimum ?? -1e6,
    max: schema.maximum ?? schema.exclusiveMaximum ?? 1e6,
    minExcluded: schema.exclusiveMinimum !== undefined,
    maxExcluded: schema.exclusiveMaximum !== undefined,
    noNaN: true,
    noDefaultInfinity: true,
  });
}

function invalidNumbers(schema: JsonSchema, type: "integer" | "number"): fc.Arbitrary<unknown>[] {
  const out: unknown[] = [new RawJson("1e309"), new RawJson("-1e309")];
  if (schema.minimum !== undefined) out.push(schema.minimum - 1, schema.minimum - 0.5);
  if (schema.exclusiveMinimum !== undefined) out.push(schema.exclusiveMinimum, new RawJson("-0"));
  if (schema.maximum !== undefined) out.push(schema.maximum + 1, schema.maximum + 0.5);
  if (type === "integer") out.push(1.5, new RawJson("123456789012345678901234567890"), new RawJson("1e21"));
  return [fc.constantFrom(...out), hostileNumber];
}

function without(value: Record<string, unknown>, name: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== name));
}

/** allOf as one schema: properties, required and the rest merged (enough for the documents' uses). */
function mergeAll(document: OpenApiDocument, schemas: JsonSchema[]): JsonSchema {
  const merged: JsonSchema = { properties: {}, required: [] };
  for (const schema of schemas.map((s) => resolve(document, s))) {
    const { properties, required, ...rest } = schema;
    Object.assign(merged, rest);
    Object.assign(merged.properties!, properties);
    merged.required!.push(...(required ?? []));
  }
  return merged;
}
