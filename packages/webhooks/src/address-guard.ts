import { lookup as dnsLookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";
import { WebhookConfigError } from "./errors.ts";

export type RefusalCode =
  | "URL_INVALID"
  | "SCHEME_NOT_ALLOWED"
  | "ADDRESS_NOT_ALLOWED"
  | "HOST_UNRESOLVABLE"
  | "CREDENTIALS_IN_URL";

/** A webhook target the guard will not let Quire reach; no request was made. */
export class WebhookTargetRefused extends Error {
  override readonly name = "WebhookTargetRefused";
  readonly code: RefusalCode;
  constructor(code: RefusalCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}
export type LookupAll = (hostname: string) => Promise<ResolvedAddress[]>;

export interface AddressGuard {
  /** Parse, check the scheme (http/https), resolve the host and vet EVERY address; throws WebhookTargetRefused. */
  vet(url: string | URL): Promise<{ url: URL; addresses: ResolvedAddress[] }>;
  /** For logs, e.g. "public addresses only; allowlist: localhost, 10.0.0.0/8". */
  describe(): string;
}

type IP = ipaddr.IPv4 | ipaddr.IPv6;
/** The ports an entry allows, first to last; absent: every port. */
type Ports = readonly [first: number, last: number];
type AllowEntry = (
  | { kind: "host"; host: string; text: string }
  | { kind: "range"; range: [IP, number]; text: string }
) & { ports?: Ports };

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function parseAllowlist(allowlist: string | readonly string[] | undefined): AllowEntry[] {
  const entries = (typeof allowlist === "string" ? allowlist.split(",") : (allowlist ?? []))
    .map((e) => e.trim())
    .filter(Boolean);
  return entries.map((entry): AllowEntry => {
    // host:port or host:first-last (IPv6 bracketed: [::1]:4700): only those ports of that host.
    const withPorts = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})(?:-(\d{1,5}))?$/.exec(entry);
    if (withPorts) {
      const first = Number(withPorts[2]);
      const last = Number(withPorts[3] ?? withPorts[2]);
      if (first < 1 || last > 65535 || first > last) throw invalidEntry(entry, "has no valid port or port range");
      return { ...parseHostEntry(withPorts[1]!, entry), ports: [first, last], text: entry };
    }
    return parseHostEntry(entry, entry);
  });
}

/** A host, IP address or CIDR range (`entry` is the whole entry, for messages). */
function parseHostEntry(hostPart: string, entry: string): AllowEntry {
  const bare = hostPart.replace(/^\[(.*)\]$/, "$1");
  // Only the strict IPv4 forms: "10.1" means 10.0.0.1 to inet_aton, which nobody writing an allowlist intends.
  if (bare.includes("/")) {
    if (!ipaddr.IPv4.isValidCIDRFourPartDecimal(bare) && !ipaddr.IPv6.isValidCIDR(bare))
      throw invalidEntry(entry, "is not a valid CIDR range");
    return { kind: "range", range: normaliseRange(ipaddr.parseCIDR(bare)), text: entry };
  }
  if (ipaddr.IPv4.isValidFourPartDecimal(bare) || ipaddr.IPv6.isValid(bare)) {
    const address = ipaddr.process(bare);
    return { kind: "range", range: [address, address.kind() === "ipv4" ? 32 : 128], text: entry };
  }
  if (/^[\d.]+$/.test(hostPart) || !HOSTNAME.test(hostPart))
    throw invalidEntry(entry, "is neither a hostname nor an IP address or CIDR range");
  return { kind: "host", host: hostPart.toLowerCase(), text: entry };
}

const invalidEntry = (entry: string, why: string) =>
  new WebhookConfigError(
    "ALLOWLIST_INVALID",
    `webhook allowlist entry "${entry}" ${why} (expected e.g. localhost, 10.0.0.0/8, ::1, 127.0.0.1:4700-4709)`,
  );

/**
 * An IPv4-mapped IPv6 range (::ffff:10.0.0.0/104) is the IPv4 range it maps, since addresses are judged that way too.
 */
function normaliseRange([address, bits]: [IP, number]): [IP, number] {
  if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96)
    return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96];
  return [address, bits];
}

const ipv4At = (bytes: number[], offset: number) => new ipaddr.IPv4(bytes.slice(offset, offset + 4));

/**
 * The IPv4 addresses an IPv6 address carries towards, for the transition ranges where the kernel,
 * a relay or a NAT64 gateway would forward to them: those must be judged as that IPv4, or
 * 64:ff9b::7f00:1 would be a side door to 127.0.0.1. Undefined for addresses that carry none.
 */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4[] | undefined {
  const bytes = address.toByteArray();
  switch (address.range()) {
    case "rfc6052":
      // Only the well-known /96 has a fixed place for the IPv4; 64:ff9b:1::/48 is local-use and may embed it anywhere.
      return address.match(ipaddr.IPv6.parse("64:ff9b::"), 96) ? [ipv4At(bytes, 12)] : [];
    case "rfc6145":
      return [ipv4At(bytes, 12)];
    case "6to4":
      return [ipv4At(bytes, 2)];
    case "teredo": {
      // The Teredo server, and the client's address stored inverted in the last 32 bits.
      const client = bytes.slice(12, 16).map((b) => b ^ 0xff);
      return [ipv4At(bytes, 4), new ipaddr.IPv4(client)];
    }
    case "unicast":
      // IPv4-compatible ::a.b.c.d (deprecated, but sit tunnels still honour it); ipaddr.js calls it unicast.
      return bytes.slice(0, 12).every((b) => b === 0) ? [ipv4At(bytes, 12)] : undefined;
    default:
      return undefined;
  }
}

