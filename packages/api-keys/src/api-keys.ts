import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createKeyAuthenticator, type KeyAuthenticator } from "./authenticator.ts";
import type { KeyLimits } from "./limits.ts";
import { createApiKeyStore, type ApiKeyStore } from "./store.ts";

export interface ApiKeys {
  store: ApiKeyStore;
  authenticator: KeyAuthenticator;
  /** What a key created without its own limits gets. */
  defaultLimits: KeyLimits;
}

/** The key store and the authenticator over it, as each API process holds them. */
export function createApiKeys(options: {
  client: DynamoDBClient;
  tableName: string;
  bootstrapKey?: string;
  defaultLimits: KeyLimits;
  onTouchError?: (error: unknown, keyId: string) => void;
}): ApiKeys {
  const store = createApiKeyStore({ client: options.client, tableName: options.tableName });
  return {
    store,
    defaultLimits: options.defaultLimits,
    authenticator: createKeyAuthenticator({
      store,
      ...(options.bootstrapKey ? { bootstrapKey: options.bootstrapKey } : {}),
      defaultLimits: options.defaultLimits,
      ...(options.onTouchError ? { onTouchError: options.onTouchError } : {}),
    }),
  };
}
