import type { QueueDeadLetters, QuireClient } from "@quire/cli/client";
import { ActionButton, DataTable, ErrorNote, Loading, Section, Status, usePoll } from "../components.tsx";
import { count, time } from "../format.ts";
import { href } from "../router.ts";

/**
 * Every queue's dead letters grouped by failure code (counts and samples), with redrive of a
 * whole queue (SQS's own move task, whose progress shows below), of one code, or of one message.
 */
export function DeadLettersPage({ client }: { client: QuireClient }) {
  const queues = usePoll(() => client.listDeadLetters(), [], 5000);
  if (queues.error && !queues.data) return <ErrorNote error={queues.error} />;
  if (!queues.data) return <Loading what="dead letters" />;
  const total = queues.data.reduce((sum, q) => sum + q.approximateCount, 0);
  return (
    <>
      <h1>Dead letters</h1>
      <ErrorNote error={queues.error} />
      <p class="muted">
        {total === 0
          ? "No queue has a dead letter."
          : `${count(total)} dead letters (SQS's approximate count) across ${queues.data.filter((q) => q.approximateCount > 0).length} queues.`}
      </p>
      {queues.data.map((queue) => (
        <QueueDeadLettersPanel key={queue.queue} client={client} queue={queue} onChange={queues.reload} />
      ))}
    </>
  );
}

function QueueDeadLettersPanel({
  client,
  queue,
  onChange,
}: {
  client: QuireClient;
  queue: QueueDeadLetters;
  onChange: () => void;
}) {
  const done = (text: string) => {
    onChange();
    return text;
  };
  return (
    <Section
      title={`${queue.queue} — ${count(queue.approximateCount)}`}
      actions={
        queue.approximateCount > 0 ? (
          <ActionButton
            label={`Redrive all of ${queue.queue}`}
            confirm={`Send every dead letter of ${queue.queue} back to its queue?`}
            run={async () => {
              const result = await client.redrive(queue.queue, {});
              return done(result.kind === "move-task" ? "Move task started." : `Moved ${result.moved}.`);
            }}
          />
        ) : undefined
      }
    >
      {queue.groups.length === 0 ? <p class="muted">Empty.</p> : null}
      {!queue.complete ? (
        <p class="muted">Grouped from the first {count(queue.scanned)} read; the count above is all of them.</p>
      ) : null}
      {queue.groups.map((group) => (
        <details key={group.code} open>
          <summary>
            <code>{group.code}</code> — {count(group.count)}
          </summary>
          <div class="action-row">
            <ActionButton
              label={`Redrive every ${group.code}`}
              run={async () => {
                const result = await client.redrive(queue.queue, { code: group.code });
                return done(
                  result.kind === "selected" ? `Moved ${result.moved} of ${result.scanned} read.` : "Started.",
                );
              }}
            />
          </div>
          <DataTable
            caption={`Samples of ${group.code} in ${queue.queue}`}
            rows={group.samples}
            rowKey={(sample) => sample.messageId}
            columns={[
              { header: "Message", cell: (sample) => <code>{sample.messageId}</code> },
              { header: "Reason", cell: (sample) => sample.reason.message },
              {
                header: "Job",
                cell: (sample) => (sample.jobId ? <a href={href.job(sample.jobId)}>{sample.jobId}</a> : "—"),
              },
              { header: "Deliveries", numeric: true, cell: (sample) => sample.receiveCount ?? "—" },
              { header: "Dead-lettered", cell: (sample) => time(sample.deadLetteredAt) },
              {
                header: <span class="sr-only">Actions</span>,
                cell: (sample) => (
                  <ActionButton
                    label="Redrive"
                    run={async () => {
                      const result = await client.redrive(queue.queue, { messageId: sample.messageId });
                      return done(
                        result.kind === "selected" && result.moved === 1 ? "Redriven." : "Not found any more.",
                      );
                    }}
                  />
                ),
              },
            ]}
          />
        </details>
      ))}
      <RedriveTasks client={client} queue={queue.queue} />
    </Section>
  );
}

function RedriveTasks({ client, queue }: { client: QuireClient; queue: string }) {
  const tasks = usePoll(() => client.listRedrives(queue), [queue], 5000);
  if (!tasks.data || tasks.data.length === 0) return null;
  return (
    <div>
      <h3>Move tasks</h3>
      <ul>
        {tasks.data.map((task) => (
          <li key={task.taskHandle ?? task.startedAt}>
            <Status value={task.status.toLowerCase()} /> {count(task.moved)}
            {task.toMove !== undefined ? ` of ${count(task.toMove)}` : ""} moved, started {time(task.startedAt)}
            {task.failureReason ? ` — ${task.failureReason}` : ""}
          </li>
        ))}
      </ul>
    </div>
  );
}
