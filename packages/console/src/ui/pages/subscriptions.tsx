import type { QuireClient, SubscriptionView } from "@quire/cli/client";
import { useState } from "preact/hooks";
import { ActionButton, DataTable, ErrorNote, Facts, Loading, Section, Status, usePoll } from "../components.tsx";
import { time } from "../format.ts";
import { href } from "../router.ts";

const destination = (s: SubscriptionView) => (s.kind === "webhook" ? s.url : s.address);

export function SubscriptionsPage({ client }: { client: QuireClient }) {
  const list = usePoll(() => client.listSubscriptions(), [], 5000);
  if (list.error && !list.data) return <ErrorNote error={list.error} />;
  if (!list.data) return <Loading what="subscriptions" />;
  return (
    <Section title="Subscriptions">
      {list.data.length === 0 ? (
        <p class="muted">No subscription. Create one with POST /v1/subscriptions or `quire subscribe`.</p>
      ) : (
        <DataTable
          caption="Subscriptions"
          rows={list.data}
          rowKey={(s) => s.id}
          columns={[
            { header: "Subscription", cell: (s) => <a href={href.subscription(s.id)}>{s.description ?? s.id}</a> },
            { header: "Kind", cell: (s) => s.kind },
            { header: "Destination", cell: (s) => <code>{destination(s)}</code> },
            { header: "Events", cell: (s) => s.events.join(", ") },
            { header: "State", cell: (s) => <Status value={s.status} /> },
            { header: "Failing since", cell: (s) => time(s.failingSince) },
          ]}
        />
      )}
    </Section>
  );
}

/**
 * One subscription: its state, the actions a person takes on it (enable, rotate the signing
 * secret, a test ping, replaying what failed since a time) and its delivery log.
 */
