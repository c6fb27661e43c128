import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * An AWS service that devcloud implements itself (EventBridge, Bedrock runtime, SESv2).
 * The edge router reads the whole request body once and hands it over with the request;
 * the backend writes the complete response in the AWS wire format its SDK client expects.
 */
export interface ServiceBackend {
  /** SigV4 signing name the edge routes on, e.g. "events", "bedrock", "ses". */
  readonly signingName: string;
  handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void>;
  /** Flush state to disk (if persistent) and release timers. */
  close?(): Promise<void>;
}
