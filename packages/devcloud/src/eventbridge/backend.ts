import type { IncomingMessage, ServerResponse } from "node:http";
import { AwsServiceError, parseJsonObject, writeJson, writeJsonError } from "../edge/aws-errors.ts";
import type { ServiceBackend } from "../edge/backend.ts";
import { EVENTBRIDGE_PUT_EVENTS_MAX_BYTES, EVENTBRIDGE_PUT_EVENTS_MAX_ENTRIES } from "../limits.ts";
import { compileInputTransformer } from "./input-transformer.ts";
import { compileJsonPath } from "./json-path.ts";
import { compileEventPattern, InvalidEventPatternError, type CompiledEventPattern } from "@quire/event-patterns";
import { EventBridgeStore, type Bus, type Rule, type Target } from "./store.ts";

const CONTENT_TYPE = "application/x-amz-json-1.1";
const NAME = /^[.\-_A-Za-z0-9]{1,64}$/;
const BUS_NAME = /^[/.\-_A-Za-z0-9]{1,256}$/;
const REQUIRED_EVENT_FIELDS = ["id", "account", "source", "time", "region", "detail-type"] as const;

/** Delivers one message to an SQS queue given its ARN; resolves false if there is no such queue. */
export type QueueDelivery = (
  queueArn: string,
  body: string,
  options: { messageGroupId?: string | undefined },
) => Promise<boolean>;

export interface EventBridgeBackend extends ServiceBackend {
  readonly store: EventBridgeStore;
  /** Counters for health pages and tests: matched rules, deliveries, failed deliveries. */
  stats(): { eventsPut: number; deliveries: number; failedDeliveries: number };
  /**
   * An AWS service's event (source `aws.*`, which PutEvents refuses callers) on the default bus,
   * as AWS delivers its services' events: devcloud's own emulators announce through this.
   */
  emitServiceEvent(event: {
    source: string;
    detailType: string;
    detail: Record<string, unknown>;
    resources: string[];
  }): Promise<void>;
}

type Handler = (input: Record<string, unknown>) => Promise<unknown> | unknown;

/**
 * EventBridge as a real JSON-1.1 API (X-Amz-Target: AWSEvents.<Operation>): buses, rules with
 * validated event patterns, SQS targets with Input / InputPath / InputTransformer, PutEvents
 * with the full envelope and per-entry errors, and TestEventPattern.
 */
