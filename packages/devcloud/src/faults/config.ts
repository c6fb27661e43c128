/**
 * The fault-injection config: an ordered list of rules, a seed, and SQS duplicate deliveries.
 *
 * ```json
 * {
 *   "seed": 7,
 *   "rules": [
 *     { "service": "sqs", "operations": ["SendMessage"], "error": "ServiceUnavailable", "count": 2 },
 *     { "service": "dynamodb", "error": "Throttling", "rate": 0.1, "from": "30s", "until": "2m" },
 *     { "service": "bedrock", "error": "Latency", "latencyMs": 800, "jitterMs": 400 },
 *     { "error": "ConnectionReset", "rate": 0.01 }
 *   ],
 *   "duplicateDeliveries": { "rate": 0.2, "copies": 2 }
 * }
 * ```
 *
 * Each request the edge routes to a service goes through the rules in order. A rule that
 * matches it (service, operation, time window, call window) draws once from its own seeded
 * stream and fires with probability `rate`. A firing Latency rule delays the request and the
 * walk goes on; the first firing error rule (InternalError, ServiceUnavailable, Throttling,
 * ConnectionReset) answers, and the rules after it do not see the call.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ERROR_ANSWERS, FAULT_SERVICES, WIRE_ERRORS, type ErrorAnswer } from "./wire.ts";

export const FAULT_KINDS = [...ERROR_ANSWERS, "ConnectionReset", "Latency"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds after the config is applied: a number (ms) or "500ms", "10s", "2m", "1h". */
const duration = z
  .union([
    z.number().finite().nonnegative(),
    z.string().regex(DURATION, 'a duration: milliseconds, or a string like "500ms", "10s", "2m"'),
  ])
  .transform((value) => {
    if (typeof value === "number") return value;
    const [, amount, unit] = DURATION.exec(value)!;
    return Number(amount) * UNIT_MS[unit!]!;
  });

const rate = z.number().min(0).max(1);
const milliseconds = z.number().finite().nonnegative();

export const faultRuleSchema = z
  .strictObject({
    /** Names the rule in GET /_quire/faults and in the x-quire-fault response header (default rule-<n>). */
    id: z.string().min(1).optional(),
    /** Which service's requests (the SigV4 signing name); omitted = every service. */
    service: z.enum(FAULT_SERVICES).optional(),
    /**
     * Operation names as the SDK's commands have them, without "Command" (SendMessage, PutItem, PutObject, Converse).
     */
    operations: z
      .array(z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, "an operation name like SendMessage"))
      .min(1)
      .optional(),
    error: z.enum(FAULT_KINDS),
    /** A specific wire code for the error kind, one the service really sends (see WIRE_ERRORS); needs `service`. */
    code: z.string().optional(),
    /** Chance that a matching call is faulted (default 1). */
    rate: rate.default(1),
    /** Latency: the delay; for the other kinds, a delay before the failure is answered. */
    latencyMs: milliseconds.optional(),
    /** Adds a uniform 0..jitterMs to latencyMs, from the seeded stream. */
    jitterMs: milliseconds.optional(),
    /** The rule's time window, relative to when the config was applied. */
    from: duration.optional(),
    until: duration.optional(),
    /** Let the first `skip` matching calls through before the rule starts. */
    skip: z.number().int().nonnegative().optional(),
    /** The rule covers only the next `count` matching calls (after `skip`), then expires. */
    count: z.number().int().positive().optional(),
  })
  .superRefine((rule, ctx) => {
    if (rule.error === "Latency" && rule.latencyMs === undefined) {
      ctx.addIssue({ code: "custom", path: ["latencyMs"], message: "a Latency rule needs latencyMs" });
    }
    if (rule.from !== undefined && rule.until !== undefined && rule.until <= rule.from) {
      ctx.addIssue({ code: "custom", path: ["until"], message: "until must be after from" });
    }
    if (rule.code !== undefined) {
      if (!(ERROR_ANSWERS as readonly string[]).includes(rule.error)) {
        ctx.addIssue({ code: "custom", path: ["code"], message: `code applies to ${ERROR_ANSWERS.join(", ")} only` });
      } else if (rule.service === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["code"],
          message: "code needs a service: each service has its own codes",
        });
      } else {
        const codes = WIRE_ERRORS[rule.service][rule.error as ErrorAnswer].map((choice) => choice.code);
        if (!codes.includes(rule.code)) {
          ctx.addIssue({
            code: "custom",
            path: ["code"],
            message: `${rule.service} answers ${rule.error} as ${codes.join(" or ")}`,
          });
        }
      }
    }
  });

export const duplicateDeliveriesSchema = z.strictObject({
  /** Share of received messages (standard queues) that will be delivered again. */
  rate,
  /** How many times such a message is delivered in all (2 or 3). */
  copies: z.number().int().min(2).max(3).default(2),
  /** Only these queues (by name); omitted = every standard queue. */
  queues: z.array(z.string().min(1)).min(1).optional(),
  /** The extra deliveries become visible this long after the first receive (default 0: at once). */
  delaySeconds: z.number().int().min(0).max(900).default(0),
});

export const faultConfigSchema = z.strictObject({
  /** Same seed, same config, same calls → the same faults (default 1). */
  seed: z.number().int().default(1),
  rules: z.array(faultRuleSchema).default([]),
  duplicateDeliveries: duplicateDeliveriesSchema.optional(),
});

export type FaultConfigInput = z.input<typeof faultConfigSchema>;
export type FaultConfig = z.output<typeof faultConfigSchema>;
export type FaultRule = z.output<typeof faultRuleSchema>;
export type DuplicateDeliveries = z.output<typeof duplicateDeliveriesSchema>;

export class FaultConfigError extends Error {
  override readonly name = "FaultConfigError";
}

/** Validates a config; throws FaultConfigError with every problem and its path. */
export function parseFaultConfig(input: unknown, source = "fault config"): FaultConfig {
  const parsed = faultConfigSchema.safeParse(input);
  if (!parsed.success) throw new FaultConfigError(`${source}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** A config from inline JSON (starts with "{") or a path to a JSON file. */
export function readFaultConfig(pathOrJson: string, source: string): FaultConfigInput {
  let text = pathOrJson.trim();
  if (!text.startsWith("{")) {
    try {
      text = readFileSync(text, "utf8");
    } catch (error) {
      throw new FaultConfigError(`${source}: cannot read file "${pathOrJson}": ${(error as Error).message}`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FaultConfigError(`${source}: not valid JSON: ${(error as Error).message}`);
  }
  parseFaultConfig(json, source);
  return json as FaultConfigInput;
}

/** `QUIRE_DEVCLOUD_FAULTS`: inline JSON or a path to a JSON file; undefined when unset. */
export function faultsFromEnv(env: NodeJS.ProcessEnv): FaultConfigInput | undefined {
  const raw = env.QUIRE_DEVCLOUD_FAULTS?.trim();
  return raw ? readFaultConfig(raw, "QUIRE_DEVCLOUD_FAULTS") : undefined;
}
