/**
 * The Converse wire format as @aws-sdk/client-bedrock-runtime speaks it (restJson1):
 * request body schema, response writing, and errors. The SDK recognises an error by the
 * `x-amzn-errortype` header (anything after ":" is ignored), falls back to body `code`/`__type`,
 * and reads the human message from body `message`; the HTTP status must match the modelled one
 * (429 for throttling, etc.) because the retry strategy also classifies by status.
 */
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { z } from "zod";

export const BEDROCK_ERROR_STATUS = {
  ValidationException: 400,
  // The batch inference API's (CreateModelInvocationJob and its kin), both modelled as 400.
  ConflictException: 400,
  ServiceQuotaExceededException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  UnknownOperationException: 404,
  ModelTimeoutException: 408,
  ModelErrorException: 424,
  ThrottlingException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
} as const;

export type BedrockErrorType = keyof typeof BEDROCK_ERROR_STATUS;

/** An error the emulator answers on the wire; `fields` are extra modelled members (e.g. originalStatusCode). */
export class BedrockError extends Error {
  readonly errorType: BedrockErrorType;
  readonly statusCode: number;
  readonly fields: Readonly<Record<string, string | number>>;

  constructor(errorType: BedrockErrorType, message: string, fields: Record<string, string | number> = {}) {
    super(message);
    this.name = errorType;
    this.errorType = errorType;
    this.statusCode = BEDROCK_ERROR_STATUS[errorType];
    this.fields = fields;
  }
}

export function validationError(message: string): BedrockError {
  return new BedrockError("ValidationException", message);
}

/** Real Bedrock's namespace suffix; the SDK strips it, but other clients may log it. */
const ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/";

export function writeError(res: ServerResponse, error: BedrockError): void {
  writeJson(
    res,
    error.statusCode,
    { message: error.message, ...error.fields },
    {
      "x-amzn-errortype": `${error.errorType}${ERROR_TYPE_SUFFIX}`,
    },
  );
}

export function writeJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(payload.length),
    "x-amzn-requestid": randomUUID(),
    ...headers,
  });
  res.end(payload);
}

// ---- Converse request -------------------------------------------------------------------------
// Objects are "loose": newer SDKs add members (cachePoint, guardContent, citations...) that the
// emulator can ignore, and rejecting them would break clients for no benefit.

const toolResultContentSchema = z.looseObject({
  text: z.string().optional(),
  json: z.unknown().optional(),
});

export const contentBlockSchema = z.looseObject({
  text: z.string().optional(),
  image: z.unknown().optional(),
  document: z
    .looseObject({
      format: z.string().optional(),
      name: z.string().optional(),
      // Blob members travel base64-encoded in JSON.
      source: z.looseObject({ bytes: z.string().optional(), text: z.string().optional() }).optional(),
    })
    .optional(),
  toolUse: z.looseObject({ toolUseId: z.string(), name: z.string(), input: z.unknown() }).optional(),
  toolResult: z
    .looseObject({
      toolUseId: z.string(),
      content: z.array(toolResultContentSchema),
      status: z.enum(["success", "error"]).optional(),
    })
    .optional(),
});
export type ContentBlock = z.infer<typeof contentBlockSchema>;

export const messageSchema = z.looseObject({
  role: z.enum(["user", "assistant"]),
  content: z.array(contentBlockSchema),
});
export type Message = z.infer<typeof messageSchema>;

export const toolSpecSchema = z.looseObject({
  name: z.string(),
  description: z.string().optional(),
  inputSchema: z.looseObject({ json: z.record(z.string(), z.unknown()) }),
});
export type ToolSpec = z.infer<typeof toolSpecSchema>;

export const converseRequestSchema = z.looseObject({
  messages: z.array(messageSchema).optional(),
  system: z.array(z.looseObject({ text: z.string().optional() })).optional(),
  inferenceConfig: z
    .looseObject({
      maxTokens: z.number().int().optional(),
      temperature: z.number().optional(),
      topP: z.number().optional(),
      stopSequences: z.array(z.string()).optional(),
    })
    .optional(),
  toolConfig: z
    .looseObject({
      tools: z.array(z.looseObject({ toolSpec: toolSpecSchema.optional() })),
      toolChoice: z
        .looseObject({
          auto: z.looseObject({}).optional(),
          any: z.looseObject({}).optional(),
          tool: z.looseObject({ name: z.string() }).optional(),
        })
        .optional(),
    })
    .optional(),
});
export type ConverseRequest = z.infer<typeof converseRequestSchema>;

/** Parses the body, answering malformed JSON or a wrong shape as Bedrock does: a 400 ValidationException. */
export function parseConverseRequest(body: Buffer): ConverseRequest {
  let json: unknown;
  try {
    json = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
  } catch {
    throw validationError(
      "Malformed input request: the request body is not valid JSON. Reformat your input and try again.",
    );
  }
  const parsed = converseRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const described = issues
      .slice(0, 3)
      .map((issue) => `Value at '${issue.path.join(".") || "(body)"}' failed to satisfy constraint: ${issue.message}`);
    throw validationError(
      `${issues.length} validation error${issues.length === 1 ? "" : "s"} detected: ${described.join("; ")}`,
    );
  }
  return parsed.data;
}

// ---- Converse response ------------------------------------------------------------------------

export type StopReason = "end_turn" | "max_tokens" | "tool_use" | "stop_sequence";

export type OutputContentBlock =
  | { readonly text: string }
  | { readonly toolUse: { readonly toolUseId: string; readonly name: string; readonly input: unknown } };

export interface ConverseResponseBody {
  readonly output: {
    readonly message: { readonly role: "assistant"; readonly content: readonly OutputContentBlock[] };
  };
  readonly stopReason: StopReason;
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number; readonly totalTokens: number };
  readonly metrics: { readonly latencyMs: number };
}
