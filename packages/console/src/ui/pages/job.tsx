import type { JobView, QuireClient } from "@quire/cli/client";
import { DataTable, ErrorNote, Facts, Loading, Section, Status, usePoll } from "../components.tsx";
import { between, count, dollars, time } from "../format.ts";
import { href } from "../router.ts";

/** One job: its results, each stage's attempts and times, its timeline and the events it emitted. */
export function JobPage({ client, jobId }: { client: QuireClient; jobId: string }) {
  const job = usePoll(() => client.getJob(jobId), [jobId], 3000);
  if (job.error && !job.data) return <ErrorNote error={job.error} />;
  if (!job.data) return <Loading what={`job ${jobId}`} />;
  const view = job.data;
  return (
    <>
      <h1>
        Job <code>{view.jobId}</code> <Status value={view.status} />
      </h1>
      <ErrorNote error={job.error} />
      <Facts
        items={[
          ["Title", view.title ?? <span class="muted">untitled</span>],
          ["Run", view.runId ? <a href={href.run(view.runId)}>{view.runId}</a> : "none (submitted alone)"],
          ["Submitted", time(view.submittedAt)],
          ["Completed", time(view.completedAt)],
          ["Took", between(view.submittedAt, view.completedAt)],
          ...(view.usage
            ? ([
                [
                  "Model tokens / cost",
                  `${count(view.usage.inputTokens)} in, ${count(view.usage.outputTokens)} out${view.usage.costUsd !== undefined ? ` — ${dollars(view.usage.costUsd)}` : ""}`,
                ],
              ] as [string, preact.ComponentChildren][])
            : []),
          ...(view.metadata
            ? ([["Metadata", <code key="m">{JSON.stringify(view.metadata)}</code>]] as [
                string,
                preact.ComponentChildren,
              ][])
            : []),
        ]}
      />
      {view.error ? (
        <p class="error" role="alert">
          Failed{view.failedStage ? ` in ${view.failedStage}` : ""}: <strong>{view.error.code}</strong> —{" "}
          {view.error.message}
        </p>
      ) : null}
      <Section title="Summary">
        {view.summary ? <p class="summary-text">{view.summary.text}</p> : <p class="muted">Not summarized yet.</p>}
      </Section>
      <Section title="Classification">
        {view.classification ? (
          <Facts
            items={[
              ["Label", <strong key="l">{view.classification.label}</strong>],
              ["Confidence", `${Math.round(view.classification.confidence * 100)} %`],
              ["Model", view.classification.modelId],
            ]}
          />
        ) : (
          <p class="muted">Not classified yet.</p>
        )}
      </Section>
      <Section title="Stages">
        <DataTable
          caption="Stages"
          rows={["summary", "classification"] as const}
          rowKey={(stage) => stage}
          columns={[
            { header: "Stage", rowHeader: true, cell: (stage) => stage },
            { header: "Status", cell: (stage) => <Status value={view.stages[stage].status} /> },
            { header: "Attempts", numeric: true, cell: (stage) => view.stages[stage].attempts },
            { header: "Started", cell: (stage) => time(view.stages[stage].startedAt) },
            { header: "Done", cell: (stage) => time(view.stages[stage].completedAt) },
            {
              header: "Took",
              cell: (stage) => between(view.stages[stage].startedAt, view.stages[stage].completedAt),
            },
            {
              header: "Tokens in / out",
              numeric: true,
              cell: (stage) => {
                const usage = view[stage]?.usage;
                return usage ? `${count(usage.inputTokens)} / ${count(usage.outputTokens)}` : "—";
              },
            },
          ]}
        />
      </Section>
      <Section title="Timeline and events">
        <Timeline job={view} />
      </Section>
    </>
  );
}

/**
 * What happened, in order: submission, each stage's start and completion (each completion put
 * its stage event on the bus), and the job's own completion event once it went out.
 */
function Timeline({ job }: { job: JobView }) {
  const entries: { at: string | undefined; what: string; event?: string }[] = [
    { at: job.submittedAt, what: "Submitted", event: "Document Submitted (SNS)" },
  ];
  const stageEvent = { summary: "Summary Completed", classification: "Classification Completed" } as const;
  for (const stage of ["summary", "classification"] as const) {
    const state = job.stages[stage];
    if (state.startedAt) entries.push({ at: state.startedAt, what: `${stage} started (attempt ${state.attempts})` });
    if (state.completedAt) entries.push({ at: state.completedAt, what: `${stage} done`, event: stageEvent[stage] });
  }
  if (job.status === "complete")
    entries.push({
      at: job.completedAt,
      what: "Complete",
      ...(job.completionPublished ? { event: "Job Completed" } : {}),
    });
  if (job.status === "failed") entries.push({ at: undefined, what: `Failed: ${job.error?.code ?? ""}` });
  entries.sort((a, b) => (a.at ?? "\uffff").localeCompare(b.at ?? "\uffff"));
  return (
    <ol class="timeline">
      {entries.map((entry) => (
        <li key={`${entry.what}${entry.at}`}>
          <time dateTime={entry.at}>{time(entry.at)}</time> {entry.what}
          {entry.event ? (
            <>
              {" "}
              → <span class="event">{entry.event}</span>
            </>
          ) : null}
        </li>
      ))}
      {job.status === "complete" && !job.completionPublished ? (
        <li class="muted">Job Completed is being announced (its stage publishes it exactly once).</li>
      ) : null}
    </ol>
  );
}
