import { compileEventPattern, type CompiledEventPattern } from "@quire/event-patterns";
import { readStateFile, writeStateFile } from "../state-file.ts";

export interface Target {
  Id: string;
  Arn: string;
  Input?: string;
  InputPath?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
  SqsParameters?: { MessageGroupId?: string };
  RoleArn?: string;
  DeadLetterConfig?: { Arn?: string };
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
}

export interface Rule {
  Name: string;
  Arn: string;
  EventBusName: string;
  EventPattern: string;
  State: "ENABLED" | "DISABLED";
  Description?: string;
  targets: Target[];
}

export interface Bus {
  Name: string;
  Arn: string;
  Description?: string;
  CreationTime: number;
  rules: Map<string, Rule>;
}

interface Snapshot {
  buses: (Omit<Bus, "rules"> & { rules: Rule[] })[];
}

/**
 * EventBridge's buses, rules and targets. Patterns are compiled once when a rule is put
 * (PutEvents only matches). With a file, every change is written through atomically, so
 * state survives a restart and a crash never leaves half a file.
 */
export class EventBridgeStore {
  readonly buses = new Map<string, Bus>();
  private readonly compiled = new Map<Rule, CompiledEventPattern>();
  private readonly file: string | undefined;
  readonly account: string;
  readonly region: string;

  constructor(options: { file: string | undefined; account: string; region: string }) {
    this.file = options.file;
    this.account = options.account;
    this.region = options.region;
    if (this.file) this.load(this.file);
    if (!this.buses.has("default")) this.createBus("default");
  }

  busArn(name: string) {
    return `arn:aws:events:${this.region}:${this.account}:event-bus/${name}`;
  }

  ruleArn(bus: string, name: string) {
    return `arn:aws:events:${this.region}:${this.account}:rule/${bus === "default" ? "" : `${bus}/`}${name}`;
  }

  createBus(name: string, description?: string): Bus {
    const bus: Bus = {
      Name: name,
      Arn: this.busArn(name),
      CreationTime: Math.floor(Date.now() / 1000),
      rules: new Map(),
      ...(description ? { Description: description } : {}),
    };
    this.buses.set(name, bus);
    this.save();
    return bus;
  }

  deleteBus(name: string) {
    this.buses.delete(name);
    this.save();
  }

  putRule(rule: Omit<Rule, "targets" | "Arn">, compiled: CompiledEventPattern): Rule {
    const bus = this.buses.get(rule.EventBusName)!;
    const existing = bus.rules.get(rule.Name);
    const stored: Rule = { ...rule, Arn: this.ruleArn(bus.Name, rule.Name), targets: existing?.targets ?? [] };
    if (existing) this.compiled.delete(existing);
    bus.rules.set(rule.Name, stored);
    this.compiled.set(stored, compiled);
    this.save();
    return stored;
  }

  deleteRule(bus: Bus, name: string) {
    const rule = bus.rules.get(name);
    if (rule) this.compiled.delete(rule);
    bus.rules.delete(name);
    this.save();
  }

  patternOf(rule: Rule): CompiledEventPattern {
    let compiled = this.compiled.get(rule);
    if (!compiled) {
      compiled = compileEventPattern(rule.EventPattern);
      this.compiled.set(rule, compiled);
    }
    return compiled;
  }

  /** Persist after a change made directly to a rule's targets or state. */
  save() {
    if (!this.file) return;
    const snapshot: Snapshot = {
      buses: [...this.buses.values()].map((bus) => ({ ...bus, rules: [...bus.rules.values()] })),
    };
    writeStateFile(this.file, snapshot);
  }

  private load(file: string) {
    const snapshot = readStateFile<Snapshot>(file, "EventBridge");
    if (!snapshot) return;
    for (const bus of snapshot.buses) {
      this.buses.set(bus.Name, { ...bus, rules: new Map(bus.rules.map((rule) => [rule.Name, rule])) });
    }
  }
}
