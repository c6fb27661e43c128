import type { GovernorReport, QueueDepth, QuireClient } from "@quire/cli/client";

import { DataTable, ErrorNote, Loading, Section, Status, usePoll } from "../components.tsx";
import { count, time } from "../format.ts";

/** The counts each queue shows, in order. */
const QUEUE_COUNTS = [
  ["Waiting", "visible"],
  ["In flight", "inFlight"],
  ["Delayed", "delayed"],
  ["Dead letters", "deadLetters"],
] as const;

/**
 * Why a run is as fast as it is: each stage process's Bedrock governor (its limit, what is in
 * flight and waiting, throttles, its share of the quota) and each queue's backlog, in flight and
 * dead letters (SQS's approximate counts). Refreshed every 2 s.
 */
export function ThroughputPage({ client }: { client: QuireClient }) {
  const governors = usePoll(() => client.listGovernors(), [], 2000);
  const queues = usePoll(() => client.listQueues(), [], 2000);
  return (
    <>
      <h1>Throughput</h1>
      <Section title="Bedrock governors">
        <ErrorNote error={governors.error} />
        {!governors.data && !governors.error ? <Loading what="the governors" /> : null}
        {governors.data && governors.data.length === 0 ? (
          <p class="muted">No stage process has reported in the last 30 s.</p>
        ) : null}
        {governors.data && governors.data.length > 0 ? <GovernorTable governors={governors.data} /> : null}
      </Section>
      <Section title="Queues">
        <ErrorNote error={queues.error} />
        {!queues.data && !queues.error ? <Loading what="queue depths" /> : null}
        {queues.data ? (
          <DataTable
            caption="Queue depths"
            rows={queues.data}
            rowKey={(queue) => queue.name}
            columns={[
              { header: "Queue", rowHeader: true, cell: (queue) => queue.name },
              { header: "Consumer", cell: (queue) => queue.consumer },
              ...QUEUE_COUNTS.map(([header, key]) => ({
                header,
                numeric: true,
                // A queue whose counts could not be read says why, once, where its first count would be.
                cell: (queue: QueueDepth) =>
                  "error" in queue ? (
                    key === "visible" ? (
                      <span class="error">{queue.error}</span>
                    ) : (
                      ""
                    )
                  ) : (
                    count(queue[key])
                  ),
              })),
            ]}
          />
        ) : null}
      </Section>
    </>
  );
}

function GovernorTable({ governors }: { governors: GovernorReport[] }) {
  return (
    <DataTable
      caption="Bedrock governors, one row per process and model"
      rows={governors}
      rowKey={(g) => `${g.processId}${g.modelId}`}
      columns={[
        {
          header: "Process",
          rowHeader: true,
          cell: (g) => (
            <>
              {g.service}
              <br />
              <code class="muted">{g.processId}</code>
            </>
          ),
        },
        { header: "Model", cell: (g) => <code>{g.modelId}</code> },
        { header: "In flight / limit", numeric: true, cell: (g) => `${count(g.inFlight)} / ${count(g.limit)}` },
        { header: "Waiting", numeric: true, cell: (g) => count(g.waiting.bulk + g.waiting.interactive) },
        { header: "Calls", numeric: true, cell: (g) => count(g.successes) },
        {
          header: "Throttled",
          numeric: true,
          cell: (g) =>
            `${count(g.throttles)}${g.successes > 0 ? ` (${((g.throttles / g.successes) * 100).toFixed(1)} %)` : ""}`,
        },
        {
          header: "Quota share",
          numeric: true,
          cell: (g) => `${Math.round(g.share * 100)} %${g.scale !== 1 ? ` × ${g.scale.toFixed(2)}` : ""}`,
        },
        { header: "Circuit", cell: (g) => <Status value={g.circuit} /> },
        { header: "Reported", cell: (g) => time(new Date(g.reportedAt).toISOString()) },
      ]}
    />
  );
}
