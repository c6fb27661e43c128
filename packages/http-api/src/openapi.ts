import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createRoute, z, type OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { Handler, MiddlewareHandler } from "hono";
import { callerOf, missingScopes } from "./access.ts";
import { ApiError, type ApiErrorStatus } from "./errors.ts";

/**
 * OpenAPI 3.1 for Quire's HTTP APIs, built from the zod schemas the routes validate with
 * (@hono/zod-openapi over @asteasolutions/zod-to-openapi), so the document cannot drift from
 * the code. Each route is declared with `createRoute` beside its handler and registered with
 * `defineRoute`: that puts it in the document and mounts the handler, which keeps doing its own
 * parsing (the same schema objects), so what the API answers is exactly what it answered before.
 */

export const API_KEY_SCHEME = "ApiKey";
/** The `security` of an operation under /v1 that any valid key may call. */
export const apiKeySecurity = [{ [API_KEY_SCHEME]: [] }];
/**
 * The `security` of an operation that needs a key holding `scope`. OpenAPI 3.1 lets an apiKey
 * requirement list the roles it needs; defineRoute reads it back and enforces it (403).
 */
export const keyScope = (scope: string) => [{ [API_KEY_SCHEME]: [scope] }];

function scopesRequired(route: RouteConfig): string[] {
  return (route.security ?? []).flatMap((requirement) => requirement[API_KEY_SCHEME] ?? []);
}

/** `{ error: { code, message, details? } }`: every failure, from every route, of both APIs. */
export const errorBody = z
  .strictObject({
    // Open, not strict: a route's response narrows `code` to its own codes (allOf), and a closed
    // object here would make those combinations refuse `message` in some validators.
    error: z
      .object({
        code: z
          .string()
          .regex(/^[A-Z][A-Z0-9_]+$/)
          .meta({
            description: "Stable, machine-readable: branch on this, not on the message.",
            example: "VALIDATION_FAILED",
          }),
        message: z.string().meta({
          description: "For people: what went wrong and what to do about it.",
          example: "text: text must not be empty",
        }),
        details: z.unknown().optional().meta({
          description:
            "Structured detail where a code has some (VALIDATION_FAILED: `[{ path, message }]`, one per bad field).",
        }),
      })
      .meta({ description: "What went wrong." }),
  })
  .meta({ id: "Error", description: "Every failure of every Quire API has this shape." });

/** The `{ error: { code, message } }` of one code, as an example. */
const errorExample = (code: string, message: string, details?: unknown) => ({
  summary: code,
  value: { error: { code, message, ...(details !== undefined ? { details } : {}) } },
});

/** The codes a route can answer with one status: each code and an example message. */
export type ErrorCodes = Record<string, string | { message: string; details?: unknown }>;

const STATUS_TEXT: Record<ApiErrorStatus, string> = {
  400: "Bad request",
  401: "Missing or wrong API key",
  403: "Forbidden",
  404: "Not found",
  409: "Conflict",
  410: "Gone",
  413: "Payload too large",
  415: "Unsupported media type",
  422: "Unprocessable",
  429: "Too many requests",
  500: "Internal error",
  503: "Unavailable",
};

/**
 * The error responses of a route: per status, the shared `Error` schema with `error.code`
 * narrowed to the codes that status can carry there, and an example of each.
 */
export function errorResponses(byStatus: Partial<Record<ApiErrorStatus, ErrorCodes>>): RouteConfig["responses"] {
  const responses: RouteConfig["responses"] = {};
  for (const [status, codes] of Object.entries(byStatus) as [string, ErrorCodes][]) {
    const names = Object.keys(codes);
    responses[status] = {
      description: `${STATUS_TEXT[Number(status) as ApiErrorStatus]}: ${names.join(", ")}.`,
      content: {
        "application/json": {
          schema: {
            allOf: [
              { $ref: "#/components/schemas/Error" },
              {
                type: "object",
                properties: { error: { type: "object", properties: { code: { type: "string", enum: names } } } },
              },
            ],
          },
          examples: Object.fromEntries(
            Object.entries(codes).map(([code, example]) => [
              code,
              typeof example === "string"
                ? errorExample(code, example)
                : errorExample(code, example.message, example.details),
            ]),
          ),
        },
      },
    };
  }
  return responses;
}

