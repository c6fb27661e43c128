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

export type JobStatus = "pending" | "processing" | "complete" | "failed";
export interface JobView {
  jobId: string;
  runId?: string;
  status: JobStatus;
  title?: string;
  metadata?: Record<string, unknown>;
  submittedAt: string;
  completedAt?: string;
  summary?: { text: string };
  classification?: { label: string; confidence?: number };
  error?: { code: string; message: string };
  stages?: Record<string, unknown>;
  links?: Record<string, string>;
}
export interface RunView {
  runId: string;
  status: "running" | "complete";
  counts: { total: number; pending: number; processing: number; complete: number; failed: number };
  countsByClassification: Record<string, number>;
  startedAt: string;
  completedAt?: string;
  throughput: { documentsPerSecond: number };
  eta?: string;
  links?: Record<string, string>;
}
export interface DocumentInput {
  text: string;
  title?: string;
  metadata?: Record<string, string | number | boolean>;
  idempotencyKey?: string;
}
/** `POST /v1/runs`: the run and its jobs, plus whatever the API says about its plan (deadline, estimates). */
export interface RunSubmitted {
  runId: string;
  jobIds: string[];
  links?: Record<string, string>;
  [planField: string]: unknown;
}
export type EventType = "job.completed" | "job.failed" | "run.completed";
export interface SubscriptionView {
  id: string;
  kind: "webhook" | "email";
  url?: string;
  address?: string;
  mode?: "per-job" | "digest";
  events: EventType[];
  status: "active" | "pending_confirmation" | "disabled";
  disabledReason?: { code: string; message: string };
  description?: string;
  filter?: { classification?: string[]; metadata?: Record<string, string[]> };
  createdAt: string;
}
export interface AttemptView {
  attempt: number;
  at: string;
  outcome: string;
  statusCode?: number;
  latencyMs: number;
  error?: { code: string; message: string };
  response?: { body: string; truncated: boolean };
}
export interface DeliveryView {
  id: string;
  subscriptionId: string;
  eventType: string;
  eventId: string;
  messageId: string;
  status: "pending" | "sending" | "retrying" | "succeeded" | "failed";
  attempts: number;
  nextAttemptAt?: string;
  createdAt: string;
  lastAttempt?: AttemptView;
  replayOf?: string;
}
export type SubscriptionInput =
  | { kind: "webhook"; url: string; events?: EventType[]; filter?: Record<string, unknown>; description?: string }
  | { kind: "email"; address: string; mode?: "per-job" | "digest"; events?: EventType[]; filter?: Record<string, unknown>; description?: string };

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
      throw new QuireApiError(0, "UNREACHABLE", `Nothing answers at ${base} (${reason}). Is Quire running? Start it with npm start in the Quire repo.`);
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
      throw new QuireApiError(response.status, error?.code ?? `HTTP_${response.status}`, error?.message ?? (text || response.statusText), error?.details);
    }
    return parsed as T;
  }
  const api = <T>(method: string, path: string, body?: unknown) => call<T>(options.apiUrl, method, path, body);
  const notifier = <T>(method: string, path: string, body?: unknown) => call<T>(options.notifierUrl, method, path, body);
  const id = encodeURIComponent;

  return {
    submitDocument: (input: DocumentInput, opts: { waitSeconds?: number } = {}) =>
      api<JobView>("POST", `/v1/documents${opts.waitSeconds ? `?wait=${opts.waitSeconds}` : ""}`, input),
    submitRun: (documents: DocumentInput[], opts: { deadline?: string } = {}) =>
      api<RunSubmitted>("POST", "/v1/runs", { documents, ...(opts.deadline ? { deadline: opts.deadline } : {}) }),
    getJob: (jobId: string) => api<JobView>("GET", `/v1/jobs/${id(jobId)}`),
    getRun: (runId: string) => api<RunView>("GET", `/v1/runs/${id(runId)}`),

    createSubscription: (input: SubscriptionInput) => notifier<SubscriptionView & { secret?: string }>("POST", "/v1/subscriptions", input),
    listSubscriptions: async () => (await notifier<{ subscriptions: SubscriptionView[] }>("GET", "/v1/subscriptions")).subscriptions,
    getSubscription: (subscriptionId: string) => notifier<SubscriptionView>("GET", `/v1/subscriptions/${id(subscriptionId)}`),
    deleteSubscription: (subscriptionId: string) => notifier<void>("DELETE", `/v1/subscriptions/${id(subscriptionId)}`),
    rotateSecret: (subscriptionId: string) => notifier<{ secret: string; previousSecretExpiresAt: string }>("POST", `/v1/subscriptions/${id(subscriptionId)}/rotate-secret`),
    testSubscription: (subscriptionId: string) => notifier<{ deliveryId: string }>("POST", `/v1/subscriptions/${id(subscriptionId)}/test`),
    enableSubscription: (subscriptionId: string) => notifier<SubscriptionView>("POST", `/v1/subscriptions/${id(subscriptionId)}/enable`),
    listDeliveries: async (subscriptionId: string, opts: { status?: string } = {}) =>
      (await notifier<{ deliveries: DeliveryView[] }>("GET", `/v1/subscriptions/${id(subscriptionId)}/deliveries${opts.status ? `?status=${id(opts.status)}` : ""}`)).deliveries,
    getDelivery: (deliveryId: string) => notifier<DeliveryView & { log: AttemptView[] }>("GET", `/v1/deliveries/${id(deliveryId)}`),
    replayDelivery: (deliveryId: string) => notifier<{ deliveryId: string; replayOf: string }>("POST", `/v1/deliveries/${id(deliveryId)}/replay`),
    replayFailedSince: (subscriptionId: string, since: string) =>
      notifier<{ replayed: number; deliveryIds: string[] }>("POST", `/v1/subscriptions/${id(subscriptionId)}/replay`, { since }),
  };
}
export type QuireClient = ReturnType<typeof createQuireClient>;
