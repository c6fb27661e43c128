/**
 * Fault injection at the edge: in front of every service route, before anything is forwarded,
 * so an emulator never sees a request that "failed at AWS's front end". devcloud's own
 * /_quire/* endpoints are not routed through here and are never faulted.
 *
 * Randomness is seeded (mulberry32/hashSeed, shared with the Bedrock emulator): each rule draws
 * from its own stream, derived from the seed and the rule's position, so applying the same
 * config again (PUT /_quire/faults, or a restart) and making the same calls gives the same
 * faults, and one rule's traffic never shifts another rule's sequence.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { hashSeed, mulberry32, type RandomSource } from "../bedrock/faults.ts";
import { AwsServiceError, writeJson, writeJsonError } from "../edge/aws-errors.ts";
import type { EdgeHandler } from "../edge/server.ts";
import {
  FaultConfigError,
  parseFaultConfig,
  type DuplicateDeliveries,
  type FaultConfig,
  type FaultConfigInput,
  type FaultRule,
} from "./config.ts";
import { emptyDuplicateStats, type DuplicateDeliverer, type DuplicateStats } from "./duplicates.ts";
import { operationOf } from "./operations.ts";
import { FAULT_SERVICES, wireErrorFor, writeWireError, type ErrorAnswer, type FaultService } from "./wire.ts";

export const FAULTS_ADMIN_PATH = "/_quire/faults";

interface RuleState {
  readonly rule: FaultRule;
  readonly id: string;
  readonly draw: RandomSource;
  readonly jitter: RandomSource;
  /** Matching calls let through by `skip`. */
  skipped: number;
  /** Matching calls inside the rule's window (each drew once). */
  matched: number;
  injected: number;
}

export interface FaultRuleState {
  readonly id: string;
  readonly rule: FaultRule;
  readonly state: "pending" | "active" | "expired";
  readonly matched: number;
  readonly injected: number;
}

export interface FaultState {
  /** Whether any rule or duplicate delivery is configured. */
  readonly active: boolean;
  readonly appliedAt: string | null;
  readonly seed: number;
  readonly rules: FaultRuleState[];
  readonly duplicateDeliveries: (DuplicateDeliveries & { stats: DuplicateStats }) | null;
}

/** What devcloud's callers get: set, inspect and clear the faults while running. */
export interface FaultControl {
  /** Replace the whole config (validated; throws FaultConfigError). Windows and draws restart now. */
  configure(config: FaultConfigInput): FaultState;
  clear(): FaultState;
  state(): FaultState;
}

