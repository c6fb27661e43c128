/** Every failure of the key store: a stable code the APIs answer with. */
export class ApiKeyError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

export class KeyNotFoundError extends ApiKeyError {
  constructor(keyId: string) {
    super("KEY_NOT_FOUND", `No API key ${keyId}.`);
  }
}

/** Rotating a key that is revoked, expired or already rotated. */
export class KeyNotActiveError extends ApiKeyError {
  constructor(keyId: string, status: string) {
    super("KEY_NOT_ACTIVE", `API key ${keyId} is ${status}: only an active key can be rotated.`);
  }
}
