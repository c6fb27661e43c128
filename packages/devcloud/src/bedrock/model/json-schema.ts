/**
 * The slice of JSON Schema that tool input schemas use in practice (Bedrock passes
 * `inputSchema.json` through untouched), with a small validator. The tool-use generator checks its
 * own output with it, so a schema it cannot satisfy is detected instead of producing invalid input.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** A schema node; kept as a loose record because schemas arrive as arbitrary JSON. */
export type JsonSchema = Readonly<Record<string, unknown>>;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function schemaTypes(schema: JsonSchema): string[] {
  const type = schema.type;
  if (typeof type === "string") return [type];
  if (Array.isArray(type)) return type.filter((entry): entry is string => typeof entry === "string");
  return [];
}

export function numberKeyword(schema: JsonSchema, keyword: string): number | undefined {
  const value = schema[keyword];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

export function subschemas(schema: JsonSchema, keyword: "anyOf" | "oneOf" | "allOf"): JsonSchema[] {
  const list = schema[keyword];
  return Array.isArray(list) ? list.filter(isRecord) : [];
}

export function properties(schema: JsonSchema): Array<[string, JsonSchema]> {
  const props = schema.properties;
  if (!isRecord(props)) return [];
  return Object.entries(props).filter((entry): entry is [string, JsonSchema] => isRecord(entry[1]));
}

export function requiredNames(schema: JsonSchema): string[] {
  const required = schema.required;
  return Array.isArray(required) ? required.filter((name): name is string => typeof name === "string") : [];
}

/** Follows a local `$ref` ("#/definitions/x", "#/$defs/x"); unknown refs resolve to `{}` (anything). */
export function resolveRef(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let current = schema;
  for (let hops = 0; hops < 32; hops++) {
    const ref = current.$ref;
    if (typeof ref !== "string") return current;
    if (!ref.startsWith("#")) return {};
    let target: unknown = root;
    for (const rawPart of ref
      .slice(1)
      .split("/")
      .filter((part) => part.length > 0)) {
      const part = decodeURIComponent(rawPart).replace(/~1/g, "/").replace(/~0/g, "~");
      target = isRecord(target) ? target[part] : undefined;
    }
    if (!isRecord(target)) return {};
    current = target;
  }
  return {};
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === "number" && actual === "integer");
}

/** Returns human-readable violations ("$.category: must be one of ..."); empty when valid. */
export function validateJsonSchema(
  value: unknown,
  schema: JsonSchema,
  root: JsonSchema = schema,
  path = "$",
): string[] {
  const node = resolveRef(schema, root);
  const errors: string[] = [];
  const types = schemaTypes(node);
  if (types.length > 0 && !types.some((type) => matchesType(value, type))) {
    return [`${path}: expected ${types.join("|")}, got ${typeOf(value)}`];
  }
  const enumValues = node.enum;
  if (Array.isArray(enumValues) && !enumValues.some((option) => JSON.stringify(option) === JSON.stringify(value))) {
    errors.push(`${path}: must be one of ${JSON.stringify(enumValues)}`);
  }
  if ("const" in node && JSON.stringify(node.const) !== JSON.stringify(value)) {
    errors.push(`${path}: must equal ${JSON.stringify(node.const)}`);
  }
  for (const branch of subschemas(node, "allOf")) errors.push(...validateJsonSchema(value, branch, root, path));
  const anyOf = subschemas(node, "anyOf");
  if (anyOf.length > 0 && !anyOf.some((branch) => validateJsonSchema(value, branch, root, path).length === 0)) {
    errors.push(`${path}: matches none of anyOf`);
  }
  const oneOf = subschemas(node, "oneOf");
  if (oneOf.length > 0) {
    const matching = oneOf.filter((branch) => validateJsonSchema(value, branch, root, path).length === 0).length;
    if (matching !== 1) errors.push(`${path}: must match exactly one of oneOf (matched ${matching})`);
  }
  if (typeof value === "number") errors.push(...validateNumber(value, node, path));
  if (typeof value === "string") errors.push(...validateString(value, node, path));
  if (Array.isArray(value)) errors.push(...validateArray(value, node, root, path));
  if (isRecord(value)) errors.push(...validateObject(value, node, root, path));
  return errors;
}

