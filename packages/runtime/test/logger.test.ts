import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../src/index.ts";

const capture = () => {
  const lines: string[] = [];
  return {
    lines,
    sink: (line: string) => void lines.push(line),
    parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
};

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("createLogger", () => {
  it("writes one JSON object per entry with level, time, msg and the merged fields", () => {
    const out = capture();
    createLogger({ service: "summarizer" }, out.sink).info("summarized", { jobId: "job_1", chars: 3 });

    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).not.toContain("\n");
    expect(out.parsed()[0]).toEqual({
      level: "info",
      time: expect.any(String),
      msg: "summarized",
      service: "summarizer",
      jobId: "job_1",
      chars: 3,
    });
  });

  it("child loggers add their fields to every line, later fields winning", () => {
    const out = capture();
    const log = createLogger({ service: "a", stage: "x" }, out.sink).child({ messageId: "m1", stage: "y" });
    log.warn("slow");

    expect(out.parsed()[0]).toMatchObject({ level: "warn", service: "a", messageId: "m1", stage: "y" });
  });

  it("does not let fields overwrite level, time or msg", () => {
    const out = capture();
    createLogger({}, out.sink).error("real", { level: "debug", msg: "fake" });

    expect(out.parsed()[0]).toMatchObject({ level: "error", msg: "real" });
  });

  it("filters by QUIRE_LOG_LEVEL", () => {
    vi.stubEnv("QUIRE_LOG_LEVEL", "warn");
    const out = capture();
    const log = createLogger({}, out.sink);
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");

    expect(out.parsed().map((line) => line.msg)).toEqual(["w", "e"]);
  });

  it("serializes errors with name, message, code and cause", () => {
    const out = capture();
    const error = Object.assign(new Error("throttled", { cause: new Error("429") }), { code: "ThrottlingException" });
    createLogger({}, out.sink).error("failed", { error });

    expect(out.parsed()[0]?.error).toMatchObject({
      name: "Error",
      message: "throttled",
      code: "ThrottlingException",
      cause: { message: "429" },
    });
  });

  it("still writes a line when a field cannot be serialized", () => {
    const out = capture();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    createLogger({}, out.sink).info("odd", { circular });

    expect(out.parsed()[0]).toMatchObject({ level: "info", msg: "odd", logError: expect.any(String) });
  });
});
