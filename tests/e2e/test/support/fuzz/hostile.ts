import fc from "fast-check";
import { deeplyNested, RawJson } from "./json.ts";

/**
 * What a hostile client sends instead of what the schema asks for: strings, keys, numbers,
 * nesting, raw bodies, content types and API keys. Each is a small named arbitrary; requests.ts
 * mixes them into otherwise valid requests.
 */

const long = (unit: string, times: number) => ({
  value: unit.repeat(times),
  label: `${JSON.stringify(unit)} × ${times}`,
});

/** Strings that have broken parsers, stores and log lines: controls, bidi, lone surrogates, injections. */
export const HOSTILE_STRINGS: readonly string[] = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\u0001\u0008\u001b[31m\u007f",
  "\r\n\r\nx-injected: 1",
  "\u0085\u2028\u2029",
  "\u202egnp.exe",
  "\u200f\u200e\u2066\u2069",
  "\ufeff",
  "\ud800",
  "\udc00",
  "a\ud83db",
  "\ud83d\ude00",
  "👨‍👩‍👧‍👦",
  "𝕳𝖊𝖑𝖑𝖔",
  `e${"\u0301".repeat(64)}`,
  "ß\u0130\u0131ﬃ",
  "../../../../etc/passwd",
  "..\\..\\windows\\win.ini",
  "%2e%2e%2f%2e%2e%2f",
  "%00",
  "%ZZ",
  "' OR '1'='1",
  "1; DROP TABLE jobs;--",
  '{"$gt":""}',
  "$where",
  "%s%s%s%n%x",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection payload, on purpose
  "{{7*7}}${7*7}",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a lookup-injection payload, on purpose
  "${jndi:ldap://127.0.0.1/x}",
  "<script>alert(1)</script>",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "NaN",
  "Infinity",
  "-0",
  "1e309",
  "0x1",
  "null",
  "undefined",
  "true",
  '"',
  "\\",
  "`",
];

/** Lengths past every limit the APIs document (16 KiB, 64 KiB bodies; 512-character titles…). */
const LONG_STRINGS = [
  long("a", 70_000),
  long("é", 9_000),
  long("😀", 5_000),
  long("\u0000", 2_000),
  long("\u202e", 600),
];

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.constantFrom(...LONG_STRINGS).map((s) => s.value) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 8 }))
      .map(([bad, around]) => `${around}${bad}${around}`),
  },
);

/** Object keys that reach prototypes or paths when copied carelessly. */
export const hostileKey: fc.Arbitrary<string> = fc.constantFrom(
  "__proto__",
  "constructor",
  "prototype",
  "hasOwnProperty",
  "",
  " ",
  "\u0000",
  "$where",
  "a.b",
  "a[0]",
  "pk",
  "ключ",
  "k".repeat(200),
);

/** Numbers JSON.stringify cannot write, or that do not survive a round trip through a double. */
export const hostileNumber: fc.Arbitrary<RawJson> = fc.constantFrom(
  new RawJson("1e309"),
  new RawJson("-1e309"),
  new RawJson("1e-400"),
  new RawJson("-0"),
  new RawJson("123456789012345678901234567890"),
  new RawJson("9007199254740993"),
  new RawJson("-9223372036854775809"),
  new RawJson("0.1e1"),
  new RawJson("1E2"),
);

/** Nesting a few thousand levels deep. */
export const deepNesting: fc.Arbitrary<RawJson> = fc
  .tuple(fc.constantFrom(64, 1000, 3000, 5000), fc.constantFrom("array" as const, "object" as const))
  .map(([depth, kind]) => deeplyNested(depth, kind));

/** Any JSON value, sometimes a hostile one: where a schema takes anything, or the wrong type is wanted. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: hostileString },
  { weight: 1, arbitrary: hostileNumber },
  { weight: 1, arbitrary: deepNesting },
  {
    weight: 1,
    arbitrary: fc
      .tuple(hostileKey, fc.jsonValue({ maxDepth: 1 }))
      .map(([key, value]) => Object.fromEntries([[key, value]])),
  },
);

const utf8 = (text: string) => new Uint8Array(Buffer.from(text, "utf8"));
const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p)))));

/** Byte sequences that are not UTF-8: a lone continuation, an overlong '/', an encoded surrogate, 0xFF. */
const INVALID_UTF8: readonly number[][] = [
  [0x80],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xff, 0xfe],
  [0xf4, 0x90, 0x80, 0x80],
];

/**
 * A valid body's JSON text, broken on the wire: truncated, a BOM, bytes that are not UTF-8,
 * UTF-16, duplicated keys, trailing garbage, comments, huge padding.
 */
