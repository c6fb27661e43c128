import type { components as IngestionComponents, operations as IngestionOperations } from "./generated/ingestion.ts";
import type { components as NotifierComponents } from "./generated/notifier.ts";

/**
 * The typed client for Quire's two HTTP APIs (ingestion and notifier): what the CLI uses, and
 * what a TypeScript caller can import instead of hand-writing fetch calls.
 */
export interface ClientOptions {
  apiUrl: string;
  notifierUrl: string;
  apiKey: string;
  fetch?: typeof fetch;
}

/** A non-2xx answer (its `{ error: { code, message } }`), or UNREACHABLE when nothing answered. */
export class QuireApiError extends Error {
  override readonly name = "QuireApiError";
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/*
 * The shapes of requests and answers come from the APIs' OpenAPI documents (which the routes'
 * zod schemas generate), through openapi-typescript: src/generated/, `npm run generate -w @quire/cli`.
 */
type IngestionSchemas = IngestionComponents["schemas"];
type NotifierSchemas = NotifierComponents["schemas"];
export type JobView = IngestionSchemas["Job"];
export type JobStatus = JobView["status"];
export type RunView = IngestionSchemas["Run"];
export type RunList = IngestionSchemas["RunList"];
export type RunJobList = IngestionSchemas["RunJobList"];
/** `GET /v1/runs/{runId}/jobs` filters. */
export type RunJobsQuery = NonNullable<IngestionOperations["listRunJobs"]["parameters"]["query"]>;
export type QueueDepth = IngestionSchemas["QueueDepth"];
export type GovernorReport = IngestionSchemas["GovernorReport"];
export type DocumentInput = IngestionSchemas["DocumentInput"];
/** `POST /v1/runs`: the run and its jobs, and the deadline plan when one was asked for. */
export type RunSubmitted = IngestionSchemas["RunSubmitted"];
export type DeadlinePlan = IngestionSchemas["DeadlinePlan"];
export type SubscriptionView = NotifierSchemas["Subscription"];
export type SubscriptionCreated = NotifierSchemas["SubscriptionCreated"];
export type EventType = SubscriptionView["events"][number];
export type AttemptView = NotifierSchemas["DeliveryAttempt"];
export type DeliveryView = NotifierSchemas["Delivery"];
export type DeliveryDetail = NotifierSchemas["DeliveryDetail"];
export type SubscriptionInput = NotifierSchemas["SubscriptionInput"];
export type QueueDeadLetters = IngestionSchemas["QueueDeadLetters"];
export type DeadLetter = IngestionSchemas["DeadLetter"];
export type RedriveInput = IngestionSchemas["RedriveInput"];
export type RedriveResult = IngestionSchemas["RedriveResult"];
export type RedriveTask = IngestionSchemas["RedriveTasks"]["tasks"][number];
export type ApiKeyView = IngestionSchemas["ApiKey"];
export type IssuedApiKey = IngestionSchemas["IssuedApiKey"];
export type NewApiKey = IngestionSchemas["NewApiKey"];
export type RotatedApiKey = IngestionSchemas["RotatedApiKey"];
export type RevokedApiKey = IngestionSchemas["RevokedApiKey"];

/** `?a=1&b=x` from the defined values, or "". */
function queryString(values: Record<string, string | number | undefined>): string {
  const defined = Object.entries(values).filter((entry): entry is [string, string | number] => entry[1] !== undefined);
  return defined.length === 0
    ? ""
    : `?${new URLSearchParams(defined.map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
}

export function createQuireClient(options: ClientOptions) {
  const doFetch = options.fetch ?? fetch;
  async function call<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
    const url = `${base.replace(/\/$/, "")}${path}`;
    let response: Response;
    try {
      response = await doFetch(url, {
        method,
        headers: { "x-api-key": options.apiKey, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, bad port) is its cause.
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new QuireApiError(
        0,
        "UNREACHABLE",
        `Nothing answers at ${base} (${reason}). Is Quire running? Start it with npm start in the Quire repo.`,
      );
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      throw new QuireApiError(
        response.status,
        error?.code ?? `HTTP_${response.status}`,
        error?.message ?? (text || response.statusText),
        error?.details,
      );
    }
    return parsed as T;
  }
  const api = <T>(method: string, path: string, body?: unknown) => call<T>(options.apiUrl, method, path, body);
  const notifier = <T>(method: string, path: string, body?: unknown) =>
    call<T>(options.notifierUrl, method, path, body);
  const id = encodeURIComponent;

  return {
    submitDocument: (input: DocumentInput, opts: { waitSeconds?: number } = {}) =>
      api<JobView>("POST", `/v1/documents${opts.waitSeconds ? `?wait=${opts.waitSeconds}` : ""}`, input),
    submitRun: (documents: DocumentInput[], opts: { deadline?: string } = {}) =>
      api<RunSubmitted>("POST", "/v1/runs", { documents, ...(opts.deadline ? { deadline: opts.deadline } : {}) }),
    getJob: (jobId: string) => api<JobView>("GET", `/v1/jobs/${id(jobId)}`),
    getRun: (runId: string) => api<RunView>("GET", `/v1/runs/${id(runId)}`),
    /** Runs, newest first, a page at a time (`nextCursor` until the last page). */
    listRuns: (opts: { limit?: number; cursor?: string | undefined } = {}) =>
      api<RunList>("GET", `/v1/runs${queryString(opts)}`),
    /** A run's jobs in submission order; a filtered page may be short (or empty) while `nextCursor` is there. */
    listRunJobs: (runId: string, query: RunJobsQuery = {}) =>
      api<RunJobList>("GET", `/v1/runs/${id(runId)}/jobs${queryString(query)}`),
    /** Every queue's depth: waiting, in flight, delayed, dead letters. */
    listQueues: async () => (await api<{ queues: QueueDepth[] }>("GET", "/v1/queues")).queues,
    /** Every live stage process's Bedrock governor, per model. */
    listGovernors: async () => (await api<{ governors: GovernorReport[] }>("GET", "/v1/governors")).governors,

    createSubscription: (input: SubscriptionInput) => notifier<SubscriptionCreated>("POST", "/v1/subscriptions", input),
    listSubscriptions: async () =>
      (await notifier<{ subscriptions: SubscriptionView[] }>("GET", "/v1/subscriptions")).subscriptions,
    getSubscription: (subscriptionId: string) =>
      notifier<SubscriptionView>("GET", `/v1/subscriptions/${id(subscriptionId)}`),
    deleteSubscription: (subscriptionId: string) => notifier<void>("DELETE", `/v1/subscriptions/${id(subscriptionId)}`),
    rotateSecret: (subscriptionId: string) =>
      notifier<NotifierSchemas["RotatedSecret"]>("POST", `/v1/subscriptions/${id(subscriptionId)}/rotate-secret`),
    testSubscription: (subscriptionId: string) =>
      notifier<NotifierSchemas["TestQueued"]>("POST", `/v1/subscriptions/${id(subscriptionId)}/test`),
    enableSubscription: (subscriptionId: string) =>
      notifier<SubscriptionView>("POST", `/v1/subscriptions/${id(subscriptionId)}/enable`),
    listDeliveries: async (subscriptionId: string, opts: { status?: string } = {}) =>
      (
        await notifier<{ deliveries: DeliveryView[] }>(
          "GET",
          `/v1/subscriptions/${id(subscriptionId)}/deliveries${opts.status ? `?status=${id(opts.status)}` : ""}`,
        )
      ).deliveries,
    getDelivery: (deliveryId: string) => notifier<DeliveryDetail>("GET", `/v1/deliveries/${id(deliveryId)}`),
    replayDelivery: (deliveryId: string) =>
      notifier<NotifierSchemas["ReplayOfDelivery"]>("POST", `/v1/deliveries/${id(deliveryId)}/replay`),
    replayFailedSince: (subscriptionId: string, since: string) =>
      notifier<NotifierSchemas["ReplayQueued"]>("POST", `/v1/subscriptions/${id(subscriptionId)}/replay`, { since }),

    listDeadLetters: async (opts: { queue?: string } = {}) =>
      (
        await api<{ queues: QueueDeadLetters[] }>(
          "GET",
          `/v1/dead-letters${opts.queue ? `?queue=${id(opts.queue)}` : ""}`,
        )
      ).queues,
    getDeadLetter: (queue: string, messageId: string) =>
      api<DeadLetter>("GET", `/v1/dead-letters/${id(queue)}/messages/${id(messageId)}`),
    redrive: (queue: string, input: RedriveInput = {}) =>
      api<RedriveResult>("POST", `/v1/dead-letters/${id(queue)}/redrive`, input),
    listRedrives: async (queue: string) =>
      (await api<{ tasks: RedriveTask[] }>("GET", `/v1/dead-letters/${id(queue)}/redrives`)).tasks,

    createKey: (input: NewApiKey) => api<IssuedApiKey>("POST", "/v1/keys", input),
    listKeys: async () => (await api<{ keys: ApiKeyView[] }>("GET", "/v1/keys")).keys,
    getKey: (keyId: string) => api<ApiKeyView>("GET", `/v1/keys/${id(keyId)}`),
    rotateKey: (keyId: string, opts: { overlapSeconds?: number } = {}) =>
      api<RotatedApiKey>("POST", `/v1/keys/${id(keyId)}/rotate`, opts),
    revokeKey: (keyId: string, opts: { withSuccessors?: boolean } = {}) =>
      api<RevokedApiKey>("DELETE", `/v1/keys/${id(keyId)}${opts.withSuccessors ? "?withSuccessors=true" : ""}`),
  };
}
export type QuireClient = ReturnType<typeof createQuireClient>;