/** What every route under /v1 can answer besides its own: a missing key, and an unexpected failure. */
export const UNAUTHORIZED: ErrorCodes = { UNAUTHORIZED: "Send a valid API key in the x-api-key header." };
export const INTERNAL: ErrorCodes = { INTERNAL: "Something went wrong on our side." };
/** A JSON body that does not parse, or does not validate (jsonBody, parseJsonBody). */
export const BAD_JSON_BODY: ErrorCodes = {
  VALIDATION_FAILED: {
    message: "text: text must not be empty",
    details: [{ path: "text", message: "text must not be empty" }],
  },
  MALFORMED_JSON: "The request body is not valid JSON.",
};
export const NOT_JSON: ErrorCodes = {
  UNSUPPORTED_MEDIA_TYPE: "Send the body as application/json (charset utf-8, if any).",
};
export const payloadTooLarge = (maxBytes: number): ErrorCodes => ({
  PAYLOAD_TOO_LARGE: `The request body is over ${maxBytes} bytes.`,
});

/** A JSON request body or response content, as @hono/zod-openapi takes it. */
export const json = <T>(
  schema: T,
  extra: { description?: string; examples?: Record<string, { summary?: string; value: unknown }> } = {},
) => ({
  ...(extra.description ? { description: extra.description } : {}),
  content: { "application/json": { schema, ...(extra.examples ? { examples: extra.examples } : {}) } },
});

/** What every route needing a key can also answer: a key without the route's scope, or over its rate. */
const keyedRouteErrors = (scopes: string[]) =>
  errorResponses({
    ...(scopes.length
      ? { 403: { MISSING_SCOPE: `This key does not hold the ${scopes.join(", ")} scope this route needs.` } }
      : {}),
    429: { RATE_LIMITED: "This key is over its rate (50 requests/s, bursts of 100): retry after 1 s." },
  });

/**
 * Declares a route in the app's OpenAPI document and mounts its handlers on the same path and
 * method. The handlers parse their input themselves, with the schemas the route declares. A
 * route whose `security` names scopes (keyScope) refuses callers without them, 403
 * MISSING_SCOPE, before its handlers run; the document says so, and that it may answer 429.
 */
export function defineRoute<R extends RouteConfig>(
  app: OpenAPIHono,
  route: R,
  ...handlers: (Handler | MiddlewareHandler)[]
): R {
  const keyed = route.security === undefined || route.security.length > 0;
  const scopes = scopesRequired(route);
  const declared = createRoute(
    keyed ? { ...route, responses: mergeResponses(route.responses, keyedRouteErrors(scopes)) } : route,
  );
  app.openAPIRegistry.registerPath(declared);
  const guards: MiddlewareHandler[] = scopes.length ? [requireScopes(scopes)] : [];
  app.on(route.method.toUpperCase(), declared.getRoutingPath() as string, ...([...guards, ...handlers] as [Handler]));
  return route;
}

type ErrorResponse = {
  description: string;
  content: {
    "application/json": {
      schema: { allOf: [unknown, { properties: { error: { properties: { code: { enum: string[] } } } } }] };
      examples: Record<string, unknown>;
    };
  };
};

