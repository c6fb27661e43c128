import { SendEmailCommand, type SESv2Client } from "@aws-sdk/client-sesv2";
import { parseEventDetail } from "@quire/contracts";
import {
  renderJobCompletedEmail,
  renderJobFailedEmail,
  renderPingEmail,
  renderRunDigestEmail,
  type AttemptRecord,
  type Delivery,
  type EmailSubscription,
  type RenderedEmail,
} from "@quire/notifications";
import type { DeliverySettings } from "../settings.ts";

function render(delivery: Delivery, subscription: EmailSubscription, settings: DeliverySettings): RenderedEmail {
  const { data } = delivery.payload;
  switch (delivery.eventType) {
    case "job.completed": {
      const detail = parseEventDetail("Job Completed", data);
      return renderJobCompletedEmail(detail, { job: `${settings.apiPublicUrl}/v1/jobs/${detail.jobId}` });
    }
    case "job.failed": {
      const detail = parseEventDetail("Job Failed", data);
      return renderJobFailedEmail(detail, { job: `${settings.apiPublicUrl}/v1/jobs/${detail.jobId}` });
    }
    case "run.completed": {
      const detail = parseEventDetail("Run Completed", data);
      return renderRunDigestEmail(detail, { run: `${settings.apiPublicUrl}/v1/runs/${detail.runId}` });
    }
    case "ping":
      return renderPingEmail(subscription.id);
  }
}

/** One rendered email through SESv2: a plain-text and an HTML part. */
export async function sendRenderedEmail(
  ses: SESv2Client,
  from: string,
  to: string,
  email: RenderedEmail,
  tags: { Name: string; Value: string }[] = [],
): Promise<void> {
  await ses.send(
    new SendEmailCommand({
      FromEmailAddress: from,
      Destination: { ToAddresses: [to] },
      Content: {
        Simple: { Subject: { Data: email.subject }, Body: { Text: { Data: email.text }, Html: { Data: email.html } } },
      },
      ...(tags.length ? { EmailTags: tags } : {}),
    }),
  );
}

/** One email attempt through SESv2 (devcloud's outbox locally). SES errors are retried on the schedule. */
export async function attemptEmail(
  deps: { ses: SESv2Client; settings: DeliverySettings },
  subscription: EmailSubscription,
  delivery: Delivery,
  attempt: number,
): Promise<AttemptRecord> {
  const started = performance.now();
  const at = new Date().toISOString();
  try {
    const email = render(delivery, subscription, deps.settings);
    await sendRenderedEmail(deps.ses, deps.settings.emailFrom, subscription.address, email, [
      { Name: "quire-delivery", Value: delivery.id },
    ]);
    return { attempt, at, outcome: "delivered", latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    const name = (error as { name?: string }).name ?? "Error";
    return {
      attempt,
      at,
      outcome: "failed",
      latencyMs: Math.round(performance.now() - started),
      error: {
        code: `SES_${name
          .replace(/Exception$/, "")
          .replace(/[A-Z]/g, (c, i: number) => (i ? "_" : "") + c)
          .toUpperCase()}`,
        message: (error as Error).message,
      },
    };
  }
}
