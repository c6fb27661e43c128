/** Shared harness for the Bedrock tests: the backend behind a bare node:http server, and the real SDK client. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { BedrockRuntimeClient, type BedrockRuntimeClientConfig } from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import type { BedrockBackend } from "../src/bedrock/index.ts";

export interface Harness {
  readonly client: (overrides?: Partial<BedrockRuntimeClientConfig>) => BedrockRuntimeClient;
  readonly url: string;
  close(): Promise<void>;
}

export async function serve(backend: BedrockBackend): Promise<Harness> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => void backend.handle(req, Buffer.concat(chunks), res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const clients: BedrockRuntimeClient[] = [];
  return {
    url,
    client: (overrides = {}) => {
      const client = new BedrockRuntimeClient({
        endpoint: url,
        region: "us-east-1",
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
        // BedrockRuntimeClient defaults to HTTP/2 (prior knowledge, for bidirectional streaming);
        // node:http servers — this harness and devcloud's edge — speak HTTP/1.1 only.
        requestHandler: new NodeHttpHandler(),
        ...overrides,
      });
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) client.destroy();
      await backend.close?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs a promise expected to reject and returns the error, failing the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

export const HAIKU = "anthropic.claude-3-haiku-20240307-v1:0";

export const INVOICE_TEXT = `INVOICE #10442
Bill To: Riverside Legal LLP, 200 Main Street.
Invoice date: March 3, 2024. Due date: April 2, 2024. Payment terms: Net 30.
Document review services, 12 hours at a unit price of $250.00. Subtotal: $3,000.00.
Tax (8%): $240.00. Total amount due: $3,240.00.
Please remit payment to the account below. Thank you for your business.`;

export const MOTION_TEXT = `UNITED STATES DISTRICT COURT FOR THE SOUTHERN DISTRICT OF NEW YORK.
Case No. 1:23-cv-04521. Jane Doe, Plaintiff, v. Acme Corp., Defendant.
DEFENDANT'S MOTION TO DISMISS.
Defendant Acme Corp., by its counsel, respectfully moves this Court pursuant to Rule 12(b)(6) to dismiss the complaint filed by Plaintiff.
The complaint fails to state a claim upon which relief can be granted, and the Court lacks jurisdiction over the state law claims.
A memorandum of law in support of this motion is filed herewith.`;

export const CONTRACT_TEXT = `MASTER SERVICES AGREEMENT.
This Agreement is entered into as of January 15, 2024 (the "Effective Date") by and between Acme Corp. ("Client") and Widget LLC ("Provider"), each a party and together the parties.
WHEREAS, Client wishes to engage Provider, the parties hereby agree as follows.
Provider shall indemnify Client against third-party claims arising from any breach of this Agreement.
This Agreement shall be governed by the laws of the State of Delaware; the governing law clause survives termination.
IN WITNESS WHEREOF, the parties have executed this Agreement as of the Effective Date.`;

export const LETTER_TEXT = `Dear Ms. Alvarez,
I am writing to follow up on our conversation last week about the document retention schedule.
Please find enclosed the revised timeline we discussed. I look forward to hearing from you.
Sincerely,
Tom Becker`;

export const POLICY_TEXT = `Remote Work Policy.
Purpose: this policy sets out the expectations for remote work at the firm.
Scope: this policy applies to all employees and contractors.
Employees must protect client data at all times and are required to use the firm VPN.
Storing client files on personal devices is prohibited. Violations may result in disciplinary action.
Compliance with this policy is reviewed each quarter by the compliance team.`;

/** Long enough to need several sentences; mixed topics so ranking has something to choose. */
export const LONG_DOCUMENT = `Acme Corp. and Widget LLC signed a supply agreement for industrial sensors in January.
The agreement covers delivery of sensors to three Acme plants over two years.
Widget LLC must deliver the sensors within thirty days of each purchase order.
Late delivery of the sensors triggers a penalty of two percent of the order value per week.
The weather in January was unusually cold.
Acme may terminate the agreement if sensor deliveries are late three times in a row.
Both parties agreed to keep pricing of the sensors confidential.
A cafeteria on the second floor serves lunch.
Disputes about the agreement go to arbitration in Delaware.
The sensors must meet the quality standard listed in the agreement's first schedule.
Widget LLC will provide a warranty on all sensors for eighteen months after delivery.`;
