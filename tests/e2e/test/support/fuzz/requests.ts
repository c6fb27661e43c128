import fc from "fast-check";
import type { JsonSchema, OpenApiDocument, Operation, Parameter } from "./document.ts";
import { operationsOf } from "./document.ts";
import { anyJson, apiKeyLines, contentTypeLines, extraHeaderLines, hostileString, rawBodyMutation } from "./hostile.ts";
import { encodeJson } from "./json.ts";
import { SchemaValues } from "./schema-values.ts";

/**
 * Requests generated from an OpenAPI document: per operation, its path parameters (valid per
 * their pattern, an id the API handed out earlier in the run, or hostile), its query, the key,
 * and a body from its request schema (valid, broken in one place, or broken on the wire), sent
 * with an exact or a near-miss content type. Plus requests no route documents.
 */

/** A path segment filled in when the request is sent: the `index`th id of `pattern` the API has answered so far. */
export interface KnownId {
  known: string;
  index: number;
  /** When the API has handed out none yet: a well-formed id nobody has. */
  fallback: string;
}
type PathPart = string | KnownId;

const utf8 = (text: string) => new Uint8Array(Buffer.from(text, "utf8"));
/**
 * encodeURIComponent, except that a lone surrogate goes as U+FFFD (as a client's UTF-8 encoder sends it) instead of
 * throwing.
 */
const percentEncode = (text: string) => encodeURIComponent(text.toWellFormed());
const preview = (text: string, max = 160) =>
  text.length > max ? `${JSON.stringify(text.slice(0, max))}… (${text.length} chars)` : JSON.stringify(text);

export class FuzzRequest {
  readonly operation: string;
  readonly method: string;
  readonly path: readonly PathPart[];
  readonly query: string;
  readonly headers: readonly [string, string][];
  readonly body: Uint8Array | undefined;
  /** What was generated off the schema, for the counterexample. */
  readonly mutations: readonly string[];
  constructor(fields: Omit<FuzzRequest, "describe" | "target" | typeof fc.toStringMethod>) {
    this.operation = fields.operation;
    this.method = fields.method;
    this.path = fields.path;
    this.query = fields.query;
    this.headers = fields.headers;
    this.body = fields.body;
    this.mutations = fields.mutations;
  }

  /** The request-target, with known ids filled in by `pick`. */
  target(pick: (id: KnownId) => string): string {
    return this.path.map((part) => (typeof part === "string" ? part : pick(part))).join("") + this.query;
  }

  describe(target = this.target((id) => `<${id.known} #${id.index}>`)): string {
    const headers = this.headers.map(([name, value]) => `${name}: ${preview(value, 80)}`).join("; ");
    const body = this.body ? preview(Buffer.from(this.body).toString("utf8"), 300) : "none";
    return `${this.operation}: ${this.method} ${preview(target, 300)} [${headers}] body ${body} (${this.body?.length ?? 0} bytes)${this.mutations.length ? ` — ${this.mutations.join(", ")}` : ""}`;
  }

  /** How fast-check prints a counterexample: the request, not a 70,000-element Uint8Array. */
  [fc.toStringMethod](): string {
    return this.describe();
  }
}

export interface RequestOptions {
  /** The x-api-key most requests carry. */
  apiKey: string;
  /**
   * Valid values for parameters, by `in.name` (e.g. `query.wait`), where the schema's whole range is too slow to send.
   */
  validParameters?: Record<string, fc.Arbitrary<string>>;
}

interface BodyChoice {
  body?: Uint8Array;
  contentTypes: readonly string[];
  label?: string;
}

export function requestsFor(document: OpenApiDocument, options: RequestOptions): fc.Arbitrary<FuzzRequest> {
  const values = new SchemaValues(document);
  const operations = operationsOf(document);
  const byOperation = operations.map((operation) => ({
    // Operations that take a body have the most to break.
    weight: operation.body ? 3 : 1,
    arbitrary: operationRequest(operation, values, options),
  }));
  return fc.oneof(...byOperation, { weight: 2, arbitrary: undocumentedRequest(operations, options) });
}

/** The path-parameter patterns of a document: the ids its answers hand out. */
export function idPatterns(document: OpenApiDocument): string[] {
  const patterns = operationsOf(document).flatMap((op) =>
    op.parameters.filter((p) => p.in === "path" && p.schema?.pattern).map((p) => p.schema!.pattern!),
  );
  return [...new Set(patterns)];
}