export function createEventBridgeBackend(options: {
  file: string | undefined;
  account: string;
  region: string;
  deliverToQueue: QueueDelivery;
  log?: (line: string) => void;
}): EventBridgeBackend {
  const store = new EventBridgeStore(options);
  const counters = { eventsPut: 0, deliveries: 0, failedDeliveries: 0 };
  const log = options.log ?? (() => {});

  const busOf = (input: Record<string, unknown>, field = "EventBusName"): Bus => {
    const raw = input[field];
    const name =
      typeof raw === "string" && raw.length > 0
        ? raw.replace(/^arn:aws:events:[^:]*:[^:]*:event-bus\//, "")
        : "default";
    const bus = store.buses.get(name);
    if (!bus) throw new AwsServiceError("ResourceNotFoundException", `Event bus ${name} does not exist.`);
    return bus;
  };
  const ruleOf = (input: Record<string, unknown>): [Bus, Rule] => {
    const bus = busOf(input);
    const name = requireString(input, "Name");
    const rule = bus.rules.get(name);
    if (!rule)
      throw new AwsServiceError("ResourceNotFoundException", `Rule ${name} does not exist on EventBus ${bus.Name}.`);
    return [bus, rule];
  };

  const describeRule = (rule: Rule) => ({
    Name: rule.Name,
    Arn: rule.Arn,
    EventPattern: rule.EventPattern,
    State: rule.State,
    EventBusName: rule.EventBusName,
    ...(rule.Description ? { Description: rule.Description } : {}),
  });

  const operations: Record<string, Handler> = {
    CreateEventBus(input) {
      const name = requireString(input, "Name");
      if (!BUS_NAME.test(name) || name === "default") {
        throw new AwsServiceError("ValidationException", `Event bus name ${name} is not valid.`);
      }
      if (store.buses.has(name))
        throw new AwsServiceError("ResourceAlreadyExistsException", `Event bus ${name} already exists.`);
      const bus = store.createBus(name, optionalString(input, "Description"));
      return { EventBusArn: bus.Arn };
    },
    DescribeEventBus(input) {
      const bus = busOf(input, "Name");
      return {
        Name: bus.Name,
        Arn: bus.Arn,
        CreationTime: bus.CreationTime,
        ...(bus.Description ? { Description: bus.Description } : {}),
      };
    },
    ListEventBuses(input) {
      const prefix = optionalString(input, "NamePrefix") ?? "";
      return {
        EventBuses: [...store.buses.values()]
          .filter((bus) => bus.Name.startsWith(prefix))
          .map((bus) => ({ Name: bus.Name, Arn: bus.Arn })),
      };
    },
    DeleteEventBus(input) {
      const name = requireString(input, "Name");
      if (name === "default") throw new AwsServiceError("ValidationException", "Cannot delete event bus default.");
      store.deleteBus(name);
      return {};
    },
    PutRule(input) {
      const bus = busOf(input);
      const name = requireString(input, "Name");
      if (!NAME.test(name))
        throw new AwsServiceError("ValidationException", `Rule name ${name} is not valid: use 1-64 of [.-_A-Za-z0-9].`);
      if (input.ScheduleExpression !== undefined) {
        throw new AwsServiceError(
          "ValidationException",
          "devcloud does not run scheduled rules; give an EventPattern instead.",
        );
      }
      const eventPattern = requireString(input, "EventPattern");
      const compiled = compilePatternOrThrow(eventPattern);
      const state = optionalString(input, "State") ?? "ENABLED";
      if (state !== "ENABLED" && state !== "DISABLED")
        throw new AwsServiceError("ValidationException", `State ${state} is not ENABLED or DISABLED.`);
      const description = optionalString(input, "Description");
      const rule = store.putRule(
        {
          Name: name,
          EventBusName: bus.Name,
          EventPattern: eventPattern,
          State: state,
          ...(description ? { Description: description } : {}),
        },
        compiled,
      );
      return { RuleArn: rule.Arn };
    },
    DescribeRule(input) {
      return describeRule(ruleOf(input)[1]);
    },
    ListRules(input) {
      const bus = busOf(input);
      const prefix = optionalString(input, "NamePrefix") ?? "";
      const rules = [...bus.rules.values()]
        .filter((rule) => rule.Name.startsWith(prefix))
        .sort((a, b) => a.Name.localeCompare(b.Name));
      return paginate(rules.map(describeRule), input, "Rules");
    },
    EnableRule(input) {
      ruleOf(input)[1].State = "ENABLED";
      store.save();
      return {};
    },
    DisableRule(input) {
      ruleOf(input)[1].State = "DISABLED";
      store.save();
      return {};
    },
    DeleteRule(input) {
      const bus = busOf(input);
      const name = requireString(input, "Name");
      const rule = bus.rules.get(name);
      if (!rule) return {}; // DeleteRule is idempotent in EventBridge
      if (rule.targets.length > 0 && input.Force !== true) {
        throw new AwsServiceError("ValidationException", "Rule can't be deleted since it has targets.");
      }
      store.deleteRule(bus, name);
      return {};
    },
    PutTargets(input) {
      const [, rule] = ruleOf({ ...input, Name: input.Rule });
      const targets = input.Targets;
      if (!Array.isArray(targets) || targets.length === 0 || targets.length > 10) {
        throw new AwsServiceError("ValidationException", "Targets must hold between 1 and 10 entries.");
      }
      const failed: { TargetId: string; ErrorCode: string; ErrorMessage: string }[] = [];
      for (const raw of targets as Target[]) {
        const problem = targetProblem(raw);
        if (problem) {
          failed.push({ TargetId: String(raw?.Id ?? ""), ErrorCode: "ValidationException", ErrorMessage: problem });
          continue;
        }
        const index = rule.targets.findIndex((t) => t.Id === raw.Id);
        if (index >= 0) rule.targets[index] = raw;
        else if (rule.targets.length >= 5) {
          failed.push({
            TargetId: raw.Id,
            ErrorCode: "LimitExceededException",
            ErrorMessage: "A rule can have at most 5 targets.",
          });
        } else rule.targets.push(raw);
      }
      store.save();
      return { FailedEntryCount: failed.length, FailedEntries: failed };
    },
    ListTargetsByRule(input) {
      const [, rule] = ruleOf({ ...input, Name: input.Rule });
      return paginate(rule.targets, input, "Targets");
    },
    RemoveTargets(input) {
      const [, rule] = ruleOf({ ...input, Name: input.Rule });
      const ids = input.Ids;
      if (!Array.isArray(ids) || ids.length === 0)
        throw new AwsServiceError("ValidationException", "Ids must hold at least one target id.");
      const failed = ids
        .filter((id) => !rule.targets.some((t) => t.Id === id))
        .map((id) => ({
          TargetId: String(id),
          ErrorCode: "ResourceNotFoundException",
          ErrorMessage: `Target ${String(id)} is not on rule ${rule.Name}.`,
        }));
      rule.targets = rule.targets.filter((t) => !ids.includes(t.Id));
      store.save();
      return { FailedEntryCount: failed.length, FailedEntries: failed };
    },
    TestEventPattern(input) {
      const compiled = compilePatternOrThrow(requireString(input, "EventPattern"));
      const eventText = requireString(input, "Event");
      let event: unknown;
      try {
        event = JSON.parse(eventText);
      } catch {
        throw new AwsServiceError("ValidationException", "Parameter Event is not valid: it is not JSON.");
      }
      if (typeof event !== "object" || event === null || Array.isArray(event)) {
        throw new AwsServiceError("ValidationException", "Parameter Event is not valid: it must be a JSON object.");
      }
      const missing = REQUIRED_EVENT_FIELDS.filter((field) => !(field in event));
      if (missing.length > 0) {
        throw new AwsServiceError(
          "ValidationException",
          `Parameter Event is not valid: missing ${missing.join(", ")}.`,
        );
      }
      return { Result: compiled.matches(eventText) };
    },
    async PutEvents(input) {
      const entries = input.Entries;
      // The model's length constraint on Entries (1..10), worded as AWS words constraint errors.
      if (!Array.isArray(entries) || entries.length === 0) {
        throw new AwsServiceError(
          "ValidationException",
          "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1",
        );
      }
      if (entries.length > EVENTBRIDGE_PUT_EVENTS_MAX_ENTRIES) {
        throw new AwsServiceError(
          "ValidationException",
          `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${EVENTBRIDGE_PUT_EVENTS_MAX_ENTRIES}`,
        );
      }
      // AWS refuses the whole request, not an entry, when the entries' total is over the limit
      // (one entry over the limit is a total over it too), with exactly this message.
      const totalBytes = entries.reduce((sum: number, entry) => sum + entrySize(entry as Record<string, unknown>), 0);
      if (totalBytes > EVENTBRIDGE_PUT_EVENTS_MAX_BYTES) {
        throw new AwsServiceError("ValidationException", "Total size of the entries in the request is over the limit.");
      }
      const results = [];
      for (const entry of entries as Record<string, unknown>[]) {
        results.push(await putEvent(entry));
      }
      return { FailedEntryCount: results.filter((r) => "ErrorCode" in r).length, Entries: results };
    },
  };

  async function putEvent(
    entry: Record<string, unknown>,
    asService = false,
  ): Promise<{ EventId: string } | { ErrorCode: string; ErrorMessage: string }> {
    for (const field of ["Source", "DetailType", "Detail"] as const) {
      if (typeof entry[field] !== "string" || (entry[field] as string).length === 0) {
        return {
          ErrorCode: "InvalidArgument",
          ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
        };
      }
    }
    const source = entry.Source as string;
    const detailText = entry.Detail as string;
    if (source.startsWith("aws.") && !asService)
      return { ErrorCode: "NotAuthorizedForSourceException", ErrorMessage: "Not authorized for the source." };
    let detail: unknown;
    try {
      detail = JSON.parse(detailText);
    } catch {
      return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." };
    }
    if (typeof detail !== "object" || detail === null || Array.isArray(detail)) {
      return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed: it must be a JSON object." };
    }
    let bus: Bus;
    try {
      bus = busOf(entry);
    } catch (error) {
      return { ErrorCode: "ResourceNotFoundException", ErrorMessage: (error as Error).message };
    }
    const resources = Array.isArray(entry.Resources) ? entry.Resources.map(String) : [];
    const time = eventTime(entry.Time);
    const id = crypto.randomUUID();
    const envelope = {
      version: "0",
      id,
      "detail-type": entry.DetailType as string,
      source,
      account: store.account,
      time,
      region: store.region,
      resources,
    };
    // The detail is spliced in as written, so patterns see numbers exactly as the caller sent them.
    const eventText = `${JSON.stringify(envelope).slice(0, -1)},"detail":${detailText}}`;
    const event = { ...envelope, detail };
    counters.eventsPut++;
    for (const rule of bus.rules.values()) {
      if (rule.State !== "ENABLED" || !store.patternOf(rule).matches(eventText)) continue;
      for (const target of rule.targets) await deliver(rule, target, event, eventText);
    }
    return { EventId: id };
  }

  async function deliver(rule: Rule, target: Target, event: Record<string, unknown>, eventText: string) {
    let body: string;
    if (target.Input !== undefined) body = target.Input;
    else if (target.InputPath !== undefined) body = JSON.stringify(compileJsonPath(target.InputPath)(event) ?? null);
    else if (target.InputTransformer)
      body = compileInputTransformer(target.InputTransformer)(event, eventText, { name: rule.Name, arn: rule.Arn });
    else body = eventText;
    const delivered = await options.deliverToQueue(target.Arn, body, {
      messageGroupId: target.SqsParameters?.MessageGroupId,
    });
    if (delivered) counters.deliveries++;
    else {
      counters.failedDeliveries++;
      log(`eventbridge: rule ${rule.Name} could not deliver to ${target.Arn} (no such queue)`);
    }
  }

  return {
    signingName: "events",
    store,
    stats: () => ({ ...counters }),
    async emitServiceEvent(event) {
      const result = await putEvent(
        {
          Source: event.source,
          DetailType: event.detailType,
          Detail: JSON.stringify(event.detail),
          Resources: event.resources,
        },
        true,
      );
      if ("ErrorCode" in result) throw new Error(`${result.ErrorCode}: ${result.ErrorMessage}`);
    },
    async handle(req: IncomingMessage, body: Buffer, res: ServerResponse) {
      const target = String(req.headers["x-amz-target"] ?? "");
      const operation = target.startsWith("AWSEvents.") ? target.slice("AWSEvents.".length) : "";
      try {
        const handler = operations[operation];
        if (!handler)
          throw new AwsServiceError(
            "UnknownOperationException",
            `devcloud EventBridge does not implement ${operation || "(no X-Amz-Target)"}.`,
          );
        const result = await handler(parseJsonObject(body));
        writeJson(res, 200, result, CONTENT_TYPE);
      } catch (error) {
        if (error instanceof AwsServiceError) writeJsonError(res, error, CONTENT_TYPE);
        else writeJsonError(res, new AwsServiceError("InternalException", (error as Error).message, 500), CONTENT_TYPE);
      }
    },
  };
}

function compilePatternOrThrow(pattern: string): CompiledEventPattern {
  try {
    return compileEventPattern(pattern);
  } catch (error) {
    if (error instanceof InvalidEventPatternError) {
      throw new AwsServiceError("InvalidEventPatternException", `Event pattern is not valid. Reason: ${error.message}`);
    }
    throw error;
  }
}

function targetProblem(target: Target): string | undefined {
  if (!target || typeof target.Id !== "string" || !NAME.test(target.Id))
    return "Target Id must be 1-64 of [.-_A-Za-z0-9].";
  if (typeof target.Arn !== "string") return "Target Arn is required.";
  if (!/^arn:aws:sqs:[^:]*:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(target.Arn)) {
    return `devcloud delivers to SQS queue targets only; ${target.Arn} is not an SQS queue ARN.`;
  }
  const inputs = [target.Input, target.InputPath, target.InputTransformer].filter((v) => v !== undefined);
  if (inputs.length > 1) return "Only one of Input, InputPath, or InputTransformer may be set.";
  try {
    if (target.Input !== undefined) JSON.parse(target.Input);
    if (target.InputPath !== undefined) compileJsonPath(target.InputPath);
    if (target.InputTransformer !== undefined) compileInputTransformer(target.InputTransformer);
  } catch (error) {
    return error instanceof SyntaxError ? "Input is not valid JSON." : (error as Error).message;
  }
  if (target.Arn.endsWith(".fifo") && !target.SqsParameters?.MessageGroupId) {
    return "SqsParameters.MessageGroupId is required for a FIFO queue target.";
  }
  return undefined;
}

/** The PutEvents entry size rule from the EventBridge user guide (see EVENTBRIDGE_PUT_EVENTS_MAX_BYTES). */
function entrySize(entry: Record<string, unknown>): number {
  let size = entry.Time !== undefined ? 14 : 0;
  for (const field of ["Source", "DetailType", "Detail"] as const) {
    if (typeof entry[field] === "string") size += Buffer.byteLength(entry[field] as string);
  }
  if (Array.isArray(entry.Resources)) for (const r of entry.Resources) size += Buffer.byteLength(String(r));
  return size;
}

/** awsJson serializes timestamps as epoch seconds; the envelope shows ISO-8601 without millis. */
function eventTime(raw: unknown): string {
  const date = typeof raw === "number" ? new Date(raw * 1000) : typeof raw === "string" ? new Date(raw) : new Date();
  const valid = Number.isNaN(date.getTime()) ? new Date() : date;
  return valid.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function requireString(input: Record<string, unknown>, field: string): string {
  const value = input[field];
  if (typeof value !== "string" || value.length === 0) {
    throw new AwsServiceError(
      "ValidationException",
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null.`,
    );
  }
  return value;
}

function optionalString(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  return typeof value === "string" ? value : undefined;
}

function paginate<T>(items: T[], input: Record<string, unknown>, key: string) {
  const limit = typeof input.Limit === "number" && input.Limit > 0 ? input.Limit : 100;
  const start = typeof input.NextToken === "string" ? Number.parseInt(input.NextToken, 10) || 0 : 0;
  const page = items.slice(start, start + limit);
  return { [key]: page, ...(start + limit < items.length ? { NextToken: String(start + limit) } : {}) };
}
