import { z } from "@hono/zod-openapi";
import {
  ApiKeyError,
  BOOTSTRAP_KEY_ID,
  keyLimits,
  SCOPE_DESCRIPTIONS,
  SCOPES,
  viewOf,
  type ApiKeyRecord,
  type ApiKeyStore,
  type KeyAuthenticator,
  type KeyLimits,
  type Principal,
  type Scope,
} from "@quire/api-keys";
import {
  ApiError,
  BAD_JSON_BODY,
  callerOf,
  defineRoute,
  errorResponses,
  INTERNAL,
  json,
  keyScope,
  limitBody,
  missingScopes,
  NOT_JSON,
  parseJsonBody,
  parseOptionalJsonBody,
  payloadTooLarge,
  UNAUTHORIZED,
  type createApiApp,
} from "@quire/http-api";
import type { Context } from "hono";

/** A key request is a name, scopes and limits: a few hundred bytes. */
const KEY_BODY_BYTES = 16 * 1024;

/** The longest overlap a rotated key keeps working for. */
export const MAX_ROTATION_OVERLAP_SECONDS = 30 * 24 * 3600;
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 24 * 3600;

const keyId = z
  .string()
  .regex(/^k[0-9a-f]{16}$/)
  .meta({
    description: "Names the key; public (it is part of the key, before its secret).",
    example: "k3f9a0c2d4e6b8a1c",
  });
const scopeSchema = z.enum(SCOPES).meta({
  description: Object.entries(SCOPE_DESCRIPTIONS)
    .map(([scope, what]) => `\`${scope}\`: ${what}`)
    .join(" "),
});
const limitsSchema = keyLimits.meta({
  id: "KeyLimits",
  description:
    "Per key and API process: a token bucket (`burst` requests at once, refilled at `requestsPerSecond`; over it 429 RATE_LIMITED) and at most `concurrentWaits` `?wait=` requests in flight (over it 429 TOO_MANY_WAITS). Without them the deployment's defaults (QUIRE_KEY_*) apply.",
});
const keyView = z
  .strictObject({
    keyId,
    name: z.string(),
    preview: z.string().meta({ example: "quire_k3f9a0c2d4e6b8a1c_…" }),
    scopes: z.array(scopeSchema),
    limits: limitsSchema.optional(),
    status: z.enum(["active", "expiring", "expired", "revoked"]).meta({
      description: "expiring: rotated, still working until validUntil; expired: rotated and past it.",
    }),
    createdAt: z.string(),
    createdBy: z.string().meta({ description: "The key that created it (bootstrap: QUIRE_API_KEY)." }),
    lastUsedAt: z.string().optional().meta({ description: "Approximate (written at most once a minute per process)." }),
    revokedAt: z.string().optional(),
    validUntil: z.string().optional(),
    rotatedTo: keyId.optional(),
    rotatedFrom: keyId.optional(),
  })
  .meta({ id: "ApiKey", description: "A key as listed: never the key itself, nor its hash." });
const issuedKey = keyView
  .extend({
    key: z.string().meta({
      description: "The key, shown this once: store it now. Send it as x-api-key to either API.",
      example: "quire_k3f9a0c2d4e6b8a1c_Y2hhbmdlLW1lLXRoaXMtaXMtYW4tZXhhbXBsZS1rZXk",
    }),
  })
  .meta({ id: "IssuedApiKey" });
const newKeyInput = z
  .strictObject({
    name: z.string().trim().min(1).max(100).meta({ example: "acme-dms" }),
    scopes: z
      .array(scopeSchema)
      .min(1, "a key needs at least one scope")
      .refine((scopes) => new Set(scopes).size === scopes.length, "scopes must not repeat"),
    limits: limitsSchema.optional(),
  })
  .meta({ id: "NewApiKey" });
const rotateInput = z
  .strictObject({
    overlapSeconds: z
      .int()
      .min(0)
      .max(MAX_ROTATION_OVERLAP_SECONDS)
      .default(DEFAULT_ROTATION_OVERLAP_SECONDS)
      .meta({ description: "How long the old key keeps working (default a day; 0 stops it now)." }),
  })
  .meta({ id: "RotateApiKey" });
const keyIdParam = z.object({ keyId });

const KEY_NOT_FOUND = { KEY_NOT_FOUND: "No API key k3f9a0c2d4e6b8a1c." };
const SCOPE_NOT_HELD = {
  SCOPE_NOT_HELD: "This key does not hold dead-letters:manage, so it cannot grant or manage a key that does.",
  LIMITS_NOT_HELD: "This key's own requestsPerSecond is lower: it cannot create a key with higher limits.",
};

/** A key may only grant, rotate or revoke scopes it holds itself: keys:manage is not a way up. */
function mustHold(c: Context, scopes: readonly Scope[], doing: string) {
  const missing = missingScopes(callerOf(c), scopes);
  if (missing.length) {
    throw new ApiError(
      403,
      "SCOPE_NOT_HELD",
      `This key does not hold ${missing.join(", ")}, so it cannot ${doing} a key that does.`,
      { missing },
    );
  }
}

