import type { IncomingMessage } from "node:http";
import { isIPv4, isIPv6 } from "node:net";
import { networkInterfaces } from "node:os";
import { AwsServiceError } from "./aws-errors.ts";

export interface LocalOnlyOptions {
  /** The address the edge listens on (127.0.0.1 unless the user asked for another). */
  host: string;
  /** The edge's port, the only port a page of devcloud's own would have (read per request: 0 picks one). */
  port: () => number;
  /** More names requests may address devcloud by (the user's choice, e.g. a LAN name). */
  allowedHosts?: readonly string[];
}

/**
 * devcloud has no real authentication: any credentials sign a request (the edge only checks
 * that a request is signed at all, src/edge/authentication.ts). What keeps other people's code
 * out is that it answers only this machine, and only programs, not web pages:
 *
 * - Host: only loopback names (localhost, *.localhost — SQS QueueUrls are
 *   sqs.<region>.localhost:<port> — 127.0.0.0/8, [::1]), the address the user explicitly bound,
 *   and the names they allowed. A page whose own domain was re-pointed at 127.0.0.1 (DNS
 *   rebinding) sends its domain as Host, and is refused.
 * - Origin / Sec-Fetch-Site: a browser names the page a request comes from. Only devcloud's own
 *   origin (a loopback name with the edge's port) passes; a form POST or fetch from any other
 *   page, including other local dev servers, is refused before it reaches any emulator. The SDKs,
 *   the AWS CLI, curl and Node's fetch send neither header.
 *
 * Returns why the request is refused, or undefined to let it through.
 */
export function createLocalOnlyCheck(options: LocalOnlyOptions): (req: IncomingMessage) => AwsServiceError | undefined {
  const extra = new Set((options.allowedHosts ?? []).map((name) => bare(name.toLowerCase())));
  const bound = bare(options.host.toLowerCase());
  if (isWildcard(bound)) {
    // Listening on every interface was asked for: this machine's own addresses name it too.
    for (const addresses of Object.values(networkInterfaces())) {
      for (const { address } of addresses ?? []) extra.add(address.toLowerCase().replace(/%.*$/, ""));
    }
  } else {
    extra.add(bound);
  }
  const hostAllowed = (hostname: string) => isLoopbackName(hostname) || extra.has(hostname);

  return (req) => {
    const authority = (req.headers.host ?? req.headers[":authority"]) as string | undefined;
    const hostname = authority === undefined ? undefined : hostnameOf(authority);
    if (hostname === undefined || !hostAllowed(hostname)) {
      return new AwsServiceError(
        "InvalidHostHeader",
        `devcloud answers requests addressed to this machine by a loopback name (localhost, 127.0.0.1, [::1]), not to "${authority ?? ""}" (a DNS-rebinding page would look like this). To reach it by another name, start it with --allow-host.`,
        403,
      );
    }
    const fetchSite = req.headers["sec-fetch-site"];
    if (fetchSite === "cross-site" || fetchSite === "same-site") {
      return crossOrigin(`a page on another site (Sec-Fetch-Site: ${fetchSite})`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !isOwnOrigin(origin, hostAllowed, options.port())) {
      return crossOrigin(`the page ${JSON.stringify(origin)}`);
    }
    return undefined;
  };
}

function crossOrigin(from: string): AwsServiceError {
  return new AwsServiceError(
    "CrossOriginRequestRefused",
    `devcloud refuses requests a browser sends from ${from}: web pages must not drive the local cloud.`,
    403,
  );
}

/** `http://<a name devcloud answers to>:<the edge's port>`; `null` and every other origin are not. */
function isOwnOrigin(origin: string, hostAllowed: (hostname: string) => boolean, port: number): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return (
    url.protocol === "http:" &&
    (url.port || "80") === String(port) &&
    url.origin === origin.toLowerCase() &&
    hostAllowed(bare(url.hostname))
  );
}

/** The host name of a Host header (`name:port`, `[v6]:port`), lower-cased, brackets off; undefined if malformed. */
function hostnameOf(authority: string): string | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]\s/@]+)(?::\d{1,5})?$/i.exec(authority.trim());
  if (!match) return undefined;
  return bare(match[1]!.toLowerCase()).replace(/\.$/, "");
}

const bare = (name: string) => name.replace(/^\[(.*)\]$/, "$1");

const isWildcard = (address: string) => address === "0.0.0.0" || address === "::";

function isLoopbackName(hostname: string): boolean {
  if (hostname === "localhost" || hostname.endsWith(".localhost")) return true;
  if (isIPv4(hostname)) return hostname.startsWith("127.");
  // ::ffff:127.0.0.1 is also written ::ffff:7f00:1.
  if (isIPv6(hostname)) return hostname === "::1" || /^::ffff:(127\.|7f[0-9a-f]{2}:)/.test(hostname);
  return false;
}
