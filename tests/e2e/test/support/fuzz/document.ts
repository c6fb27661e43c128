/**
 * The parts of an OpenAPI 3.1 document the fuzzer reads: operations, their parameters, request
 * bodies and documented responses, and the JSON Schema subset those documents use.
 */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  maxProperties?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  example?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  not?: JsonSchema;
}

export interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: JsonSchema;
}

interface MediaTypes {
  content?: Record<string, { schema?: JsonSchema }>;
}

export interface OperationObject {
  operationId?: string;
  parameters?: Parameter[];
  requestBody?: MediaTypes & { required?: boolean };
  responses?: Record<string, MediaTypes>;
  security?: Record<string, string[]>[];
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OperationObject>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export const METHODS = ["get", "post", "put", "patch", "delete"] as const;

export interface Operation {
  method: string;
  template: string;
  id: string;
  parameters: Parameter[];
  /** The JSON request body's schema, when the operation takes one. */
  body?: { schema: JsonSchema; required: boolean };
  operation: OperationObject;
}

export function operationsOf(document: OpenApiDocument): Operation[] {
  return Object.entries(document.paths).flatMap(([template, item]) =>
    METHODS.filter((method) => item[method]).map((method) => {
      const operation = item[method]!;
      const bodySchema = operation.requestBody?.content?.["application/json"]?.schema;
      return {
        method: method.toUpperCase(),
        template,
        id: operation.operationId ?? `${method} ${template}`,
        parameters: operation.parameters ?? [],
        ...(bodySchema ? { body: { schema: bodySchema, required: operation.requestBody?.required ?? false } } : {}),
        operation,
      };
    }),
  );
}

/** `#/components/schemas/X` within the document. */
export function resolve(document: OpenApiDocument, schema: JsonSchema): JsonSchema {
  let current = schema;
  for (let hops = 0; current.$ref && hops < 16; hops++) {
    const name = current.$ref.replace(/^#\/components\/schemas\//, "");
    const target = document.components?.schemas?.[name];
    if (!target) throw new Error(`unresolved $ref ${current.$ref}`);
    current = target;
  }
  return current;
}

/**
 * The documented operation a request reaches, as the router would pick it: literal paths before
 * templated ones, a template segment matching one non-empty path segment.
 */
export function matchOperation(
  operations: readonly Operation[],
  method: string,
  pathname: string,
): Operation | undefined {
  const candidates = operations
    .filter((op) => op.method === method.toUpperCase())
    .sort((a, b) => Number(a.template.includes("{")) - Number(b.template.includes("{")));
  return candidates.find((op) =>
    new RegExp(`^${op.template.replaceAll(".", "\\.").replaceAll(/\{[^}]+\}/g, "[^/]+")}$`).test(pathname),
  );
}

/** The error codes an operation documents for `status` (allOf[1].properties.error.properties.code.enum). */
export function documentedCodes(operation: Operation, status: number): string[] | undefined {
  const schema = operation.operation.responses?.[String(status)]?.content?.["application/json"]?.schema;
  const narrowed = schema?.allOf?.[1]?.properties?.error?.properties?.code?.enum;
  return narrowed as string[] | undefined;
}