function validateNumber(value: number, node: JsonSchema, path: string): string[] {
  const errors: string[] = [];
  const minimum = numberKeyword(node, "minimum");
  const maximum = numberKeyword(node, "maximum");
  const exclusiveMinimum = numberKeyword(node, "exclusiveMinimum");
  const exclusiveMaximum = numberKeyword(node, "exclusiveMaximum");
  const multipleOf = numberKeyword(node, "multipleOf");
  if (minimum !== undefined && value < minimum) errors.push(`${path}: must be >= ${minimum}`);
  if (maximum !== undefined && value > maximum) errors.push(`${path}: must be <= ${maximum}`);
  if (exclusiveMinimum !== undefined && value <= exclusiveMinimum)
    errors.push(`${path}: must be > ${exclusiveMinimum}`);
  if (exclusiveMaximum !== undefined && value >= exclusiveMaximum)
    errors.push(`${path}: must be < ${exclusiveMaximum}`);
  if (multipleOf !== undefined && multipleOf > 0) {
    const quotient = value / multipleOf;
    if (Math.abs(quotient - Math.round(quotient)) > 1e-9) errors.push(`${path}: must be a multiple of ${multipleOf}`);
  }
  return errors;
}

function validateString(value: string, node: JsonSchema, path: string): string[] {
  const errors: string[] = [];
  const minLength = numberKeyword(node, "minLength");
  const maxLength = numberKeyword(node, "maxLength");
  const length = [...value].length;
  if (minLength !== undefined && length < minLength) errors.push(`${path}: shorter than ${minLength}`);
  if (maxLength !== undefined && length > maxLength) errors.push(`${path}: longer than ${maxLength}`);
  const pattern = node.pattern;
  if (typeof pattern === "string") {
    try {
      if (!new RegExp(pattern, "u").test(value)) errors.push(`${path}: does not match ${pattern}`);
    } catch {
      // A pattern JavaScript cannot compile is not something the caller can be blamed for here.
    }
  }
  return errors;
}

function validateArray(value: unknown[], node: JsonSchema, root: JsonSchema, path: string): string[] {
  const errors: string[] = [];
  const minItems = numberKeyword(node, "minItems");
  const maxItems = numberKeyword(node, "maxItems");
  if (minItems !== undefined && value.length < minItems) errors.push(`${path}: fewer than ${minItems} items`);
  if (maxItems !== undefined && value.length > maxItems) errors.push(`${path}: more than ${maxItems} items`);
  if (node.uniqueItems === true && new Set(value.map((item) => JSON.stringify(item))).size !== value.length) {
    errors.push(`${path}: items must be unique`);
  }
  const items = node.items;
  if (isRecord(items)) {
    for (const [index, item] of value.entries())
      errors.push(...validateJsonSchema(item, items, root, `${path}[${index}]`));
  }
  return errors;
}

function validateObject(value: Record<string, unknown>, node: JsonSchema, root: JsonSchema, path: string): string[] {
  const errors: string[] = [];
  for (const name of requiredNames(node)) {
    if (!(name in value)) errors.push(`${path}: missing required property "${name}"`);
  }
  const declared = new Map(properties(node));
  const additional = node.additionalProperties;
  for (const [name, propertyValue] of Object.entries(value)) {
    const propertySchema = declared.get(name);
    if (propertySchema !== undefined)
      errors.push(...validateJsonSchema(propertyValue, propertySchema, root, `${path}.${name}`));
    else if (additional === false) errors.push(`${path}: unexpected property "${name}"`);
    else if (isRecord(additional))
      errors.push(...validateJsonSchema(propertyValue, additional, root, `${path}.${name}`));
  }
  return errors;
}
