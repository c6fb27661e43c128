import { afterAll, afterEach, expect } from "vitest";
import { installResponseValidation, violations } from "./openapi.ts";

// Every spec file: each API response is checked against the OpenAPI documents (support/openapi.ts),
// and a test that got a response they do not describe fails.
installResponseValidation();

const assertNone = () => {
  const found = violations.splice(0);
  expect(found, "responses the OpenAPI documents (services/*/openapi.json) do not describe").toEqual([]);
};
afterEach(assertNone);
afterAll(assertNone);
