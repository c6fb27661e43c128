import type { EventDetail } from "@quire/contracts";

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function layout(title: string, body: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: auto; color: #222">
${body}
<p style="color: #888; font-size: 0.85em">Sent by Quire. Manage this subscription through the notifier API.</p>
</body></html>
`;
}

/** A per-job notification: title, classification, summary and a link to the job. */
export function renderJobCompletedEmail(detail: EventDetail<"Job Completed">, links: { job: string }): RenderedEmail {
  const title = detail.title ?? detail.jobId;
  const label = detail.classification.label;
  const confidence = `${Math.round(detail.classification.confidence * 100)}%`;
  return {
    subject: `[Quire] ${title}: ${label}`,
    text: [
      `${title}`,
      ``,
      `Classification: ${label} (${confidence} confidence)`,
      ``,
      `Summary:`,
      detail.summary.text,
      ``,
      `Job: ${links.job}`,
      ...(detail.runId ? [`Run: ${detail.runId}`] : []),
    ].join("\n"),
    html: layout(
      title,
      `<h1 style="font-size: 1.3em">${escapeHtml(title)}</h1>
<p><strong>Classification:</strong> ${escapeHtml(label)} (${confidence} confidence)</p>
<h2 style="font-size: 1.1em">Summary</h2>
<p>${escapeHtml(detail.summary.text).replace(/\n/g, "<br>")}</p>
<p><a href="${escapeHtml(links.job)}">Open the job</a></p>`,
    ),
  };
}

export function renderJobFailedEmail(detail: EventDetail<"Job Failed">, links: { job: string }): RenderedEmail {
  const title = detail.title ?? detail.jobId;
  return {
    subject: `[Quire] Failed: ${title}`,
    text: [
      `${title} could not be processed.`,
      ``,
      `Reason: ${detail.reason.code} — ${detail.reason.message}`,
      ...(detail.stage ? [`Stage: ${detail.stage}`] : []),
      ``,
      `Job: ${links.job}`,
    ].join("\n"),
    html: layout(
      title,
      `<h1 style="font-size: 1.3em">Failed: ${escapeHtml(title)}</h1>
<p><strong>${escapeHtml(detail.reason.code)}</strong>: ${escapeHtml(detail.reason.message)}</p>
<p><a href="${escapeHtml(links.job)}">Open the job</a></p>`,
    ),
  };
}

/** One email for a whole run: counts per classification, failures and a link. */
export function renderRunDigestEmail(detail: EventDetail<"Run Completed">, links: { run: string }): RenderedEmail {
  const counts = Object.entries(detail.countsByClassification).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  const seconds = Math.max(0, (Date.parse(detail.completedAt) - Date.parse(detail.startedAt)) / 1000);
  const headline = `${detail.completed} of ${detail.total} documents complete, ${detail.failed} failed`;
  return {
    subject: `[Quire] Run ${detail.runId} finished: ${detail.completed}/${detail.total} complete${detail.failed ? `, ${detail.failed} failed` : ""}`,
    text: [
      `Run ${detail.runId} finished in ${seconds.toFixed(0)} s.`,
      headline,
      ``,
      `By classification:`,
      ...counts.map(([label, n]) => `  ${label.padEnd(20)} ${n}`),
      ...(detail.failed ? [``, `Failures: ${detail.failed} (see the run for each job's reason)`] : []),
      ``,
      `Run: ${links.run}`,
    ].join("\n"),
    html: layout(
      `Run ${detail.runId}`,
      `<h1 style="font-size: 1.3em">Run ${escapeHtml(detail.runId)} finished</h1>
<p>${escapeHtml(headline)} in ${seconds.toFixed(0)} s.</p>
<table style="border-collapse: collapse">
<tr><th style="text-align: left; padding-right: 2em">Classification</th><th style="text-align: right">Documents</th></tr>
${counts.map(([label, n]) => `<tr><td>${escapeHtml(label)}</td><td style="text-align: right">${n}</td></tr>`).join("\n")}
${detail.failed ? `<tr><td><strong>failed</strong></td><td style="text-align: right"><strong>${detail.failed}</strong></td></tr>` : ""}
</table>
<p><a href="${escapeHtml(links.run)}">Open the run</a></p>`,
    ),
  };
}

/** Like SNS email subscriptions: nothing is sent to an address until its owner follows this link. */
export function renderConfirmationEmail(input: { address: string; mode: string; confirmUrl: string }): RenderedEmail {
  return {
    subject: "[Quire] Confirm your notification subscription",
    text: [
      `Someone subscribed ${input.address} to Quire notifications (${input.mode}).`,
      ``,
      `To start receiving them, confirm here:`,
      input.confirmUrl,
      ``,
      `If this was not you, ignore this message: nothing will be sent.`,
    ].join("\n"),
    html: layout(
      "Confirm your subscription",
      `<p>Someone subscribed <strong>${escapeHtml(input.address)}</strong> to Quire notifications (${escapeHtml(input.mode)}).</p>
<p><a href="${escapeHtml(input.confirmUrl)}">Confirm the subscription</a></p>
<p>If this was not you, ignore this message: nothing will be sent.</p>`,
    ),
  };
}

export function renderPingEmail(subscriptionId: string): RenderedEmail {
  return {
    subject: "[Quire] Test notification",
    text: `This is a test notification for subscription ${subscriptionId}. Email delivery works.`,
    html: layout(
      "Test notification",
      `<p>This is a test notification for subscription ${escapeHtml(subscriptionId)}. Email delivery works.</p>`,
    ),
  };
}
