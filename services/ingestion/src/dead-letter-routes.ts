import { z } from "@hono/zod-openapi";
import { DeadLetterError, type DeadLetters } from "@quire/dead-letters";
import {
  ApiError,
  BAD_JSON_BODY,
  defineRoute,
  errorResponses,
  INTERNAL,
  json,
  keyScope,
  jsonBody,
  limitBody,
  NOT_JSON,
  payloadTooLarge,
  UNAUTHORIZED,
  validationFailed,
} from "@quire/http-api";
import type { createApiApp } from "@quire/http-api";

const reason = z.strictObject({ code: z.string(), message: z.string() }).meta({
  id: "DeadLetterReason",
  description:
    "Why the message was given up: Quire's quire.failure.* attributes (UNKNOWN when SQS's redrive policy moved it without one).",
});
const letterFields = {
  messageId: z.string(),
  reason,
  receiveCount: z.int().optional().meta({ description: "Deliveries before it was given up." }),
  jobId: z.string().optional(),
  runId: z.string().optional(),
  deadLetteredAt: z.string().optional().meta({ description: "When it was dead-lettered (ISO 8601)." }),
};
const deadLetterSample = z.strictObject(letterFields).meta({ id: "DeadLetterSample" });
const deadLetter = z
  .strictObject({
    ...letterFields,
    body: z.string().meta({ description: "The message body, byte for byte as it will be redriven." }),
  })
  .meta({ id: "DeadLetter" });
const queueDeadLetters = z
  .strictObject({
    queue: z.string().meta({ example: "summarizer" }),
    approximateCount: z.int().meta({ description: "SQS's approximate count (visible and in flight)." }),
    scanned: z.int().meta({ description: "Dead letters read to group (at most 1000)." }),
    complete: z.boolean().meta({ description: "Whether `scanned` is all of them." }),
    groups: z
      .array(z.strictObject({ code: z.string(), count: z.int(), samples: z.array(deadLetterSample) }))
      .meta({ description: "By failure code, largest first." }),
  })
  .meta({ id: "QueueDeadLetters" });
const deadLetterSummary = z.strictObject({ queues: z.array(queueDeadLetters) }).meta({ id: "DeadLetterSummary" });
const redriveInput = z
  .strictObject({
    code: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]+$/)
      .optional()
      .meta({ description: "Only dead letters with this failure code.", example: "MODEL_OUTPUT_INVALID" }),
    messageId: z.string().min(1).optional().meta({ description: "Only this dead letter." }),
    maxPerSecond: z
      .int()
      .min(1)
      .max(500)
      .optional()
      .meta({ description: "Whole-queue redrive only: SQS's MaxNumberOfMessagesPerSecond for the move task." }),
  })
  .meta({ id: "RedriveInput" });
const redriveResult = z
  .discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("move-task"),
      queue: z.string(),
      taskHandle: z.string().meta({ description: "Follow it at GET /v1/dead-letters/{queue}/redrives." }),
    }),
    z.strictObject({ kind: z.literal("selected"), queue: z.string(), moved: z.int(), scanned: z.int() }),
  ])
  .meta({ id: "RedriveResult" });
const moveTasks = z
  .strictObject({
    tasks: z.array(
      z.strictObject({
        taskHandle: z.string().optional(),
        status: z.string().meta({ description: "RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED." }),
        moved: z.int(),
        toMove: z.int().optional(),
        startedAt: z.string().optional(),
        failureReason: z.string().optional(),
      }),
    ),
  })
  .meta({ id: "RedriveTasks" });
const queueParam = z.object({
  queue: z.string().meta({ description: "A queue as the topology names it.", example: "summarizer" }),
});
/** A redrive body is a few fields: more than this is refused unread (413). */
const REDRIVE_BODY_BYTES = 16 * 1024;
const QUEUE_NOT_FOUND = { QUEUE_NOT_FOUND: "No queue named nope; known: ingestion, summarizer, classifier, …" };

/** A package error as the API's error shape. */
function asApiError(error: unknown): unknown {
  if (!(error instanceof DeadLetterError)) return error;
  return new ApiError(error.code === "REDRIVE_IN_PROGRESS" ? 409 : 404, error.code, error.message);
}
const answering = async <T>(work: () => Promise<T>): Promise<T> => {
  try {
    return await work();
  } catch (error) {
    throw asApiError(error);
  }
};

/**
 * Dead letters over HTTP: why messages failed, and sending them back to work once the cause is
 * fixed (see @quire/dead-letters). Redriven stage messages reopen their failed jobs.
 */
