import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { startDevcloud, type Devcloud } from "@quire/devcloud";

/** Model ids the emulator knows only because they are configured here, one behaviour each. */
export const TEST_MODELS = {
  throttled: "quire-test.throttled-v1:0",
  unavailable: "quire-test.unavailable-v1:0",
  modelError: "quire-test.model-error-v1:0",
  slow: "quire-test.slow-v1:0",
} as const;

/**
 * timeScale 0.005: the default ~300 ms model latency takes ~1.5 ms and a quota "minute" 300 ms,
 * so throttling clears quickly in real time while staying a faithful scaled simulation.
 */
export const TIME_SCALE = 0.005;

export function startBedrockDevcloud(): Promise<Devcloud> {
  return startDevcloud({
    port: 0,
    topology: false,
    log: process.env.DEBUG ? console.error : () => {},
    bedrock: {
      timeScale: TIME_SCALE,
      models: {
        [TEST_MODELS.throttled]: { quota: { requestsPerMinute: 1 } },
        [TEST_MODELS.unavailable]: { faults: { serviceUnavailableRate: 1 } },
        [TEST_MODELS.modelError]: { faults: { modelErrorRate: 1 } },
        // 200 s simulated = 1 s real: long enough to abort or time out mid-call.
        [TEST_MODELS.slow]: { latency: { distribution: "fixed", meanMs: 200_000, jitterMs: 0, perOutputTokenMs: 0 } },
      },
    },
  });
}

/**
 * A client with the SDK's defaults (retries on), to show the stage client switches them off per
 * call. `wireRequests()` counts HTTP requests actually sent: a deserialize-step middleware runs
 * once per attempt, inside the SDK's retry loop.
 */
export function testClient(devcloud: Devcloud): { client: BedrockRuntimeClient; wireRequests: () => number } {
  const client = new BedrockRuntimeClient(devcloud.clientConfig);
  let count = 0;
  client.middlewareStack.add(
    (next) => (args) => {
      count++;
      return next(args);
    },
    { step: "deserialize", name: "testWireCounter", priority: "low" },
  );
  return { client, wireRequests: () => count };
}

export const INVOICE_TEXT = [
  "INVOICE No. 2024-0117",
  "Bill to: Harbor Legal LLP, 12 Quay Street, Portsmouth.",
  "Description: document review services, 14 hours at unit price 180.00 USD. Subtotal 2,520.00 USD. VAT 504.00 USD.",
  "Total amount due: 3,024.00 USD. Payment terms: net 30. Due date: 15 March 2024.",
  "Please remit payment to the account below, quoting the invoice number.",
].join("\n");

export const MOTION_TEXT = [
  "UNITED STATES DISTRICT COURT FOR THE DISTRICT OF OREGON. Case No. 3:24-cv-00412.",
  "ACME HOLDINGS, Plaintiff, v. BRIGHTLINE CARRIERS INC., Defendant.",
  "DEFENDANT'S MOTION TO DISMISS. Defendant, by its attorney for the defendant, respectfully moves the Court pursuant to Rule 12(b)(6) to dismiss the complaint.",
  "The plaintiff's complaint fails to state a claim. A memorandum of law in support of this motion is filed herewith.",
  "WHEREFORE defendant respectfully requests that the Court grant this motion and set a hearing.",
].join("\n");

export const LONG_TEXT = Array.from(
  { length: 40 },
  (_, index) =>
    `Clause ${index + 1} of the supply agreement obliges the supplier to deliver batch ${index + 1} of components to the buyer's warehouse in Leeds within ${index + 5} business days of each purchase order, failing which liquidated damages of ${100 + index} pounds per day accrue.`,
).join(" ");
