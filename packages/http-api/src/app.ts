import { OpenAPIHono, z as zo } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { z } from "zod";
import { RateLimiter, setCaller, type Authenticate } from "./access.ts";
import { ApiError, validationFailed } from "./errors.ts";
import {
  buildOpenApiDocument,
  defineRoute,
  DOCS_ASSETS,
  docsPage,
  errorBody,
  errorResponses,
  json,
  readDocsAsset,
  registerApiKeyScheme,
  type ApiDescription,
  type DocsAsset,
  type OpenApiDocument,
} from "./openapi.ts";

const documents = new WeakMap<OpenAPIHono, () => OpenApiDocument>();

/** The app's OpenAPI 3.1 document (what it serves at /openapi.json), built once every route is declared. */
export function openApiDocument(app: OpenAPIHono): OpenApiDocument {
  const document = documents.get(app);
  if (!document) throw new Error("not an app made by createApiApp");
  return document();
}

const REFERENCE_TAG = "Reference";
const health = zo.strictObject({ status: zo.literal("ok") }).meta({ id: "Health" });

/**
 * A Hono app with the conventions every Quire API shares, so ingestion and the notifier answer
 * alike: `GET /health`; on everything under `/v1/` an `x-api-key` that `authenticate` accepts
 * (401), the scope its route declares (403, see defineRoute) and the key's request rate (429
 * with Retry-After; RateLimit-* headers on every answer); `{ error: { code, message } }` for
 * every failure (404 included), and unhandled errors logged once and answered as 500 INTERNAL.
 * It describes itself: `GET /openapi.json` (OpenAPI 3.1, from the routes' zod schemas) and
 * `GET /docs` (Swagger UI, served from this app), neither needing a key.
 */
export function createApiApp(options: {
  service: string;
  authenticate: Authenticate;
  description?: ApiDescription;
  rateLimiter?: RateLimiter;
  /**
   * Origins whose pages may call `/v1/*` from a browser (the console's). The key still decides
   * everything: CORS only lets those pages send it (`x-api-key`, never cookies) and read answers.
   */
  corsOrigins?: readonly string[];
}) {
  const rateLimiter = options.rateLimiter ?? new RateLimiter();
  const app = new OpenAPIHono();
  const description: ApiDescription = options.description ?? {
    title: `Quire ${options.service} API`,
    version: "1.0.0",
    description: `Quire's ${options.service} API.`,
    servers: [{ url: "http://127.0.0.1:3000", description: "Local" }],
  };
  let document: OpenApiDocument | undefined;
  documents.set(
    app,
    () =>
      (document ??= buildOpenApiDocument(app, {
        ...description,
        tags: [
          ...(description.tags ?? []),
          { name: REFERENCE_TAG, description: "Health, and this document. No key needed." },
        ],
      })),
  );
  registerApiKeyScheme(app);
  app.openAPIRegistry.register("Error", errorBody);
  app.onError((error, c) => {
    if (error instanceof ApiError) {
      return c.json(
        { error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } },
        error.status,
      );
    }
    // The same line shape as @quire/runtime's logger (level, time, msg, service), which every other log line uses.
    console.error(
      JSON.stringify({
        level: "error",
        time: new Date().toISOString(),
        msg: "unhandled error in a route",
        service: options.service,
        error: String((error as Error).stack ?? error),
      }),
    );
    return c.json({ error: { code: "INTERNAL", message: "Something went wrong on our side." } }, 500);
  });
  app.notFound((c) =>
    c.json({ error: { code: "NOT_FOUND", message: `No route for ${c.req.method} ${c.req.path}.` } }, 404),
  );
  defineRoute(
    app,
    {
      method: "get",
      path: "/health",
      operationId: "getHealth",
      summary: "Health check",
      description: "Answers 200 while the process serves requests. No key needed.",
      tags: [REFERENCE_TAG],
      security: [],
      responses: { 200: json(health, { description: "Up." }) },
    },
    (c) => c.json({ status: "ok" }),
  );
  defineRoute(
    app,
    {
      method: "get",
      path: "/openapi.json",
      operationId: "getOpenApiDocument",
      summary: "This OpenAPI document",
      description:
        "The OpenAPI 3.1 document of this API, generated from the zod schemas its routes validate with. No key needed.",
      tags: [REFERENCE_TAG],
      security: [],
      responses: {
        200: json(
          { type: "object", description: "An OpenAPI 3.1 document.", additionalProperties: true },
          { description: "The document." },
        ),
      },
    },
    (c) => c.json(openApiDocument(app)),
  );
  defineRoute(
    app,
    {
      method: "get",
      path: "/docs",
      operationId: "getDocs",
      summary: "Interactive reference (Swagger UI)",
      description:
        "An HTML page rendering /openapi.json with Swagger UI; its script and styles come from this server (`/docs/{asset}`), not a CDN. No key needed.",
      tags: [REFERENCE_TAG],
      security: [],
      responses: { 200: { description: "The page.", content: { "text/html": { schema: { type: "string" } } } } },
    },
    (c) => c.html(docsPage(description.title)),
  );
  defineRoute(
    app,
    {
      method: "get",
      path: "/docs/{asset}",
      operationId: "getDocsAsset",
      summary: "A Swagger UI file /docs loads",
      tags: [REFERENCE_TAG],
      security: [],
      request: { params: zo.object({ asset: zo.enum(Object.keys(DOCS_ASSETS) as [DocsAsset, ...DocsAsset[]]) }) },
      responses: {
        200: {
          description: "The file, from the installed swagger-ui-dist package.",
          content: { "text/css": { schema: { type: "string" } }, "text/javascript": { schema: { type: "string" } } },
        },
        ...errorResponses({ 404: { NOT_FOUND: "No route for GET /docs/nothing.js." } }),
      },
    },
    async (c) => {
      const asset = c.req.param("asset") as DocsAsset;
      if (!Object.hasOwn(DOCS_ASSETS, asset)) throw new ApiError(404, "NOT_FOUND", `No route for GET ${c.req.path}.`);
      let body: string;
      try {
        body = await readDocsAsset(asset);
      } catch {
        throw new ApiError(
          404,
          "NOT_FOUND",
          `${asset} is not installed here (the swagger-ui-dist package); read /openapi.json instead.`,
        );
      }
      return c.body(body, 200, { "content-type": DOCS_ASSETS[asset], "cache-control": "public, max-age=86400" });
    },
  );
  // Before the key check: a browser's preflight (OPTIONS) carries no key, and is answered here.
  if (options.corsOrigins && options.corsOrigins.length > 0) {
    app.use(
      "/v1/*",
      cors({
        origin: [...options.corsOrigins],
        allowMethods: ["GET", "POST", "DELETE"],
        allowHeaders: ["x-api-key", "content-type"],
        exposeHeaders: ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "retry-after"],
        maxAge: 600,
      }),
    );
  }
  app.use("/v1/*", async (c, next) => {
    const presented = c.req.header("x-api-key");
    // Quire's keys are 60 characters: anything far longer is not one, and is not worth hashing.
    const caller = presented && presented.length <= 512 ? await options.authenticate(presented) : undefined;
    if (!caller) throw new ApiError(401, "UNAUTHORIZED", "Send a valid API key in the x-api-key header.");
    const rate = rateLimiter.take(caller.keyId, caller.limits);
    c.header("ratelimit-limit", String(rate.limit));
    c.header("ratelimit-remaining", String(rate.remaining));
    c.header("ratelimit-reset", String(rate.resetSeconds));
    if (!rate.allowed) {
      c.header("retry-after", String(rate.retryAfterSeconds));
      throw new ApiError(
        429,
        "RATE_LIMITED",
        `This key is over its rate (${caller.limits.requestsPerSecond} requests/s, bursts of ${caller.limits.burst}): retry after ${rate.retryAfterSeconds} s.`,
      );
    }
    setCaller(c, caller);
    await next();
  });
  return app;
}