export interface FaultInjector extends FaultControl {
  /** The services' routes, each behind the fault rules for its signing name. */
  wrap(services: Record<string, EdgeHandler>): Record<string, EdgeHandler>;
  /** GET / PUT / DELETE /_quire/faults; false for any other path. */
  handleAdmin(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<boolean>;
}

export interface FaultInjectorOptions {
  /** SQS duplicate deliveries need the queue store; without it the knob is accepted but inert. */
  duplicates?: DuplicateDeliverer;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  log?: (line: string) => void;
}

type Decision =
  | { readonly delayMs: number; readonly fault?: undefined }
  | {
      readonly delayMs: number;
      readonly fault: { readonly kind: ErrorAnswer | "ConnectionReset"; readonly rule: RuleState };
    };

const EMPTY: FaultConfig = { seed: 1, rules: [] };

export function createFaultInjector(options: FaultInjectorOptions = {}): FaultInjector {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const log = options.log ?? (() => {});

  let config: FaultConfig = EMPTY;
  let appliedAt: number | null = null;
  let rules: RuleState[] = [];
  let duplicateRandom: RandomSource = mulberry32(0);
  let duplicateStats = emptyDuplicateStats();

  function apply(next: FaultConfig): FaultState {
    config = next;
    appliedAt = now();
    rules = next.rules.map((rule, index) => ({
      rule,
      id: rule.id ?? `rule-${index + 1}`,
      draw: mulberry32(hashSeed(next.seed, "rule", index, "draw")),
      jitter: mulberry32(hashSeed(next.seed, "rule", index, "jitter")),
      skipped: 0,
      matched: 0,
      injected: 0,
    }));
    duplicateRandom = mulberry32(hashSeed(next.seed, "duplicateDeliveries"));
    duplicateStats = emptyDuplicateStats();
    return state();
  }

  function ruleState(rule: RuleState, at: number): FaultRuleState["state"] {
    const elapsed = at - (appliedAt ?? at);
    if (rule.rule.until !== undefined && elapsed >= rule.rule.until) return "expired";
    if (rule.rule.count !== undefined && rule.matched >= rule.rule.count) return "expired";
    if (rule.rule.from !== undefined && elapsed < rule.rule.from) return "pending";
    return "active";
  }

  function state(): FaultState {
    const at = now();
    return {
      active: config.rules.length > 0 || config.duplicateDeliveries !== undefined,
      appliedAt: appliedAt === null ? null : new Date(appliedAt).toISOString(),
      seed: config.seed,
      rules: rules.map((r) => ({
        id: r.id,
        rule: r.rule,
        state: ruleState(r, at),
        matched: r.matched,
        injected: r.injected,
      })),
      duplicateDeliveries: config.duplicateDeliveries
        ? { ...config.duplicateDeliveries, stats: { ...duplicateStats } }
        : null,
    };
  }

  function decide(service: FaultService, req: IncomingMessage, body: Buffer): Decision {
    if (rules.length === 0) return { delayMs: 0 };
    let operation: string | undefined | null = null; // null: not read yet
    let delayMs = 0;
    const at = now();
    for (const state of rules) {
      const { rule } = state;
      if (rule.service !== undefined && rule.service !== service) continue;
      if (rule.operations !== undefined) {
        if (operation === null) operation = operationOf(service, req, body);
        if (operation === undefined || !rule.operations.includes(operation)) continue;
      }
      if (ruleState(state, at) !== "active") continue;
      if (rule.skip !== undefined && state.skipped < rule.skip) {
        state.skipped++;
        continue;
      }
      state.matched++;
      if (!(state.draw() < rule.rate)) continue;
      state.injected++;
      const delay = (rule.latencyMs ?? 0) + (rule.jitterMs ? state.jitter() * rule.jitterMs : 0);
      delayMs += delay;
      if (rule.error !== "Latency") return { delayMs, fault: { kind: rule.error, rule: state } };
    }
    return { delayMs };
  }

  function guard(service: FaultService, handler: EdgeHandler): EdgeHandler {
    return async (req, body, res) => {
      const decision = decide(service, req, body);
      if (decision.delayMs > 0) await sleep(decision.delayMs);
      const { fault } = decision;
      if (fault?.kind === "ConnectionReset") {
        resetConnection(req, res);
        return;
      }
      if (fault) {
        writeWireError(service, wireErrorFor(service, fault.kind, fault.rule.rule.code), req, res, fault.rule.id);
        return;
      }
      const duplicates = options.duplicates;
      if (service === "sqs" && duplicates?.wants(config.duplicateDeliveries) && isReceiveMessage(req, body)) {
        return duplicates.receive(
          req,
          body,
          res,
          () => handler(req, body, res),
          config.duplicateDeliveries,
          duplicateRandom,
          duplicateStats,
        );
      }
      return handler(req, body, res);
    };
  }

  const control: FaultControl = {
    configure: (input) => apply(parseFaultConfig(input)),
    clear: () => apply(EMPTY),
    state,
  };

  return {
    ...control,

    wrap(services) {
      const wrapped: Record<string, EdgeHandler> = {};
      for (const [name, handler] of Object.entries(services)) {
        wrapped[name] = (FAULT_SERVICES as readonly string[]).includes(name)
          ? guard(name as FaultService, handler)
          : handler;
      }
      return wrapped;
    },

    async handleAdmin(req, body, res) {
      if (new URL(req.url ?? "/", "http://edge").pathname !== FAULTS_ADMIN_PATH) return false;
      try {
        if (req.method === "GET") {
          writeJson(res, 200, state());
        } else if (req.method === "PUT") {
          let input: unknown;
          try {
            input = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
          } catch {
            throw new AwsServiceError("ValidationException", "The fault config is not valid JSON.");
          }
          writeJson(res, 200, control.configure(input as FaultConfigInput));
          log(
            `devcloud faults: ${config.rules.length} rule(s)${config.duplicateDeliveries ? ", SQS duplicate deliveries" : ""}, seed ${config.seed}`,
          );
        } else if (req.method === "DELETE") {
          writeJson(res, 200, control.clear());
        } else {
          throw new AwsServiceError(
            "MethodNotAllowed",
            `${FAULTS_ADMIN_PATH} takes GET, PUT (a fault config) or DELETE.`,
            405,
          );
        }
      } catch (error) {
        const message = error instanceof FaultConfigError ? error.message : (error as Error).message;
        writeJsonError(
          res,
          error instanceof AwsServiceError ? error : new AwsServiceError("ValidationException", message),
        );
      }
      return true;
    },
  };
}

function isReceiveMessage(req: IncomingMessage, body: Buffer): boolean {
  return req.headers["x-amz-target"] === "AmazonSQS.ReceiveMessage" && body.length > 0;
}

/**
 * Drop the connection without an answer, as a reset between the client and AWS looks: for
 * HTTP/1.1 a TCP RST on the request's socket (the SDK sees ECONNRESET, a transient error), for
 * HTTP/2 the whole session's connection, with every stream on it.
 */
function resetConnection(req: IncomingMessage, res: ServerResponse): void {
  const stream = (res as unknown as { stream?: { session?: { destroy(): void } } }).stream;
  if (stream?.session) {
    stream.session.destroy();
    return;
  }
  const socket = req.socket;
  if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
  else socket.destroy();
}
