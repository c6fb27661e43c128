import type { LookupFunction } from "node:net";
import { Agent, request } from "undici";
import { WebhookTargetRefused, type AddressGuard, type ResolvedAddress } from "./address-guard.ts";
import type { SignedWebhook } from "./signing.ts";

export interface WebhookAttempt {
  /** delivered: any 2xx; gone: 410; refused: the guard said no and nothing was sent there. */
  outcome: "delivered" | "failed" | "gone" | "refused";
  statusCode?: number;
  latencyMs: number;
  /** TIMEOUT, CONNECTION_FAILED, HTTP_STATUS, REDIRECT_NOT_FOLLOWED, TOO_MANY_REDIRECTS, or the guard's code. */
  error?: { code: string; message: string };
  /** The response body up to the cap; reading stops there. */
  response?: { body: string; truncated: boolean };
  /** Every URL actually requested, in order. */
  requested: string[];
}

export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 4096;

type Failure = { code: string; message: string };
type Answer = { statusCode: number; location: string | undefined; response: { body: string; truncated: boolean } };

const TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * One webhook attempt: vet the target, POST the signed body to the address the guard vetted, and
 * read at most `maxResponseBytes` of the answer, all within `timeoutMs` (DNS included). The
 * outcome follows the status line: a 2xx whose body then stalls or breaks is still delivered,
 * since the receiver has already accepted it.
 *
 * Redirects are not followed unless `maxRedirects` allows. Each hop is vetted before it is
 * requested, and every 3xx, 301/302/303 included, re-POSTs the same signed body and headers:
 * webhooks are POST-only, and the browser habit of downgrading to a bodiless GET would deliver
 * nothing while looking like success.
 *
 * Never throws for network or HTTP trouble, only for programmer errors (bad options or headers).
 */