export function SubscriptionPage({ client, subscriptionId }: { client: QuireClient; subscriptionId: string }) {
  const subscription = usePoll(() => client.getSubscription(subscriptionId), [subscriptionId], 5000);
  const [status, setStatus] = useState("");
  const deliveries = usePoll(
    () => client.listDeliveries(subscriptionId, status ? { status } : {}),
    [subscriptionId, status],
    3000,
  );
  const [since, setSince] = useState(() => new Date(Date.now() - 3_600_000).toISOString().slice(0, 16));
  const [secret, setSecret] = useState<string>();
  if (subscription.error && !subscription.data) return <ErrorNote error={subscription.error} />;
  if (!subscription.data) return <Loading what={`subscription ${subscriptionId}`} />;
  const s = subscription.data;
  const refresh = (text: string) => {
    subscription.reload();
    deliveries.reload();
    return text;
  };
  return (
    <>
      <h1>
        Subscription <code>{s.id}</code> <Status value={s.status} />
      </h1>
      <Facts
        items={[
          ["Kind", s.kind],
          ["Destination", <code key="d">{destination(s)}</code>],
          ["Events", s.events.join(", ")],
          ["Filter", s.filter ? <code key="f">{JSON.stringify(s.filter)}</code> : "none"],
          ["Created", time(s.createdAt)],
          ["Last failure", time(s.lastFailureAt)],
          ...(s.disabledReason
            ? ([["Disabled", `${s.disabledReason.code}: ${s.disabledReason.message}`]] as [string, string][])
            : []),
        ]}
      />
      <Section title="Actions">
        <div class="action-row">
          {s.status === "disabled" ? (
            <ActionButton
              label="Enable"
              run={async () => refresh(`Now ${(await client.enableSubscription(s.id)).status}.`)}
            />
          ) : null}
          <ActionButton
            label="Send a test ping"
            run={async () => refresh(`Queued ${(await client.testSubscription(s.id)).deliveryId}.`)}
          />
          {s.kind === "webhook" ? (
            <ActionButton
              label="Rotate signing secret"
              confirm="Rotate the signing secret? The old one keeps signing for the overlap period."
              run={async () => {
                const rotated = await client.rotateSecret(s.id);
                // Shown once, here, as the API shows it once: the receiver needs it.
                setSecret(rotated.secret);
                return `Rotated; the old secret stops at ${time(rotated.previousSecretExpiresAt)}.`;
              }}
            />
          ) : null}
        </div>
        {secret ? (
          <p class="secret">
            New secret (shown once — copy it to the receiver now): <code>{secret}</code>
          </p>
        ) : null}
        <form class="filters" onSubmit={(event) => event.preventDefault()}>
          <label>
            Replay failed since
            <input
              type="datetime-local"
              value={since}
              onInput={(e) => setSince((e.target as HTMLInputElement).value)}
            />
          </label>
          <ActionButton
            label="Replay failed deliveries"
            run={async () => {
              const result = await client.replayFailedSince(s.id, new Date(since).toISOString());
              return refresh(`Replayed ${result.replayed}.`);
            }}
          />
        </form>
      </Section>
      <Section title="Deliveries">
        <form class="filters" onSubmit={(event) => event.preventDefault()}>
          <label>
            Status
            <select value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
              <option value="">any</option>
              {["pending", "sending", "retrying", "succeeded", "failed"].map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
          </label>
        </form>
        <ErrorNote error={deliveries.error} />
        {deliveries.data && deliveries.data.length === 0 ? <p class="muted">No delivery.</p> : null}
        {deliveries.data && deliveries.data.length > 0 ? (
          <DataTable
            caption="Deliveries"
            rows={deliveries.data}
            rowKey={(d) => d.id}
            columns={[
              { header: "Delivery", cell: (d) => <a href={href.delivery(d.id)}>{d.id}</a> },
              { header: "Event", cell: (d) => d.eventType },
              { header: "Status", cell: (d) => <Status value={d.status} /> },
              { header: "Attempts", numeric: true, cell: (d) => d.attempts },
              {
                header: "Last attempt",
                cell: (d) =>
                  d.lastAttempt
                    ? `${d.lastAttempt.outcome}${d.lastAttempt.statusCode ? ` ${d.lastAttempt.statusCode}` : ""}, ${Math.round(d.lastAttempt.latencyMs)} ms`
                    : "—",
              },
              { header: "Created", cell: (d) => time(d.createdAt) },
            ]}
          />
        ) : null}
      </Section>
    </>
  );
}

/** One delivery and every attempt at it: status, latency, error and the receiver's answer. */
export function DeliveryPage({ client, deliveryId }: { client: QuireClient; deliveryId: string }) {
  const delivery = usePoll(() => client.getDelivery(deliveryId), [deliveryId], 3000);
  if (delivery.error && !delivery.data) return <ErrorNote error={delivery.error} />;
  if (!delivery.data) return <Loading what={`delivery ${deliveryId}`} />;
  const d = delivery.data;
  return (
    <>
      <h1>
        Delivery <code>{d.id}</code> <Status value={d.status} />
      </h1>
      <Facts
        items={[
          [
            "Subscription",
            <a key="s" href={href.subscription(d.subscriptionId)}>
              {d.subscriptionId}
            </a>,
          ],
          ["Event", `${d.eventType} (${d.eventId})`],
          ["Attempts", String(d.attempts)],
          ["Next attempt", time(d.nextAttemptAt)],
          ...(d.failure ? ([["Failure", `${d.failure.code}: ${d.failure.message}`]] as [string, string][]) : []),
          ...(d.replayOf
            ? ([
                [
                  "Replay of",
                  <a key="r" href={href.delivery(d.replayOf)}>
                    {d.replayOf}
                  </a>,
                ],
              ] as [string, preact.ComponentChildren][])
            : []),
        ]}
      />
      <div class="action-row">
        <ActionButton
          label="Replay this delivery"
          run={async () => {
            const replay = await client.replayDelivery(d.id);
            location.hash = href.delivery(replay.deliveryId);
            return `Replayed as ${replay.deliveryId}.`;
          }}
        />
      </div>
      <Section title="Attempts">
        {d.log.length === 0 ? <p class="muted">Not attempted yet.</p> : null}
        {d.log.length > 0 ? (
          <DataTable
            caption="Attempts"
            rows={d.log}
            rowKey={(attempt) => String(attempt.attempt)}
            columns={[
              { header: "#", numeric: true, cell: (attempt) => attempt.attempt },
              { header: "At", cell: (attempt) => time(attempt.at) },
              { header: "Outcome", cell: (attempt) => <Status value={attempt.outcome} /> },
              { header: "HTTP", numeric: true, cell: (attempt) => attempt.statusCode ?? "—" },
              { header: "Latency", numeric: true, cell: (attempt) => `${Math.round(attempt.latencyMs)} ms` },
              {
                header: "Error",
                cell: (attempt) => (attempt.error ? `${attempt.error.code}: ${attempt.error.message}` : ""),
              },
              {
                header: "Response",
                cell: (attempt) =>
                  attempt.response ? (
                    <code class="excerpt">
                      {attempt.response.body}
                      {attempt.response.truncated ? "…" : ""}
                    </code>
                  ) : (
                    ""
                  ),
              },
            ]}
          />
        ) : null}
      </Section>
      <Section title="Payload">
        <pre class="payload">{JSON.stringify(d.payload, null, 2)}</pre>
      </Section>
    </>
  );
}
