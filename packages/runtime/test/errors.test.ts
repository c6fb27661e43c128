import { describe, expect, it } from "vitest";
import { isPermanentError, PermanentError } from "../src/index.ts";

describe("PermanentError", () => {
  it("carries an UPPER_SNAKE_CASE code and keeps its cause", () => {
    const cause = new Error("root");
    const error = new PermanentError("DOCUMENT_TOO_LARGE", "too large", { cause });

    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: "PermanentError", code: "DOCUMENT_TOO_LARGE", message: "too large", cause });
  });

  it("rejects a code that is not UPPER_SNAKE_CASE", () => {
    expect(() => new PermanentError("too-large", "x")).toThrow(TypeError);
  });

  it("is recognised by shape too, so a second copy of the package still dead-letters", () => {
    const foreign = Object.assign(new Error("x"), { name: "PermanentError", code: "BAD_INPUT" });
    expect(isPermanentError(foreign)).toBe(true);
    expect(isPermanentError(new Error("x"))).toBe(false);
  });
});
