import type { QuireClient } from "@quire/cli/client";
import { useState } from "preact/hooks";
import { DataTable, ErrorNote, Loading, Pager, Section, Status, useCursorPages, usePoll } from "../components.tsx";
import { count, percent, time } from "../format.ts";
import { href } from "../router.ts";

/** Runs, newest first, a page at a time; and a box that opens any run or job by its id. */
export function RunsPage({ client }: { client: QuireClient }) {
  const pages = useCursorPages();
  const runs = usePoll(() => client.listRuns({ limit: 20, cursor: pages.cursor }), [pages.cursor], 5000);
  return (
    <>
      <OpenById />
      <Section title="Runs">
        <ErrorNote error={runs.error} />
        {runs.loading && !runs.data ? <Loading what="runs" /> : null}
        {runs.data && runs.data.runs.length === 0 ? (
          <p class="muted">No runs yet. Submit one with POST /v1/runs or `quire submit-run`.</p>
        ) : null}
        {runs.data && runs.data.runs.length > 0 ? (
          <DataTable
            caption="Runs, newest first"
            rows={runs.data.runs}
            rowKey={(run) => run.runId}
            columns={[
              { header: "Run", cell: (run) => <a href={href.run(run.runId)}>{run.runId}</a> },
              { header: "Status", cell: (run) => <Status value={run.status} /> },
              { header: "Started", cell: (run) => time(run.startedAt) },
              { header: "Documents", numeric: true, cell: (run) => count(run.counts.total) },
              {
                header: "Complete",
                numeric: true,
                cell: (run) => `${count(run.counts.complete)} (${percent(run.counts.complete, run.counts.total)})`,
              },
              { header: "Failed", numeric: true, cell: (run) => count(run.counts.failed) },
              {
                header: "Deadline",
                cell: (run) => (run.deadline ? <DeadlineVerdict onTrack={run.deadline.onTrack} /> : "none"),
              },
            ]}
          />
        ) : null}
        <Pager page={pages.page} nextCursor={runs.data?.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
      </Section>
    </>
  );
}

export function DeadlineVerdict({ onTrack }: { onTrack: boolean | null }) {
  if (onTrack === null) return <span class="muted">not judged (no quota configured)</span>;
  return onTrack ? <span class="status ok">on track</span> : <span class="status bad">behind</span>;
}

function OpenById() {
  const [id, setId] = useState("");
  const [problem, setProblem] = useState<string>();
  return (
    <form
      class="open-by-id"
      onSubmit={(event) => {
        event.preventDefault();
        const value = id.trim();
        if (value.startsWith("run_")) location.hash = href.run(value);
        else if (value.startsWith("job_")) location.hash = href.job(value);
        else setProblem("An id starts with run_ or job_.");
      }}
    >
      <label for="open-id">Open a run or job by id</label>
      <input
        id="open-id"
        value={id}
        onInput={(event) => {
          setId((event.target as HTMLInputElement).value);
          setProblem(undefined);
        }}
        placeholder="run_… or job_…"
        aria-describedby={problem ? "open-id-problem" : undefined}
      />
      <button type="submit">Open</button>
      {problem ? (
        <span id="open-id-problem" class="error">
          {problem}
        </span>
      ) : null}
    </form>
  );
}
