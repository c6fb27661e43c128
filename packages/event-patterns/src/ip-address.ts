/**
 * IP literals and CIDR blocks the way event-ruler reads them: a cheap regex decides whether a
 * string is "IP-shaped", then Java's InetAddress literal parser decides whether it is an address.
 * Addresses are compared as upper-case hex digit strings (8 digits for IPv4, 32 for IPv6).
 */

const IPV4_SHAPE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6_SHAPE = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;

export function isIpShaped(text: string): boolean {
  return IPV4_SHAPE.test(text) || IPV6_SHAPE.test(text);
}

/** Java's IPAddressUtil.textToNumericFormatV4, limited to the dotted-quad shape that reaches it. */
function parseIpv4(text: string): number[] | null {
  if (text.length === 0 || text.length > 15) return null;
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (part === "") return null;
    const value = Number(part);
    if (value > 0xff) return null;
    bytes.push(value);
  }
  return bytes;
}

/**
 * Java's IPAddressUtil.textToNumericFormatV6 (an inet_pton port): groups may carry leading zeros
 * as long as their value fits 16 bits, one "::" may stand for zero groups, and an IPv4-mapped
 * address (::ffff:a.b.c.d) becomes a plain 4-byte IPv4 address.
 */
function parseIpv6(text: string): number[] | null {
  if (text.length < 2) return null;
  const bytes = new Array<number>(16).fill(0);
  let index = 0;
  if (text[0] === ":" && text[1] !== ":") return null;
  if (text[0] === ":") index = 1;
  let compressedAt = -1;
  let written = 0;
  let sawDigit = false;
  let value = 0;
  while (index < text.length) {
    const ch = text[index++] as string;
    const digit = Number.parseInt(ch, 16);
    if (!Number.isNaN(digit)) {
      value = (value << 4) | digit;
      if (value > 0xffff) return null;
      sawDigit = true;
      continue;
    }
    if (ch !== ":") return null;
    if (!sawDigit) {
      if (compressedAt !== -1) return null;
      compressedAt = written;
      continue;
    }
    if (index === text.length) return null;
    if (written + 2 > 16) return null;
    bytes[written++] = (value >> 8) & 0xff;
    bytes[written++] = value & 0xff;
    sawDigit = false;
    value = 0;
  }
  if (sawDigit) {
    if (written + 2 > 16) return null;
    bytes[written++] = (value >> 8) & 0xff;
    bytes[written++] = value & 0xff;
  }
  if (compressedAt !== -1) {
    if (written === 16) return null;
    const moved = written - compressedAt;
    for (let i = 1; i <= moved; i++) {
      bytes[16 - i] = bytes[compressedAt + moved - i] as number;
      bytes[compressedAt + moved - i] = 0;
    }
    written = 16;
  }
  if (written !== 16) return null;
  const isIpv4Mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return isIpv4Mapped ? bytes.slice(12) : bytes;
}

/** Address bytes of an IP literal, or null where event-ruler would fail to read one. */
export function parseIpAddress(text: string): number[] | null {
  if (IPV4_SHAPE.test(text)) return parseIpv4(text);
  if (IPV6_SHAPE.test(text)) return parseIpv6(text);
  return null;
}

function toHexDigits(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join("");
}

/** Hex-digit form of an IP literal, as event-ruler compares event values against CIDR ranges. */
export function ipAddressToHex(text: string): string | null {
  const bytes = parseIpAddress(text);
  return bytes === null ? null : toHexDigits(bytes);
}

/** Inclusive range of hex-digit addresses. */
export interface IpRange {
  readonly low: string;
  readonly high: string;
}

/** Thrown with event-ruler's CIDR messages; it surfaces as an IllegalArgumentException there. */
export class InvalidCidrError extends Error {
  override readonly name = "InvalidCidrError";
}

export function parseCidr(cidr: string): IpRange {
  // Java's String.split drops trailing empty strings, so "10.0.0.0/" has one part, not two.
  const slashed = cidr.split("/");
  while (slashed.length > 0 && slashed[slashed.length - 1] === "") slashed.pop();
  if (slashed.length !== 2) throw new InvalidCidrError("Malformed CIDR, one '/' required");
  const [addressText = "", maskText = ""] = slashed;
  if (
    !/^[+-]?\d+$/.test(maskText) ||
    !Number.isSafeInteger(Number(maskText)) ||
    Math.abs(Number(maskText)) > 2 ** 31 - 1
  ) {
    throw new InvalidCidrError("Malformed CIDR, mask bits must be an integer");
  }
  const maskBits = Number(maskText);
  if (maskBits < 0) throw new InvalidCidrError("Malformed CIDR, mask bits must not be negative");
  const bytes = isIpShaped(addressText) ? parseIpAddress(addressText) : [];
  if (bytes === null) throw new InvalidCidrError(`Invalid IP address: ${addressText}`);
  if (bytes.length !== 4 && bytes.length !== 16) throw new InvalidCidrError(`Nonstandard IP address: ${addressText}`);
  if (bytes.length === 4 && maskBits > 31) throw new InvalidCidrError("IPv4 mask bits must be < 32");
  if (bytes.length === 16 && maskBits > 127) throw new InvalidCidrError("IPv6 mask bits must be < 128");

  let variableBits = bytes.length * 8 - maskBits;
  const low = [...bytes];
  const high = [...bytes];
  for (let i = bytes.length - 1; i >= 0 && variableBits > 0; i--, variableBits -= 8) {
    const hostMask = (1 << Math.min(8, variableBits)) - 1;
    low[i] = (bytes[i] as number) & ~hostMask & 0xff;
    high[i] = (bytes[i] as number) | hostMask;
  }
  return { low: toHexDigits(low), high: toHexDigits(high) };
}

/** The single-address range event-ruler makes from an IP-shaped exact-match string, else null. */
export function ipLiteralToRange(text: string): IpRange | null {
  if (!isIpShaped(text)) return null;
  const hex = ipAddressToHex(text);
  return hex === null ? null : { low: hex, high: hex };
}

/**
 * event-ruler walks a range digit by digit and reports the match as soon as the range's last digit
 * is consumed, so an address longer than the range (IPv6 against an IPv4 block) is judged by its
 * leading digits only.
 */
export function ipHexInRange(addressHex: string, range: IpRange): boolean {
  if (addressHex.length < range.low.length) return false;
  const comparable = addressHex.length === range.low.length ? addressHex : addressHex.slice(0, range.low.length);
  return comparable >= range.low && comparable <= range.high;
}