/** Why an address is not a public unicast one, or undefined when it is. */
function forbiddenRange(address: IP): string | undefined {
  if (address.kind() === "ipv6") {
    const carried = embeddedIPv4(address as ipaddr.IPv6);
    if (carried) {
      const range = address.range();
      if (carried.length === 0) return range;
      for (const ipv4 of carried) {
        const inner = forbiddenRange(ipv4);
        if (inner) return `${range === "unicast" ? "IPv4-compatible" : range} address carrying a ${inner}`;
      }
      return undefined;
    }
  }
  const range = address.range();
  return range === "unicast" ? undefined : range;
}

const defaultLookup: LookupAll = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((r) => ({
    address: r.address,
    family: r.family === 6 ? 6 : 4,
  }));

/**
 * The SSRF guard for webhook targets: only public unicast addresses, unless allowlisted. Every
 * address a name resolves to is vetted (one private answer refuses the URL), IP literals in any
 * form the URL parser accepts are judged without DNS, and IPv4-mapped IPv6 is judged as the IPv4
 * it carries. Callers connect to the vetted addresses only, so DNS cannot be rebound in between.
 */
export function createAddressGuard(
  options: { allowlist?: string | readonly string[]; lookup?: LookupAll } = {},
): AddressGuard {
  const allowed = parseAllowlist(options.allowlist);
  const lookup = options.lookup ?? defaultLookup;
  const portAllowed = (e: AllowEntry, port: number) => !e.ports || (port >= e.ports[0] && port <= e.ports[1]);
  const hostAllowed = (host: string, port: number) =>
    allowed.some((e) => e.kind === "host" && e.host === host && portAllowed(e, port));
  const addressAllowed = (address: IP, port: number) =>
    allowed.some(
      (e) =>
        e.kind === "range" && e.range[0].kind() === address.kind() && address.match(e.range) && portAllowed(e, port),
    );

  /** Throws unless the address may be reached; returns it in canonical form (IPv4-mapped becomes IPv4). */
  function judge(host: string, raw: string, nameAllowed: boolean, port: number): ResolvedAddress {
    const text = raw.replace(/%.*$/, "");
    if (!ipaddr.isValid(text))
      throw new WebhookTargetRefused("ADDRESS_NOT_ALLOWED", `${host} resolved to "${raw}", which is not an IP address`);
    const address = ipaddr.process(text);
    const vetted: ResolvedAddress = { address: address.toString(), family: address.kind() === "ipv4" ? 4 : 6 };
    if (nameAllowed || addressAllowed(address, port)) return vetted;
    const forbidden = forbiddenRange(address);
    if (forbidden) {
      const where = raw === host ? "" : ` resolves to ${raw}, which`;
      // An entry for this host or address, but for other ports (npm start's `127.0.0.1:4700-4709`).
      const otherPorts = allowed
        .filter((e) =>
          e.kind === "host" ? e.host === host : e.range[0].kind() === address.kind() && address.match(e.range),
        )
        .flatMap((e) => (e.ports ? [e.ports[0] === e.ports[1] ? `${e.ports[0]}` : `${e.ports[0]}-${e.ports[1]}`] : []));
      const onPorts = otherPorts.length
        ? `, and the allowlist lets it through only on port ${otherPorts.join(", ")}`
        : "";
      throw new WebhookTargetRefused(
        "ADDRESS_NOT_ALLOWED",
        `${host}${where} is a ${forbidden} address; webhooks may only reach public addresses${onPorts}`,
      );
    }
    return vetted;
  }

  return {
    async vet(target) {
      let url: URL;
      try {
        url = new URL(target);
      } catch {
        throw new WebhookTargetRefused("URL_INVALID", `"${String(target)}" is not a URL`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new WebhookTargetRefused(
          "SCHEME_NOT_ALLOWED",
          `webhooks are http or https, not ${url.protocol.replace(/:$/, "")}`,
        );
      }
      if (url.username || url.password)
        throw new WebhookTargetRefused("CREDENTIALS_IN_URL", "webhook URLs may not carry a user name or password");
      // WHATWG URL has already turned 2130706433, 0x7f.1 and friends into dotted IPv4, and IPv6 into its compressed
      // form.
      const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
      const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
      if (ipaddr.isValid(host)) return { url, addresses: [judge(host, host, false, port)] };
      let addresses: ResolvedAddress[];
      try {
        addresses = await lookup(host);
      } catch (error) {
        throw new WebhookTargetRefused(
          "HOST_UNRESOLVABLE",
          `${host} does not resolve (${(error as { code?: string }).code ?? (error as Error).message})`,
        );
      }
      if (addresses.length === 0) throw new WebhookTargetRefused("HOST_UNRESOLVABLE", `${host} does not resolve`);
      const nameAllowed = hostAllowed(host, port);
      return { url, addresses: addresses.map(({ address }) => judge(host, address, nameAllowed, port)) };
    },
    describe() {
      return allowed.length
        ? `public addresses only; allowlist: ${allowed.map((e) => e.text).join(", ")}`
        : "public addresses only";
    },
  };
}
