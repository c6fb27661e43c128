import { AwsServiceError } from "../edge/aws-errors.ts";
import { compileJsonPath } from "./json-path.ts";

export interface InputTransformer {
  InputPathsMap?: Record<string, string>;
  InputTemplate: string;
}

const PLACEHOLDER = /<([A-Za-z0-9_.-]+)>/g;
const RESERVED = new Set([
  "aws.events.rule-arn",
  "aws.events.rule-name",
  "aws.events.event.ingestion-time",
  "aws.events.event",
  "aws.events.event.json",
]);

/**
 * Render an InputTemplate the way EventBridge does: in a JSON template, a placeholder inside a
 * string literal receives a string's raw text, one outside any string receives JSON (strings
 * quoted). A template that is not JSON (plain text) receives raw text everywhere.
 */
export function compileInputTransformer(transformer: InputTransformer) {
  if (typeof transformer.InputTemplate !== "string") {
    throw new AwsServiceError("ValidationException", "InputTransformer.InputTemplate is required.");
  }
  const paths = Object.entries(transformer.InputPathsMap ?? {}).map(([name, path]) => {
    if (RESERVED.has(name) || name.startsWith("aws.")) {
      throw new AwsServiceError("ValidationException", `InputPathsMap key ${name} is reserved.`);
    }
    return [name, compileJsonPath(path)] as const;
  });
  if (paths.length > 100) throw new AwsServiceError("ValidationException", "InputPathsMap has more than 100 entries.");
  const template = transformer.InputTemplate;
  const isJsonTemplate = /^\s*[{["]/.test(template);
  const insideString = isJsonTemplate ? stringLiteralMask(template) : undefined;

  return (event: Record<string, unknown>, eventJson: string, rule: { name: string; arn: string }): string => {
    const values = new Map<string, unknown>(paths.map(([name, select]) => [name, select(event)]));
    values.set("aws.events.rule-arn", rule.arn);
    values.set("aws.events.rule-name", rule.name);
    values.set("aws.events.event.ingestion-time", new Date().toISOString());
    return template.replace(PLACEHOLDER, (whole, name: string, offset: number) => {
      if (name === "aws.events.event.json" || name === "aws.events.event") return eventJson;
      if (!values.has(name)) return whole; // EventBridge leaves unknown placeholders as written
      const value = values.get(name);
      if (!isJsonTemplate) return typeof value === "string" ? value : JSON.stringify(value ?? null);
      if (insideString![offset]) {
        return typeof value === "string" ? JSON.stringify(value).slice(1, -1) : JSON.stringify(value ?? null);
      }
      return JSON.stringify(value ?? null);
    });
  };
}

/** For each character of a JSON-ish text: is it inside a string literal? */
function stringLiteralMask(text: string): boolean[] {
  const mask: boolean[] = new Array(text.length).fill(false);
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      mask[i] = true;
      if (c === "\\") {
        mask[i + 1] = true;
        i++;
      } else if (c === '"') {
        inString = false;
        mask[i] = false;
      }
    } else if (c === '"') {
      inString = true;
    }
  }
  return mask;
}
