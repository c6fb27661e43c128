import type { IncomingMessage, ServerResponse } from "node:http";
import { AwsServiceError, parseJsonObject, writeJson, writeJsonError } from "../edge/aws-errors.ts";
import type { ServiceBackend } from "../edge/backend.ts";
import { Outbox } from "./outbox.ts";

const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$|^[^<>]*<[^\s@<>]+@[^\s@<>]+>$/;

export interface SesBackend extends ServiceBackend {
  readonly outbox: Outbox;
}

interface SendEmailInput {
  FromEmailAddress?: string;
  Destination?: { ToAddresses?: string[]; CcAddresses?: string[]; BccAddresses?: string[] };
  ReplyToAddresses?: string[];
  Content?: {
    Simple?: { Subject?: { Data?: string }; Body?: { Text?: { Data?: string }; Html?: { Data?: string } } };
    Raw?: { Data?: string };
    Template?: unknown;
  };
}

/**
 * SES v2 `SendEmail` (REST-JSON, `POST /v2/email/outbound-emails`). Nothing leaves the machine:
 * each message lands in the outbox as an .eml file. Simple content is required; Raw and Template
 * content are refused with a clear BadRequestException rather than half-emulated.
 */
export function createSesBackend(options: { outboxDir: string | undefined }): SesBackend {
  const outbox = new Outbox(options.outboxDir);

  function sendEmail(input: SendEmailInput) {
    const from = input.FromEmailAddress;
    if (!from)
      throw new AwsServiceError(
        "BadRequestException",
        "FromEmailAddress is required (devcloud has no default identity).",
      );
    const to = input.Destination?.ToAddresses ?? [];
    const cc = input.Destination?.CcAddresses ?? [];
    const bcc = input.Destination?.BccAddresses ?? [];
    if (to.length + cc.length + bcc.length === 0)
      throw new AwsServiceError("BadRequestException", "Destination needs at least one address.");
    if (to.length + cc.length + bcc.length > 50)
      throw new AwsServiceError("BadRequestException", "Destination has more than 50 recipients.");
    for (const address of [from, ...to, ...cc, ...bcc, ...(input.ReplyToAddresses ?? [])]) {
      if (!EMAIL.test(address)) throw new AwsServiceError("BadRequestException", `Illegal address: ${address}`);
    }
    if (input.Content?.Raw || input.Content?.Template) {
      throw new AwsServiceError(
        "BadRequestException",
        "devcloud SES accepts Content.Simple only (Raw and Template are not emulated).",
      );
    }
    const simple = input.Content?.Simple;
    if (!simple) throw new AwsServiceError("BadRequestException", "Content.Simple is required.");
    const subject = simple.Subject?.Data;
    if (subject === undefined)
      throw new AwsServiceError("BadRequestException", "Content.Simple.Subject.Data is required.");
    const text = simple.Body?.Text?.Data;
    const html = simple.Body?.Html?.Data;
    if (text === undefined && html === undefined)
      throw new AwsServiceError("BadRequestException", "Content.Simple.Body needs Text or Html.");
    const entry = outbox.add({
      id: crypto.randomUUID(),
      from,
      to,
      cc,
      bcc,
      replyTo: input.ReplyToAddresses ?? [],
      subject,
      text,
      html,
      date: new Date().toISOString(),
    });
    return { MessageId: entry.id };
  }

  return {
    signingName: "ses",
    outbox,
    async handle(req: IncomingMessage, body: Buffer, res: ServerResponse) {
      const path = new URL(req.url ?? "/", "http://edge").pathname;
      try {
        if (req.method === "POST" && path === "/v2/email/outbound-emails") {
          writeJson(res, 200, sendEmail(parseJsonObject(body, "BadRequestException") as SendEmailInput));
          return;
        }
        throw new AwsServiceError(
          "NotFoundException",
          `devcloud SES implements SendEmail only, not ${req.method} ${path}.`,
          404,
        );
      } catch (error) {
        const known =
          error instanceof AwsServiceError
            ? error
            : new AwsServiceError("InternalFailure", (error as Error).message, 500);
        writeJsonError(res, known);
      }
    },
  };
}
