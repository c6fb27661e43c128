/** Structured logger: one JSON object per line, so CloudWatch Logs Insights and `jq` read it as is. */
export interface Logger {
  debug(msg: string, fields?: object): void;
  info(msg: string, fields?: object): void;
  warn(msg: string, fields?: object): void;
  error(msg: string, fields?: object): void;
  /** A logger whose lines carry `fields` as well (later fields win). */
  child(fields: object): Logger;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

function levelFromEnv(): LogLevel {
  const configured = process.env.QUIRE_LOG_LEVEL?.trim().toLowerCase();
  return configured && Object.hasOwn(SEVERITY, configured) ? (configured as LogLevel) : "info";
}

/** Errors stringify to `{}`; keep what an operator needs: name, message, code, stack, cause. */
function serializeError(error: Error, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = { name: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (error.stack) out.stack = error.stack;
  if (error.cause !== undefined && depth < 3) {
    out.cause = error.cause instanceof Error ? serializeError(error.cause, depth + 1) : error.cause;
  }
  return out;
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return serializeError(value);
  if (typeof value === "bigint") return value.toString();
  return value;
}

const defaultSink = (line: string) => {
  process.stdout.write(`${line}\n`);
};

/**
 * JSON lines to stdout by default. The level comes from QUIRE_LOG_LEVEL (debug, info, warn,
 * error, silent; default info), read once here so a hot loop does not consult the environment.
 */
export function createLogger(
  fields: object = {},
  sink: (line: string) => void = defaultSink,
  level: LogLevel = levelFromEnv(),
): Logger {
  const threshold = SEVERITY[level];
  const base = { ...fields };

  const write = (entryLevel: Exclude<LogLevel, "silent">, msg: string, entryFields?: object) => {
    if (SEVERITY[entryLevel] < threshold) return;
    // level/time/msg come first and cannot be overwritten by fields, so every line parses the same way.
    const entry: Record<string, unknown> = { level: entryLevel, time: new Date().toISOString(), msg };
    for (const [key, value] of Object.entries({ ...base, ...entryFields })) if (!(key in entry)) entry[key] = value;
    let line: string;
    try {
      line = JSON.stringify(entry, replacer);
    } catch (error) {
      // A circular field must not turn a log call into a crash.
      line = JSON.stringify({ level: entryLevel, time: entry.time, msg, logError: (error as Error).message });
    }
    sink(line);
  };

  return {
    debug: (msg, f) => write("debug", msg, f),
    info: (msg, f) => write("info", msg, f),
    warn: (msg, f) => write("warn", msg, f),
    error: (msg, f) => write("error", msg, f),
    child: (childFields) => createLogger({ ...base, ...childFields }, sink, level),
  };
}