function operationRequest(
  operation: Operation,
  values: SchemaValues,
  options: RequestOptions,
): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      path: pathOf(operation, values),
      query: queryOf(operation, values, options),
      key: apiKeyLines(options.apiKey),
      extra: extraHeaderLines,
      body: bodyOf(operation, values),
    })
    .map(({ path, query, key, extra, body }) => {
      const mutations = [...path.mutations, ...query.mutations];
      if (body.label) mutations.push(body.label);
      if (key.length !== 1 || key[0] !== options.apiKey) mutations.push(`x-api-key ${preview(key.join(" | "), 40)}`);
      if (extra.length) mutations.push("extra headers");
      return new FuzzRequest({
        operation: operation.id,
        method: operation.method,
        path: path.parts,
        query: query.text,
        headers: [
          ...key.map((value): [string, string] => ["x-api-key", value]),
          ...body.contentTypes.map((value): [string, string] => ["content-type", value]),
          ...extra.map(([name, value]): [string, string] => [name, value]),
        ],
        body: body.body,
        mutations,
      });
    });
}

/**
 * How long a parameter's value may be in the URL. A request head over node:http's 16 KiB is
 * refused by the HTTP server (a bare 431) before the app sees it, so longer values test nothing.
 */
const MAX_URL_VALUE = 300;
const forUrl = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value)).slice(0, MAX_URL_VALUE);

/** A path parameter's value, percent-encoded as a client would send it. */
function pathValue(parameter: Parameter, values: SchemaValues): fc.Arbitrary<{ part: PathPart; mutation?: string }> {
  const schema: JsonSchema = parameter.schema ?? { type: "string" };
  const valid = values.valid(schema).map((v) => ({ part: percentEncode(forUrl(v)) }));
  const choices: fc.WeightedArbitrary<{ part: PathPart; mutation?: string }>[] = [
    { weight: 4, arbitrary: valid },
    {
      weight: 2,
      arbitrary: hostileString
        .filter((s) => s.length > 0)
        .map((s) => ({ part: percentEncode(forUrl(s)), mutation: `${parameter.name} hostile` })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom("..", ".", "%ZZ", "%00", "a%2Fb", "%2e%2e%2f", "%E0%A4%A", "*", ";x=1", "%20", "%u0041")
        .map((s) => ({ part: s, mutation: `${parameter.name} raw ${s}` })),
    },
  ];
  if (schema.pattern) {
    const pattern = schema.pattern;
    choices.push({
      weight: 6,
      arbitrary: fc
        .tuple(fc.nat(), values.valid(schema) as fc.Arbitrary<string>)
        .map(([index, fallback]) => ({ part: { known: pattern, index, fallback } })),
    });
  }
  return fc.oneof(...choices);
}

function pathOf(operation: Operation, values: SchemaValues): fc.Arbitrary<{ parts: PathPart[]; mutations: string[] }> {
  const segments = operation.template.split(/(\{[^}]+\})/).filter(Boolean);
  return fc
    .tuple(
      ...segments.map((segment) => {
        const name = /^\{([^}]+)\}$/.exec(segment)?.[1];
        const parameter = name ? operation.parameters.find((p) => p.in === "path" && p.name === name) : undefined;
        if (!name) return fc.constant({ part: segment as PathPart });
        return pathValue(parameter ?? { name, in: "path" }, values);
      }),
    )
    .map((filled) => ({
      parts: filled.map((f) => f.part),
      mutations: filled.flatMap((f): string[] =>
        "mutation" in f && typeof f.mutation === "string" ? [f.mutation] : [],
      ),
    }));
}

function queryValue(parameter: Parameter, values: SchemaValues, options: RequestOptions): fc.Arbitrary<string[]> {
  const schema = parameter.schema ?? { type: "string" };
  const valid = options.validParameters?.[`${parameter.in}.${parameter.name}`] ?? values.valid(schema).map(forUrl);
  return fc.oneof(
    { weight: 6, arbitrary: valid.map((v) => [v]) },
    { weight: 2, arbitrary: values.invalid(schema).map((v) => [forUrl(v)]) },
    { weight: 2, arbitrary: hostileString.map((v) => [forUrl(v)]) },
    { weight: 1, arbitrary: fc.tuple(valid, valid).map(([a, b]) => [a, b]) },
  );
}

function queryOf(
  operation: Operation,
  values: SchemaValues,
  options: RequestOptions,
): fc.Arbitrary<{ text: string; mutations: string[] }> {
  const parameters = operation.parameters.filter((p) => p.in === "query");
  const extra = fc.oneof(
    { weight: 8, arbitrary: fc.constant("") },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "__proto__=1",
        "constructor[prototype][x]=1",
        "a=%ZZ",
        "=",
        "&&",
        "a[]=1&a[]=2",
        "%00=%00",
      ),
    },
  );
  return fc
    .tuple(
      ...parameters.map((p) =>
        fc.option(queryValue(p, values, options), { freq: p.required ? 8 : 2 }).map((v) => ({ name: p.name, v })),
      ),
      extra,
    )
    .map((parts) => {
      const raw = parts.pop() as string;
      const pairs = (parts as { name: string; v: string[] | null }[]).flatMap(({ name, v }) =>
        (v ?? []).map((value) => `${percentEncode(name)}=${percentEncode(value)}`),
      );
      if (raw) pairs.push(raw);
      return { text: pairs.length ? `?${pairs.join("&")}` : "", mutations: raw ? [`query ${raw}`] : [] };
    });
}