export function registerDeadLetterRoutes(app: ReturnType<typeof createApiApp>, deadLetters: DeadLetters) {
  const tags = ["Dead letters"];
  defineRoute(
    app,
    {
      method: "get",
      path: "/v1/dead-letters",
      operationId: "listDeadLetters",
      summary: "Dead letters by queue and failure code",
      description:
        "Every queue's DLQ (or one, with `queue`): its approximate count, and the dead letters grouped by failure code with a few samples. Reading consumes nothing.",
      tags,
      security: keyScope("dead-letters:manage"),
      request: { query: z.object({ queue: z.string().optional().meta({ example: "summarizer" }) }) },
      responses: {
        200: json(deadLetterSummary, { description: "The queues' dead letters." }),
        ...errorResponses({ 401: UNAUTHORIZED, 404: QUEUE_NOT_FOUND, 500: INTERNAL }),
      },
    },
    async (c) => {
      const queue = c.req.query("queue");
      return c.json({ queues: await answering(() => deadLetters.summary(queue ? { queue } : undefined)) });
    },
  );

  defineRoute(
    app,
    {
      method: "get",
      path: "/v1/dead-letters/{queue}/messages/{messageId}",
      operationId: "getDeadLetter",
      summary: "One dead letter",
      description: "The reason, the job it concerns and the body, by message id.",
      tags,
      security: keyScope("dead-letters:manage"),
      request: { params: queueParam.extend({ messageId: z.string() }) },
      responses: {
        200: json(deadLetter, { description: "The dead letter." }),
        ...errorResponses({
          401: UNAUTHORIZED,
          404: { ...QUEUE_NOT_FOUND, DEAD_LETTER_NOT_FOUND: "No dead letter 1b2c… in summarizer's DLQ." },
          500: INTERNAL,
        }),
      },
    },
    async (c) =>
      c.json(await answering(() => deadLetters.show(c.req.param("queue") ?? "", c.req.param("messageId") ?? ""))),
  );

  defineRoute(
    app,
    {
      method: "post",
      path: "/v1/dead-letters/{queue}/redrive",
      operationId: "redriveDeadLetters",
      summary: "Send dead letters back to work",
      description:
        "Without `code` or `messageId`: the whole DLQ, by SQS's message move task (follow it at …/redrives; one at a time per queue). With them: only the matching dead letters, moved at once. A redriven stage message reopens its failed job, which then completes (Job Completed; its run announces Run Completed again with the final counts).",
      tags,
      security: keyScope("dead-letters:manage"),
      request: {
        params: queueParam,
        body: {
          required: true,
          ...json(redriveInput, {
            examples: {
              byCode: { summary: "One failure code", value: { code: "MODEL_OUTPUT_INVALID" } },
              all: { summary: "Everything", value: {} },
            },
          }),
        },
      },
      responses: {
        202: json(redriveResult, { description: "Redrive started (a move task) or done (selected messages)." }),
        ...errorResponses({
          400: BAD_JSON_BODY,
          401: UNAUTHORIZED,
          404: { ...QUEUE_NOT_FOUND, DEAD_LETTER_NOT_FOUND: "No dead letter 1b2c… in summarizer's DLQ." },
          409: { REDRIVE_IN_PROGRESS: "A redrive of summarizer's DLQ is already running." },
          413: payloadTooLarge(REDRIVE_BODY_BYTES),
          415: NOT_JSON,
          500: INTERNAL,
        }),
      },
    },
    limitBody(REDRIVE_BODY_BYTES),
    async (c) => {
      const parsed = redriveInput.safeParse(await jsonBody(c));
      if (!parsed.success) throw validationFailed(parsed.error);
      return c.json(
        await answering(() => deadLetters.redrive({ queue: c.req.param("queue") ?? "", ...parsed.data })),
        202,
      );
    },
  );

  defineRoute(
    app,
    {
      method: "get",
      path: "/v1/dead-letters/{queue}/redrives",
      operationId: "listRedrives",
      summary: "Whole-queue redrives and their progress",
      description: "The DLQ's message move tasks, newest first.",
      tags,
      security: keyScope("dead-letters:manage"),
      request: { params: queueParam },
      responses: {
        200: json(moveTasks, { description: "The move tasks." }),
        ...errorResponses({ 401: UNAUTHORIZED, 404: QUEUE_NOT_FOUND, 500: INTERNAL }),
      },
    },
    async (c) => c.json({ tasks: await answering(() => deadLetters.tasks(c.req.param("queue") ?? "")) }),
  );
}
