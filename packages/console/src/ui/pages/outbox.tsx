import { ErrorNote, Loading, Section, usePoll } from "../components.tsx";
import { time } from "../format.ts";

interface OutboxMessage {
  id: string;
  from: string;
  to: string[];
  subject: string;
  text: string | undefined;
  html: string | undefined;
  date: string;
}

/**
 * Locally, devcloud's SES keeps every email in an outbox instead of sending it: what each
 * subscriber would have received. Deployed there is no outbox, and the page is not offered.
 */
export function OutboxPage({ path }: { path: string }) {
  const outbox = usePoll(
    async () => {
      const response = await fetch(path, { cache: "no-store" });
      if (!response.ok) throw new Error(`The outbox answered ${response.status}.`);
      const { messages } = (await response.json()) as { messages: OutboxMessage[] };
      return [...messages].sort((a, b) => b.date.localeCompare(a.date));
    },
    [path],
    5000,
  );
  return (
    <>
      <h1>Email outbox</h1>
      <ErrorNote error={outbox.error} />
      {!outbox.data ? <Loading what="the outbox" /> : null}
      {outbox.data && outbox.data.length === 0 ? <p class="muted">No email sent yet.</p> : null}
      {outbox.data?.map((message) => (
        <Section key={message.id} title={message.subject}>
          <p class="muted">
            To {message.to.join(", ")} from {message.from}, {time(message.date)}
          </p>
          {message.text ? <pre class="payload">{message.text}</pre> : null}
          {message.html ? (
            // No scripts, no same-origin access: an email's HTML is shown, never run.
            <iframe title={`HTML of ${message.subject}`} sandbox="" srcDoc={message.html} class="email-html" />
          ) : null}
        </Section>
      ))}
    </>
  );
}