export async function sendWebhook(input: {
  url: string;
  signed: SignedWebhook;
  guard: AddressGuard;
  timeoutMs?: number;
  maxResponseBytes?: number;
  maxRedirects?: number;
}): Promise<WebhookAttempt> {
  const timeoutMs = input.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxResponseBytes = input.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const maxRedirects = input.maxRedirects ?? 0;
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs))
    throw new RangeError(`timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  if (!Number.isInteger(maxResponseBytes) || maxResponseBytes < 0)
    throw new RangeError(`maxResponseBytes must be a whole number ≥ 0, got ${maxResponseBytes}`);
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0)
    throw new RangeError(`maxRedirects must be a whole number ≥ 0, got ${maxRedirects}`);

  const started = performance.now();
  const latencyMs = () => Math.round(performance.now() - started);
  const deadline = AbortSignal.timeout(timeoutMs);
  const requested: string[] = [];
  const failed = (error: Failure, answer?: Answer): WebhookAttempt => ({
    outcome: "failed",
    ...(answer ? { statusCode: answer.statusCode, response: answer.response } : {}),
    latencyMs: latencyMs(),
    error,
    requested,
  });
  const timedOut = () => failed({ code: "TIMEOUT", message: `no complete answer within ${timeoutMs} ms` });

  let target: string = input.url;
  for (let redirects = 0; ; redirects++) {
    let vetted: { url: URL; addresses: ResolvedAddress[] };
    try {
      vetted = await beforeDeadline(input.guard.vet(target), deadline);
    } catch (error) {
      if (error instanceof WebhookTargetRefused)
        return {
          outcome: "refused",
          latencyMs: latencyMs(),
          error: { code: error.code, message: error.message },
          requested,
        };
      if (deadline.aborted) return timedOut();
      throw error;
    }

    requested.push(vetted.url.href);
    const answer = await post(vetted, input.signed, { deadline, timeoutMs, maxResponseBytes });
    if ("code" in answer) return answer.code === "TIMEOUT" ? timedOut() : failed(answer);

    const { statusCode, location } = answer;
    const answered = { statusCode, latencyMs: latencyMs(), response: answer.response, requested };
    if (statusCode >= 200 && statusCode < 300) return { outcome: "delivered", ...answered };
    if (statusCode === 410)
      return { outcome: "gone", ...answered, error: { code: "HTTP_STATUS", message: "answered 410 Gone" } };
    if (!REDIRECTS.has(statusCode) || location === undefined)
      return failed({ code: "HTTP_STATUS", message: `answered ${statusCode}` }, answer);
    if (maxRedirects === 0) {
      return failed(
        { code: "REDIRECT_NOT_FOLLOWED", message: `answered ${statusCode} to ${location}; redirects are not followed` },
        answer,
      );
    }
    if (redirects >= maxRedirects)
      return failed(
        { code: "TOO_MANY_REDIRECTS", message: `still redirected after ${maxRedirects} redirects` },
        answer,
      );
    // A Location that does not resolve to a URL goes to the guard as it is, which refuses it as URL_INVALID.
    target = URL.parse(location, vetted.url.href)?.href ?? location;
  }
}

/** Settles like `work`, or rejects when the deadline passes first (work left running cannot reject unhandled). */
function beforeDeadline<T>(work: Promise<T>, deadline: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(deadline.reason);
    if (deadline.aborted) onAbort();
    deadline.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => deadline.removeEventListener("abort", onAbort));
  });
}

/** A DNS lookup that only ever answers the addresses the guard vetted, so the connection cannot be rebound. */
function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (hostname, options, callback) => {
    const family =
      options.family === 4 || options.family === "IPv4"
        ? 4
        : options.family === 6 || options.family === "IPv6"
          ? 6
          : undefined;
    const usable = family ? addresses.filter((a) => a.family === family) : addresses;
    const [first] = usable;
    if (!first) {
      callback(Object.assign(new Error(`${hostname} has no vetted IPv${family} address`), { code: "ENOTFOUND" }), "");
    } else if (options.all) {
      callback(
        null,
        usable.map((a) => ({ address: a.address, family: a.family })),
      );
    } else {
      callback(null, first.address, first.family);
    }
  };
}

/** One POST through a private agent that can only reach the vetted addresses; never keeps a connection. */
async function post(
  vetted: { url: URL; addresses: readonly ResolvedAddress[] },
  signed: SignedWebhook,
  limits: { deadline: AbortSignal; timeoutMs: number; maxResponseBytes: number },
): Promise<Answer | Failure> {
  const agent = new Agent({
    connect: { lookup: pinnedLookup(vetted.addresses), timeout: limits.timeoutMs },
    pipelining: 0,
  });
  try {
    const response = await request(vetted.url, {
      method: "POST",
      headers: signed.headers,
      body: signed.body,
      dispatcher: agent,
      signal: limits.deadline,
      headersTimeout: limits.timeoutMs,
      bodyTimeout: limits.timeoutMs,
    });
    const location = response.headers.location;
    return {
      statusCode: response.statusCode,
      location: Array.isArray(location) ? location[0] : location,
      response: await readCapped(response.body, limits.maxResponseBytes),
    };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "UND_ERR_INVALID_ARG") throw error;
    if (limits.deadline.aborted || TIMEOUT_CODES.has(code as string)) return { code: "TIMEOUT", message: "" };
    return { code: "CONNECTION_FAILED", message: describeNetworkError(error) };
  } finally {
    await agent.destroy().catch(() => {});
  }
}

/**
 * Reads the body up to `cap` bytes, then destroys the stream so a huge or endless answer costs no
 * more. A body that breaks off (reset, deadline) counts as truncated, not as a failed attempt.
 */
async function readCapped(
  body: AsyncIterable<Buffer> & { destroy(error?: Error): unknown },
  cap: number,
): Promise<{ body: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > cap) {
        body.destroy();
        return { body: Buffer.concat(chunks).subarray(0, cap).toString("utf8"), truncated: true };
      }
    }
  } catch {
    return { body: Buffer.concat(chunks).toString("utf8"), truncated: true };
  }
  return { body: Buffer.concat(chunks).toString("utf8"), truncated: false };
}

function describeNetworkError(error: unknown): string {
  // Happy Eyeballs tries every vetted address and reports them together, with an empty message of its own.
  const errors = error instanceof AggregateError ? error.errors : [error];
  return errors
    .map((e) => {
      const code = (e as { code?: unknown }).code;
      const message = e instanceof Error ? e.message : String(e);
      return typeof code === "string" && !message.includes(code) ? `${code}: ${message}` : message;
    })
    .join("; ");
}