function bodyOf(operation: Operation, values: SchemaValues): fc.Arbitrary<BodyChoice> {
  if (!operation.body) {
    return fc.oneof(
      { weight: 10, arbitrary: fc.constant<BodyChoice>({ contentTypes: [] }) },
      {
        weight: 1,
        arbitrary: fc.tuple(anyJson, contentTypeLines).map(([value, contentTypes]) => ({
          body: utf8(encodeJson(value)),
          contentTypes,
          label: "an unasked-for body",
        })),
      },
      {
        weight: 1,
        arbitrary: fc.constant<BodyChoice>({
          body: utf8(JSON.stringify({ padding: "a".repeat(70_000) })),
          contentTypes: ["application/json"],
          label: "an unasked-for 70 KB body",
        }),
      },
    );
  }
  const schema = operation.body.schema;
  const validJson = values.valid(schema).map(encodeJson);
  const choices: fc.WeightedArbitrary<BodyChoice>[] = [
    {
      weight: 8,
      arbitrary: fc
        .tuple(validJson, contentTypeLines)
        .map(([json, contentTypes]) => ({ body: utf8(json), contentTypes })),
    },
    {
      weight: 4,
      arbitrary: fc.tuple(values.invalid(schema), contentTypeLines).map(([value, contentTypes]) => ({
        body: utf8(encodeJson(value)),
        contentTypes,
        label: "body off its schema",
      })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(validJson.chain(rawBodyMutation), contentTypeLines)
        .map(([{ body, label }, contentTypes]) => ({ body, contentTypes, label: `body ${label}` })),
    },
  ];
  if (!operation.body.required) {
    choices.push({
      weight: 1,
      arbitrary: fc
        .constantFrom<string[]>([], ["application/json"])
        .map((contentTypes) => ({ contentTypes, label: "no body" })),
    });
  } else {
    choices.push({
      weight: 1,
      arbitrary: fc.constant<BodyChoice>({ contentTypes: ["application/json"], label: "no body" }),
    });
  }
  return fc.oneof(...choices);
}

/** Requests no documented operation takes: unknown paths, and documented paths with another method. */
function undocumentedRequest(operations: readonly Operation[], options: RequestOptions): fc.Arbitrary<FuzzRequest> {
  const templates = [...new Set(operations.map((op) => op.template))];
  const filled = (template: string) => template.replaceAll(/\{[^}]+\}/g, "x");
  const path = fc.oneof(
    fc.constantFrom(...templates).map(filled),
    fc.constantFrom(...templates).map((t) => `${filled(t)}/extra`),
    fc.constantFrom(
      "/",
      "/v1",
      "/v1/",
      "/v1/nope",
      "/V1/documents",
      "//v1//documents",
      "/v1/documents/",
      "/v1/jobs/",
      "/v1/%2e%2e/health",
      "/v1/jobs/%2F..%2F..%2Fkeys",
      "/health/",
      "/docs/../openapi.json",
      "/%00",
      "/v1/__proto__",
      "/v1/subscriptions/constructor/deliveries/x",
    ),
  );
  return fc
    .record({
      method: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
      path,
      key: apiKeyLines(options.apiKey),
      body: fc.option(anyJson.map(encodeJson), { freq: 3 }),
    })
    .map(
      ({ method, path, key, body }) =>
        new FuzzRequest({
          operation: "undocumented",
          method,
          path: [path],
          query: "",
          headers: [
            ...key.map((value): [string, string] => ["x-api-key", value]),
            ...(body !== null ? [["content-type", "application/json"] as [string, string]] : []),
          ],
          body: body !== null && method !== "GET" ? utf8(body) : undefined,
          mutations: [],
        }),
    );
}

/** Ids the APIs hand out, gathered from their answers, for later requests to name. */
export class IdPool {
  private readonly byPattern = new Map<string, { pattern: RegExp; ids: string[] }>();
  constructor(patterns: readonly string[]) {
    for (const pattern of patterns) this.byPattern.set(pattern, { pattern: new RegExp(pattern), ids: [] });
  }

  /** Every string in an answer that is an id of a known pattern. */
  collect(value: unknown): void {
    if (typeof value === "string") {
      for (const entry of this.byPattern.values()) {
        if (entry.pattern.test(value) && !entry.ids.includes(value)) entry.ids.push(value);
      }
    } else if (Array.isArray(value)) {
      for (const item of value) this.collect(item);
    } else if (value !== null && typeof value === "object") {
      for (const item of Object.values(value)) this.collect(item);
    }
  }

  pick(id: KnownId): string {
    const ids = this.byPattern.get(id.known)?.ids ?? [];
    return ids.length ? ids[id.index % ids.length]! : id.fallback;
  }
}