/**
 * Nor is it a way to a higher rate: a key's limits are at most its creator's, field by field
 * (the bootstrap key excepted), and a key created without limits gets its creator's.
 */
function limitsWithin(c: Context, asked: KeyLimits | undefined, doing: string): KeyLimits | undefined {
  const caller = callerOf(c) as Principal;
  if (caller.keyId === BOOTSTRAP_KEY_ID) return asked;
  if (!asked) return caller.limits;
  const over = (Object.keys(asked) as (keyof KeyLimits)[]).filter((field) => asked[field] > caller.limits[field]);
  if (over.length) {
    throw new ApiError(
      403,
      "LIMITS_NOT_HELD",
      `This key's own ${over.join(", ")} ${over.length > 1 ? "are" : "is"} lower: it cannot ${doing} a key with higher limits.`,
      { over },
    );
  }
  return asked;
}

const answering = async <T>(work: () => Promise<T>): Promise<T> => {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApiKeyError) {
      throw new ApiError(error.code === "KEY_NOT_FOUND" ? 404 : 409, error.code, error.message);
    }
    throw error;
  }
};

/**
 * API keys over HTTP: create (the key shown once), list, read, rotate (with an overlap) and
 * revoke. The same keys work on the notifier's API: both read one store.
 */
export function registerKeyRoutes(
  app: ReturnType<typeof createApiApp>,
  keys: { store: ApiKeyStore; authenticator: KeyAuthenticator; defaultLimits: KeyLimits; now?: () => Date },
) {
  const tags = ["Keys"];
  const security = keyScope("keys:manage");
  const now = keys.now ?? (() => new Date());
  const existing = async (id: string): Promise<ApiKeyRecord> => {
    const record = keyId.safeParse(id).success ? await keys.store.get(id) : undefined;
    if (!record) {
      throw new ApiError(
        404,
        "KEY_NOT_FOUND",
        id === BOOTSTRAP_KEY_ID
          ? "The bootstrap key is QUIRE_API_KEY: change that setting to replace it."
          : `No API key ${id}.`,
      );
    }
    return record;
  };

  defineRoute(
    app,
    {
      method: "post",
      path: "/v1/keys",
      operationId: "createApiKey",
      summary: "Create an API key",
      description:
        "A new key with a name, scopes (only scopes the calling key holds) and optional limits. The answer holds the key itself, this once; the store keeps only its SHA-256.",
      tags,
      security,
      request: { body: { required: true, ...json(newKeyInput) } },
      responses: {
        201: json(issuedKey, { description: "Created: the key is in `key`, shown only now." }),
        ...errorResponses({
          400: BAD_JSON_BODY,
          401: UNAUTHORIZED,
          403: SCOPE_NOT_HELD,
          413: payloadTooLarge(KEY_BODY_BYTES),
          415: NOT_JSON,
          500: INTERNAL,
        }),
      },
    },
    limitBody(KEY_BODY_BYTES),
    async (c) => {
      const input = await parseJsonBody(c, newKeyInput);
      mustHold(c, input.scopes, "create");
      const limits = limitsWithin(c, input.limits, "create");
      const { key, record } = await keys.store.create({
        name: input.name,
        scopes: input.scopes,
        ...(limits ? { limits } : {}),
        createdBy: callerOf(c).keyId,
      });
      return c.json({ ...viewOf(record, now()), key }, 201, { location: `/v1/keys/${record.keyId}` });
    },
  );

  defineRoute(
    app,
    {
      method: "get",
      path: "/v1/keys",
      operationId: "listApiKeys",
      summary: "List API keys",
      description:
        "Every key, oldest first, with its status; revoked and expired keys stay listed for 30 days. The bootstrap key (QUIRE_API_KEY) is not among them.",
      tags,
      security,
      responses: {
        200: json(z.strictObject({ keys: z.array(keyView) }).meta({ id: "ApiKeyList" }), { description: "The keys." }),
        ...errorResponses({ 401: UNAUTHORIZED, 500: INTERNAL }),
      },
    },
    async (c) => {
      const at = now();
      return c.json({ keys: (await keys.store.list()).map((record) => viewOf(record, at)) });
    },
  );

  defineRoute(
    app,
    {
      method: "get",
      path: "/v1/keys/{keyId}",
      operationId: "getApiKey",
      summary: "Read an API key",
      tags,
      security,
      request: { params: keyIdParam },
      responses: {
        200: json(keyView, { description: "The key (never the key itself)." }),
        ...errorResponses({ 401: UNAUTHORIZED, 404: KEY_NOT_FOUND, 500: INTERNAL }),
      },
    },
    async (c) => c.json(viewOf(await existing(c.req.param("keyId") ?? ""), now())),
  );

  defineRoute(
    app,
    {
      method: "post",
      path: "/v1/keys/{keyId}/rotate",
      operationId: "rotateApiKey",
      summary: "Rotate an API key",
      description:
        "Issues a successor with the same name, scopes and limits (its key shown this once) and lets the old key work for `overlapSeconds` more, so its holders can switch without a gap. Only an active key can be rotated, once: a second rotation (or one racing this) is 409 KEY_NOT_ACTIVE.",
      tags,
      security,
      request: { params: keyIdParam, body: { required: false, ...json(rotateInput) } },
      responses: {
        201: json(issuedKey.extend({ previous: keyView }).meta({ id: "RotatedApiKey" }), {
          description: "The successor, with its key; `previous` is the old key with its validUntil.",
        }),
        ...errorResponses({
          400: BAD_JSON_BODY,
          401: UNAUTHORIZED,
          403: SCOPE_NOT_HELD,
          404: KEY_NOT_FOUND,
          409: { KEY_NOT_ACTIVE: "API key k3f9a0c2d4e6b8a1c is already rotated: only an active key can be rotated." },
          413: payloadTooLarge(KEY_BODY_BYTES),
          415: NOT_JSON,
          500: INTERNAL,
        }),
      },
    },
    limitBody(KEY_BODY_BYTES),
    async (c) => {
      const { overlapSeconds } = await parseOptionalJsonBody(c, rotateInput);
      const previous = await existing(c.req.param("keyId") ?? "");
      mustHold(c, previous.scopes, "rotate");
      limitsWithin(c, previous.limits ?? keys.defaultLimits, "rotate");
      const successor = await answering(() =>
        keys.store.rotate(previous.keyId, { overlapSeconds, rotatedBy: callerOf(c).keyId }),
      );
      keys.authenticator.forget(previous.keyId);
      const at = now();
      const rotated = (await keys.store.get(previous.keyId)) ?? previous;
      return c.json({ ...viewOf(successor.record, at), key: successor.key, previous: viewOf(rotated, at) }, 201, {
        location: `/v1/keys/${successor.record.keyId}`,
      });
    },
  );

  defineRoute(
    app,
    {
      method: "delete",
      path: "/v1/keys/{keyId}",
      operationId: "revokeApiKey",
      summary: "Revoke an API key",
      description:
        "Final: the key stops working at once on this process, and on every API process within 10 seconds (how long a verified key is trusted without reading the store). Revoking a revoked key answers it unchanged. A key that was rotated has a successor (`rotatedTo`) that revoking it leaves working — which is what ending an overlap early needs; for a leaked key, whose holder may have rotated it, pass `withSuccessors=true` to revoke the whole chain of successors too (`revokedSuccessors` lists them).",
      tags,
      security,
      request: {
        params: keyIdParam,
        query: z.object({
          withSuccessors: z.enum(["true", "false"]).optional().meta({
            description: "Also revoke every successor this key was rotated into, and theirs.",
          }),
        }),
      },
      responses: {
        200: json(
          keyView
            .extend({
              revokedSuccessors: z
                .array(keyId)
                .optional()
                .meta({ description: "With withSuccessors=true: the successors revoked with it, in order." }),
            })
            .meta({ id: "RevokedApiKey" }),
          { description: "The key, revoked." },
        ),
        ...errorResponses({
          400: { VALIDATION_FAILED: "withSuccessors: must be true or false" },
          401: UNAUTHORIZED,
          403: SCOPE_NOT_HELD,
          404: KEY_NOT_FOUND,
          500: INTERNAL,
        }),
      },
    },
    async (c) => {
      const cascade = c.req.queries("withSuccessors") ?? [];
      if (cascade.length > 1 || (cascade[0] !== undefined && cascade[0] !== "true" && cascade[0] !== "false"))
        throw new ApiError(400, "VALIDATION_FAILED", "withSuccessors: must be true or false, given once", [
          { path: "withSuccessors", message: "must be true or false" },
        ]);
      const record = await existing(c.req.param("keyId") ?? "");
      mustHold(c, record.scopes, "revoke");
      const revoked = await answering(() => keys.store.revoke(record.keyId));
      keys.authenticator.forget(record.keyId);
      const revokedSuccessors: string[] = [];
      // A chain is as long as the key's rotations; the bound only guards against a cycle no write makes.
      for (let next = revoked.rotatedTo; next && cascade[0] === "true" && revokedSuccessors.length < 1000; ) {
        const successor = await keys.store.get(next);
        if (!successor) break;
        mustHold(c, successor.scopes, "revoke");
        const done = await answering(() => keys.store.revoke(successor.keyId));
        keys.authenticator.forget(successor.keyId);
        revokedSuccessors.push(successor.keyId);
        next = done.rotatedTo;
      }
      return c.json({ ...viewOf(revoked, now()), ...(cascade[0] === "true" ? { revokedSuccessors } : {}) });
    },
  );
}
