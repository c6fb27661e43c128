import type { RuleDeclaration } from "../types.ts";

/** A rule's SST-shaped pattern as the EventBridge JSON event pattern it stands for. */
export function toEventPattern(pattern: RuleDeclaration["pattern"]): Record<string, unknown> {
  const eventPattern: Record<string, unknown> = {};
  if (pattern.source) eventPattern.source = pattern.source;
  if (pattern.detailType) eventPattern["detail-type"] = pattern.detailType;
  if (pattern.detail) eventPattern.detail = pattern.detail;
  return eventPattern;
}
