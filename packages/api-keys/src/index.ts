export {
  BOOTSTRAP_KEY_ID,
  createKeyAuthenticator,
  type AuthenticatorOptions,
  type KeyAuthenticator,
  type Principal,
} from "./authenticator.ts";
export { ApiKeyError, KeyNotActiveError, KeyNotFoundError } from "./errors.ts";
export { DEFAULT_KEY_LIMITS, keyLimits, type KeyLimits } from "./limits.ts";
export { scope, SCOPE_DESCRIPTIONS, SCOPES, type Scope } from "./scopes.ts";
export { keyIdOf, keyPreview } from "./secret.ts";
export {
  createApiKeyStore,
  keyStatus,
  viewOf,
  type ApiKeyRecord,
  type ApiKeyStore,
  type ApiKeyView,
  type IssuedKey,
  type KeyStatus,
  type NewKey,
} from "./store.ts";
export { createApiKeys, type ApiKeys } from "./api-keys.ts";
