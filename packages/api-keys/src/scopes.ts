import { z } from "zod";

/**
 * What a key may do. Each route of both APIs names the one scope it needs (its OpenAPI
 * `security` says which); a key holds any set of them. The bootstrap key (QUIRE_API_KEY) holds all.
 */
export const SCOPES = [
  "documents:submit",
  "jobs:read",
  "subscriptions:manage",
  "dead-letters:manage",
  "keys:manage",
] as const;
export type Scope = (typeof SCOPES)[number];
export const scope = z.enum(SCOPES);

export const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  "documents:submit": "Submit documents and runs (POST /v1/documents, /v1/runs).",
  "jobs:read": "Read jobs and runs.",
  "subscriptions:manage": "Create, change and read notification subscriptions and their deliveries.",
  "dead-letters:manage": "List, show and redrive dead letters.",
  "keys:manage": "Create, list, rotate and revoke API keys (only with scopes the key itself holds).",
};