/**
 * Whether a Content-Type declares JSON: the media type exactly `application/json` (any case),
 * with no parameter but a UTF-8 charset (RFC 8259: JSON between systems is UTF-8).
 */
export function declaresJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [essence, ...parameters] = contentType.split(";").map((part) => part.trim().toLowerCase());
  if (essence !== "application/json") return false;
  return parameters.every((parameter) => parameter === "" || /^charset="?utf-8"?$/.test(parameter));
}

/** The request body as JSON: 415 when it is not declared JSON, 400 MALFORMED_JSON when it does not parse. */
export async function jsonBody(c: Context): Promise<unknown> {
  if (!declaresJson(c.req.header("content-type")))
    throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json (charset utf-8, if any).");
  try {
    return await c.req.json();
  } catch {
    throw new ApiError(400, "MALFORMED_JSON", "The request body is not valid JSON.");
  }
}

/**
 * For a route whose body is optional: an empty body means `{}` through `schema` (its defaults);
 * any other body must be JSON exactly like a required one — sent without a JSON Content-Type it
 * is 415, never silently ignored (an ignored `{"overlapSeconds":0}` would leave a leaked secret
 * working for a day).
 */
export async function parseOptionalJsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  if ((await c.req.text()) === "") {
    const parsed = schema.safeParse({});
    if (!parsed.success) throw validationFailed(parsed.error);
    return parsed.data;
  }
  return parseJsonBody(c, schema);
}

/** Parse, don't validate: the body through `schema`, or 400 VALIDATION_FAILED naming each bad field. */
export async function parseJsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const parsed = schema.safeParse(await jsonBody(c));
  if (!parsed.success) throw validationFailed(parsed.error);
  return parsed.data;
}

/**
 * A body limit answering 413 PAYLOAD_TOO_LARGE in the shared error shape. The rest of the body is
 * never read, so the answer also says `connection: close`: otherwise a client would reuse a
 * connection that the Node server closes once it gives up draining it, and its next request
 * there would fail ("other side closed").
 */
export function limitBody(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      c.header("connection", "close");
      throw new ApiError(413, "PAYLOAD_TOO_LARGE", `The request body is over ${maxBytes} bytes.`);
    },
  });
}
