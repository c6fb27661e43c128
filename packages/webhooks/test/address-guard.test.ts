import { describe, expect, it } from "vitest";
import { createAddressGuard, WebhookConfigError, WebhookTargetRefused, type LookupAll } from "../src/index.ts";

/** The refusal code the guard answers for `url`, or undefined when it lets it through. */
async function refusal(
  url: string | URL,
  options: Parameters<typeof createAddressGuard>[0] = {},
): Promise<string | undefined> {
  try {
    await createAddressGuard(options).vet(url);
    return undefined;
  } catch (error) {
    if (error instanceof WebhookTargetRefused) return error.code;
    throw error;
  }
}

/** A resolver that knows only `table`, so no test depends on the network's DNS. */
const resolvesTo =
  (table: Record<string, string[]>): LookupAll =>
  async (host) => {
    const found = table[host];
    if (!found) throw Object.assign(new Error(`queryA ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return found.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };

describe("the SSRF guard: addresses that are not public unicast", () => {
  for (const [url, what] of [
    ["http://127.0.0.1/", "IPv4 loopback"],
    ["http://127.9.9.9:8080/", "anywhere in 127/8"],
    ["http://10.1.2.3/", "private 10/8"],
    ["http://172.16.0.1/", "private 172.16/12"],
    ["http://192.168.1.1/", "private 192.168/16"],
    ["http://169.254.169.254/latest/meta-data/", "link-local (cloud metadata)"],
    ["http://100.64.0.1/", "carrier-grade NAT"],
    ["http://0.0.0.0/", "unspecified"],
    ["http://255.255.255.255/", "broadcast"],
    ["http://224.0.0.1/", "multicast"],
    ["http://240.0.0.1/", "reserved"],
    ["http://[::1]/", "IPv6 loopback"],
    ["http://[::]/", "IPv6 unspecified"],
    ["http://[::ffff:127.0.0.1]/", "IPv4-mapped loopback"],
    ["http://[::ffff:7f00:1]/", "IPv4-mapped loopback in hex"],
    ["http://[::ffff:a9fe:a9fe]/", "IPv4-mapped metadata address"],
    ["http://[fd00:ec2::254]/", "unique-local (AWS IPv6 metadata)"],
    ["http://[fe80::1]/", "IPv6 link-local"],
    ["http://[ff02::1]/", "IPv6 multicast"],
    ["http://[64:ff9b::7f00:1]/", "NAT64 of loopback"],
    ["http://[2002:a9fe:a9fe::]/", "6to4 of the metadata address"],
    ["http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "Teredo whose client is 127.0.0.1"],
    ["http://[::7f00:1]/", "IPv4-compatible loopback"],
    ["http://2130706433/", "loopback as one decimal number"],
    ["http://0x7f.1/", "loopback in hex shorthand"],
  ] as const) {
    it(`refuses ${url} (${what}) as ADDRESS_NOT_ALLOWED`, async () => {
      expect(await refusal(url)).toBe("ADDRESS_NOT_ALLOWED");
    });
  }

  it("refuses localhost, a name the real resolver turns into loopback", async () => {
    expect(await refusal("http://localhost:8080/hooks")).toBe("ADDRESS_NOT_ALLOWED");
  });

  it("refuses a name when any one of its addresses is forbidden", async () => {
    const lookup = resolvesTo({ "hooks.example.test": ["93.184.216.34", "127.0.0.1"] });
    expect(await refusal("https://hooks.example.test/", { lookup })).toBe("ADDRESS_NOT_ALLOWED");
  });

  it("refuses a name resolving to an IPv4-mapped private address, judged as the IPv4 it carries", async () => {
    expect(
      await refusal("https://hooks.example.test/", {
        lookup: resolvesTo({ "hooks.example.test": ["::ffff:10.0.0.1"] }),
      }),
    ).toBe("ADDRESS_NOT_ALLOWED");
  });

  it("says in the refusal which name resolved to which kind of address", async () => {
    const guard = createAddressGuard({ lookup: resolvesTo({ "hooks.example.test": ["169.254.169.254"] }) });
    await expect(guard.vet("https://hooks.example.test/")).rejects.toThrow(
      "hooks.example.test resolves to 169.254.169.254, which is a linkLocal address",
    );
  });
});

describe("the SSRF guard: public targets", () => {
  it("accepts a public IPv4 literal without any DNS", async () => {
    const guard = createAddressGuard({ lookup: () => Promise.reject(new Error("no DNS for literals")) });
    expect(await guard.vet("https://93.184.216.34/hooks")).toMatchObject({
      addresses: [{ address: "93.184.216.34", family: 4 }],
    });
  });

  it("accepts a public IPv6 literal", async () => {
    expect(await refusal("https://[2606:2800:220:1::1]/")).toBeUndefined();
  });

  it("accepts NAT64 and 6to4 addresses that carry a public IPv4", async () => {
    expect(await refusal("https://[64:ff9b::5db8:d822]/")).toBeUndefined();
    expect(await refusal("https://[2002:5db8:d822::1]/")).toBeUndefined();
  });

  it("accepts a name whose every address is public, and returns those addresses to connect to", async () => {
    const lookup = resolvesTo({ "hooks.example.test": ["93.184.216.34", "2606:2800:220:1::1"] });
    const vetted = await createAddressGuard({ lookup }).vet("https://hooks.example.test/x");
    expect(vetted.url.href).toBe("https://hooks.example.test/x");
    expect(vetted.addresses).toEqual([
      { address: "93.184.216.34", family: 4 },
      { address: "2606:2800:220:1::1", family: 6 },
    ]);
  });

  it("accepts a URL object as well as a string", async () => {
    expect(await refusal(new URL("https://93.184.216.34/"))).toBeUndefined();
  });
});

describe("the SSRF guard: URLs it will not use at all", () => {
  it("refuses schemes other than http and https as SCHEME_NOT_ALLOWED", async () => {
    expect(await refusal("ftp://93.184.216.34/")).toBe("SCHEME_NOT_ALLOWED");
    expect(await refusal("file:///etc/passwd")).toBe("SCHEME_NOT_ALLOWED");
  });

  it("refuses text that is not a URL as URL_INVALID", async () => {
    expect(await refusal("not a url")).toBe("URL_INVALID");
  });

  it("refuses a user name or password in the URL as CREDENTIALS_IN_URL", async () => {
    expect(await refusal("https://user:pass@93.184.216.34/")).toBe("CREDENTIALS_IN_URL");
    expect(await refusal("https://user@93.184.216.34/")).toBe("CREDENTIALS_IN_URL");
  });

  it("refuses a name that does not resolve as HOST_UNRESOLVABLE", async () => {
    expect(await refusal("https://nowhere.example.test/", { lookup: resolvesTo({}) })).toBe("HOST_UNRESOLVABLE");
  });

  it("refuses a name that resolves to nothing as HOST_UNRESOLVABLE", async () => {
    expect(await refusal("https://empty.example.test/", { lookup: resolvesTo({ "empty.example.test": [] }) })).toBe(
      "HOST_UNRESOLVABLE",
    );
  });
});

describe("the SSRF guard's allowlist", () => {
  it("an allowlisted hostname lets that name through, whatever it resolves to", async () => {
    expect(await refusal("http://localhost:3000/", { allowlist: "localhost" })).toBeUndefined();
  });

  it("an allowlisted hostname matches case-insensitively", async () => {
    expect(await refusal("http://LocalHost:3000/", { allowlist: "LOCALHOST" })).toBeUndefined();
  });

  it("an allowlisted hostname does not let its addresses through by IP", async () => {
    expect(await refusal("http://127.0.0.1:3000/", { allowlist: "localhost" })).toBe("ADDRESS_NOT_ALLOWED");
  });

  it("an allowlisted CIDR lets the addresses inside it through", async () => {
    expect(await refusal("http://127.0.0.1/", { allowlist: "127.0.0.0/8" })).toBeUndefined();
    expect(await refusal("http://[::ffff:127.0.0.1]/", { allowlist: "127.0.0.0/8" })).toBeUndefined();
  });

  it("an allowlisted single address lets only that address through", async () => {
    expect(await refusal("http://10.0.0.5/", { allowlist: "10.0.0.5" })).toBeUndefined();
    expect(await refusal("http://10.0.0.6/", { allowlist: "10.0.0.5" })).toBe("ADDRESS_NOT_ALLOWED");
  });

  it("an allowlisted IPv6 address lets it through, bracketed or not", async () => {
    expect(await refusal("http://[::1]/", { allowlist: "::1" })).toBeUndefined();
    expect(await refusal("http://[::1]/", { allowlist: "[::1]" })).toBeUndefined();
  });

  it("an allowlisted address lets a name through only if every address it resolves to is allowed or public", async () => {
    const lookup = resolvesTo({ "hooks.example.test": ["10.0.0.5", "10.0.0.6"] });
    expect(await refusal("http://hooks.example.test/", { allowlist: "10.0.0.5", lookup })).toBe("ADDRESS_NOT_ALLOWED");
    expect(await refusal("http://hooks.example.test/", { allowlist: "10.0.0.0/24", lookup })).toBeUndefined();
  });

  it("reads a comma-separated string or a list, ignoring blanks", async () => {
    expect(await refusal("http://10.0.0.5/", { allowlist: " localhost , 10.0.0.0/8 ," })).toBeUndefined();
    expect(await refusal("http://10.0.0.5/", { allowlist: ["localhost", "10.0.0.0/8"] })).toBeUndefined();
  });

  it("refuses to start with an allowlist entry it cannot read, naming the entry", () => {
    for (const bad of ["10.0.0.0/99", "http://x", "10.1", "under_score.example", "::1/129"]) {
      expect(() => createAddressGuard({ allowlist: `localhost,${bad}` })).toThrow(`"${bad}"`);
    }
  });

  it("an unreadable allowlist fails with the stable code ALLOWLIST_INVALID", () => {
    try {
      createAddressGuard({ allowlist: "not a host" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(WebhookConfigError);
      expect((error as WebhookConfigError).code).toBe("ALLOWLIST_INVALID");
    }
  });

  it("describes itself for logs", () => {
    expect(createAddressGuard().describe()).toBe("public addresses only");
    expect(createAddressGuard({ allowlist: "localhost, 10.0.0.0/8" }).describe()).toBe(
      "public addresses only; allowlist: localhost, 10.0.0.0/8",
    );
  });
});

describe("the SSRF guard's allowlist entries with ports (npm start's loopback:4700-4709)", () => {
  const npmStart = "localhost:4700-4709,127.0.0.1:4700-4709,[::1]:4700-4709";
  // Resolvers that follow RFC 6761 (systemd-resolved, browsers) answer loopback for *.localhost.
  const lookup = resolvesTo({ localhost: ["127.0.0.1", "::1"], "sqs.us-east-1.localhost": ["127.0.0.1"] });

  it("lets the host through on the listed ports only", async () => {
    for (const url of [
      "http://127.0.0.1:4700/",
      "http://127.0.0.1:4709/hook",
      "http://[::1]:4705/",
      "http://localhost:4701/",
    ])
      expect(await refusal(url, { allowlist: npmStart, lookup }), url).toBeUndefined();
  });

  it("refuses devcloud's edge, the ingestion and notifier APIs, the inspectors and any other loopback port", async () => {
    for (const url of [
      "http://127.0.0.1:4566/000000000000/quire-ingestion", // devcloud's SQS endpoint
      "http://localhost:4566/",
      "http://sqs.us-east-1.localhost:4566/000000000000/quire-ingestion", // a QueueUrl as devcloud writes it
      "http://127.0.0.1:3000/v1/documents",
      "http://127.0.0.1:3001/v1/subscriptions",
      "http://127.0.0.1:9230/json",
      "http://127.0.0.1/",
      "http://[::1]:4566/",
      "http://127.0.0.1:4699/",
      "http://127.0.0.1:4710/",
      "http://127.0.0.2:4700/", // the port, but not the address
    ])
      expect(await refusal(url, { allowlist: npmStart, lookup }), url).toBe("ADDRESS_NOT_ALLOWED");
  });

  it("says which ports the allowlist would have let through", async () => {
    await expect(createAddressGuard({ allowlist: npmStart }).vet("http://127.0.0.1:4566/")).rejects.toThrow(
      /127\.0\.0\.1 is a loopback address; .*only on port 4700-4709/,
    );
  });

  it("reads a single port, a range, and ports on a CIDR range", async () => {
    expect(await refusal("http://10.0.0.5:8080/", { allowlist: "10.0.0.5:8080" })).toBeUndefined();
    expect(await refusal("http://10.0.0.5:8081/", { allowlist: "10.0.0.5:8080" })).toBe("ADDRESS_NOT_ALLOWED");
    expect(await refusal("http://10.9.9.9:9000/", { allowlist: "10.0.0.0/8:9000-9001" })).toBeUndefined();
    expect(await refusal("http://10.9.9.9:9002/", { allowlist: "10.0.0.0/8:9000-9001" })).toBe("ADDRESS_NOT_ALLOWED");
    // The scheme's default port counts: http 80, https 443.
    expect(await refusal("http://10.0.0.5/", { allowlist: "10.0.0.5:80" })).toBeUndefined();
    expect(await refusal("https://10.0.0.5/", { allowlist: "10.0.0.5:80" })).toBe("ADDRESS_NOT_ALLOWED");
  });

  it("refuses to start with a port it cannot read", () => {
    for (const bad of ["127.0.0.1:0", "127.0.0.1:70000", "127.0.0.1:4709-4700", "::1:4700-4709", "localhost:"]) {
      expect(() => createAddressGuard({ allowlist: bad }), bad).toThrow(WebhookConfigError);
    }
  });
});