export function rawBodyMutation(json: string): fc.Arbitrary<{ body: Uint8Array; label: string }> {
  const quoted = json.indexOf('"');
  return fc.oneof(
    fc
      .nat({ max: Math.max(0, json.length - 1) })
      .map((at) => ({ body: utf8(json.slice(0, at)), label: `truncated at ${at}` })),
    fc.constant({ body: bytes([0xef, 0xbb, 0xbf], json), label: "UTF-8 BOM" }),
    fc.constantFrom(...INVALID_UTF8).map((bad) => ({
      // Inside the first string when there is one, so the JSON is otherwise well formed.
      body: quoted >= 0 ? bytes(json.slice(0, quoted + 1), bad, json.slice(quoted + 1)) : bytes(bad, json),
      label: `invalid UTF-8 ${bad.map((b) => b.toString(16)).join(" ")}`,
    })),
    fc.constant({ body: new Uint8Array(Buffer.from(json, "utf16le")), label: "UTF-16LE" }),
    fc.constant({
      body: utf8(json.startsWith("{") && json.length > 2 ? `${json.slice(0, -1)},${json.slice(1)}` : json),
      label: "every key twice",
    }),
    fc
      .constantFrom("}", "]", "\u0000", " x", "{}")
      .map((tail) => ({ body: utf8(json + tail), label: `then ${JSON.stringify(tail)}` })),
    fc.constant({ body: utf8(`/* c */${json}`), label: "a comment" }),
    fc.constant({ body: utf8(" ".repeat(70_000) + json), label: "70,000 spaces first" }),
    fc
      .constantFrom("", "null", "[]", '""', "0", "true", "{", "\u0000", "{'a':1}")
      .map((text) => ({ body: utf8(text), label: `instead: ${JSON.stringify(text)}` })),
  );
}

/** Content types a JSON body is sent with: mostly exact, then each near miss. */
export const JSON_CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "Application/JSON",
  'application/json;charset="UTF-8"',
] as const;
export const NOT_JSON_CONTENT_TYPES = [
  "text/html; x=application/json",
  "application/jsonp",
  "application/json-seq",
  "application/x-json",
  "text/json",
  "application/vnd.api+json",
  "application/json; charset=latin1",
  "application/json; charset=utf-16",
  "application/json; boundary=x",
  "application/json, text/html",
  "text/plain",
  "multipart/form-data; boundary=x",
  "application/x-www-form-urlencoded",
  "*/*",
  "",
  "\u00e0pplication/json",
] as const;

/** The content-type header lines a request carries (none, one, or two). */
export const contentTypeLines: fc.Arbitrary<readonly string[]> = fc.oneof(
  { weight: 16, arbitrary: fc.constant(["application/json"]) },
  { weight: 3, arbitrary: fc.constantFrom(...JSON_CONTENT_TYPES).map((t) => [t]) },
  { weight: 4, arbitrary: fc.constantFrom(...NOT_JSON_CONTENT_TYPES).map((t) => [t]) },
  { weight: 1, arbitrary: fc.constant([]) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...JSON_CONTENT_TYPES, ...NOT_JSON_CONTENT_TYPES), fc.constantFrom(...JSON_CONTENT_TYPES))
      .chain(([a, b]) => fc.constantFrom([a, b], [b, a])),
  },
);

/** The x-api-key header lines a request carries: mostly the valid key, then missing, empty, huge, non-ASCII, twice. */
export function apiKeyLines(validKey: string): fc.Arbitrary<readonly string[]> {
  // Header values go on the wire as bytes: a non-ASCII key is its UTF-8 bytes, as a client sends them.
  const nonAscii = (text: string) => Buffer.from(text, "utf8").toString("latin1");
  return fc.oneof(
    { weight: 22, arbitrary: fc.constant([validKey]) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        [],
        [""],
        [" "],
        ["a".repeat(10 * 1024)],
        ["a".repeat(513)],
        [nonAscii(`ключ-${validKey}`)],
        [nonAscii("🔑")],
        [`${validKey}\t`],
        [` ${validKey} `],
        [validKey.toUpperCase()],
        [`Bearer ${validKey}`],
        [validKey, validKey],
        [validKey, "wrong"],
        ["quire_k0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
        [validKey.slice(0, -1)],
      ),
    },
  );
}

/** Headers a request may carry besides its own: odd, spoofing, or contradicting the body. */
export const extraHeaderLines: fc.Arbitrary<readonly (readonly [string, string])[]> = fc.oneof(
  { weight: 8, arbitrary: fc.constant([]) },
  {
    weight: 2,
    arbitrary: fc.subarray<[string, string]>([
      ["x-forwarded-for", "' OR 1=1--"],
      ["x-forwarded-host", "evil.example"],
      ["host", "evil.example"],
      ["accept", "text/html"],
      ["accept", "*/*;q=0"],
      ["accept-encoding", "gzip, br"],
      ["content-encoding", "gzip"],
      ["idempotency-key", "../../x"],
      ["x-http-method-override", "DELETE"],
      ["origin", "null"],
      ["x-amzn-trace-id", "Root=1-00000000-000000000000000000000000"],
      ["traceparent", "00-zzzz-zzzz-00"],
      ["cookie", "__proto__=1"],
    ]),
  },
);