/** Two routes' responses as one: a status both have answers either's codes (as errorResponses builds them). */
function mergeResponses(own: RouteConfig["responses"], added: RouteConfig["responses"]): RouteConfig["responses"] {
  const merged = { ...own };
  for (const [status, response] of Object.entries(added)) {
    const mine = merged[status] as ErrorResponse | undefined;
    const theirs = response as ErrorResponse;
    const codesOf = (r: ErrorResponse) =>
      r.content["application/json"].schema.allOf[1].properties.error.properties.code.enum;
    if (!mine?.content?.["application/json"]?.schema?.allOf) {
      merged[status] = response;
      continue;
    }
    const codes = [...codesOf(mine), ...codesOf(theirs).filter((code) => !codesOf(mine).includes(code))];
    const [label] = mine.description.split(":");
    merged[status] = {
      description: `${label}: ${codes.join(", ")}.`,
      content: {
        "application/json": {
          schema: {
            allOf: [
              mine.content["application/json"].schema.allOf[0],
              {
                type: "object",
                properties: { error: { type: "object", properties: { code: { type: "string", enum: codes } } } },
              },
            ],
          },
          examples: { ...mine.content["application/json"].examples, ...theirs.content["application/json"].examples },
        },
      },
    } as RouteConfig["responses"][string];
  }
  return merged;
}

function requireScopes(scopes: string[]): MiddlewareHandler {
  return async (c, next) => {
    const missing = missingScopes(callerOf(c), scopes);
    if (missing.length) {
      throw new ApiError(
        403,
        "MISSING_SCOPE",
        `This key does not hold the ${missing.join(", ")} scope this route needs.`,
        { missing },
      );
    }
    await next();
  };
}

export interface ApiDescription {
  title: string;
  version: string;
  description: string;
  /** Where it answers by default (npm start). */
  servers: { url: string; description: string }[];
  tags?: { name: string; description: string }[];
}

/** The x-api-key scheme, once per app. */
export function registerApiKeyScheme(app: OpenAPIHono) {
  app.openAPIRegistry.registerComponent("securitySchemes", API_KEY_SCHEME, {
    type: "apiKey",
    in: "header",
    name: "x-api-key",
    description:
      "Every route under /v1/ needs a key, and most a scope of it (listed in each operation's security requirement; without it: 403 MISSING_SCOPE). Keys are created with `quire keys create` or POST /v1/keys on the ingestion API, and work on both APIs; QUIRE_API_KEY is the bootstrap key holding every scope (npm start generates one and prints it). Each key has a request rate (over it: 429 RATE_LIMITED with Retry-After; RateLimit-Limit/-Remaining/-Reset on every answer). /health, /openapi.json and /docs need no key.",
  });
}

/** The document: what `/openapi.json` serves and `npm run generate` commits. */
export function buildOpenApiDocument(app: OpenAPIHono, description: ApiDescription) {
  const document = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: { title: description.title, version: description.version, description: description.description },
    servers: description.servers,
    ...(description.tags ? { tags: description.tags } : {}),
  });
  // zod-to-openapi always writes these, empty or not; an empty map is noise in a committed file.
  const { webhooks, components, ...rest } = document as typeof document & { webhooks?: Record<string, unknown> };
  const { parameters, ...usedComponents } = components ?? {};
  return {
    ...rest,
    ...(webhooks && Object.keys(webhooks).length ? { webhooks } : {}),
    components: { ...usedComponents, ...(parameters && Object.keys(parameters).length ? { parameters } : {}) },
  };
}
export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;
/** The committed form: two-space JSON and a final newline, like asyncapi.json. */
export const serializeOpenApi = (document: unknown) => `${JSON.stringify(document, null, 2)}\n`;

const require = createRequire(import.meta.url);
/** The Swagger UI files /docs loads, served from the installed swagger-ui-dist: no CDN at view time. */
export const DOCS_ASSETS = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
} as const;
export type DocsAsset = keyof typeof DOCS_ASSETS;
const assetCache = new Map<DocsAsset, Promise<string>>();
export function readDocsAsset(name: DocsAsset): Promise<string> {
  let asset = assetCache.get(name);
  if (!asset) {
    asset = readFile(join(dirname(require.resolve("swagger-ui-dist/package.json")), name), "utf8");
    asset.catch(() => assetCache.delete(name));
    assetCache.set(name, asset);
  }
  return asset;
}

/** The /docs page: Swagger UI, its script and styles from this same server, reading /openapi.json. */
export const docsPage = (title: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: new URL("openapi.json", location.href).href, dom_id: "#docs", deepLinking: true, persistAuthorization: true });
</script>
</body>
</html>
`;
