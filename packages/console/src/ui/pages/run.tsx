import type { JobStatus, JobView, QuireClient, RunView } from "@quire/cli/client";
import { useEffect, useState } from "preact/hooks";
import { ProgressChart, RateChart, type Sample } from "../chart.tsx";
import {
  DataTable,
  ErrorNote,
  Facts,
  Loading,
  Pager,
  Section,
  Status,
  useCursorPages,
  usePoll,
} from "../components.tsx";
import { count, dollars, duration, percent, time } from "../format.ts";
import { href } from "../router.ts";
import { DeadlineVerdict } from "./runs.tsx";

const POLL_MS = 2000;
const JOB_STATUSES: JobStatus[] = ["pending", "processing", "complete", "failed"];

/**
 * One run, live: counts, the progress chart and throughput (sampled every 2 s while the page is
 * open, from the run's start), ETA and deadline, classifications, and its jobs with filters.
 * Every figure is the API's exact count, never a count of what a page happened to load.
 */
export function RunPage({ client, runId }: { client: QuireClient; runId: string }) {
  const [samples, setSamples] = useState<Sample[]>([]);
  const run = usePoll(() => client.getRun(runId), [runId], POLL_MS);
  useEffect(() => setSamples([]), [runId]);
  useEffect(() => {
    const data = run.data;
    if (!data) return;
    const finished = data.counts.complete + data.counts.failed;
    const at = data.completedAt ? Date.parse(data.completedAt) : Date.now();
    setSamples((s) => {
      const last = s[s.length - 1];
      if (last && (last.at >= at || (last.finished === finished && data.status === "complete"))) return s;
      return [...s, { at, finished }];
    });
  }, [run.data]);

  if (run.error && !run.data) return <ErrorNote error={run.error} />;
  if (!run.data) return <Loading what={`run ${runId}`} />;
  const view = run.data;
  return (
    <>
      <h1>
        Run <code>{view.runId}</code> <Status value={view.status} />
      </h1>
      <ErrorNote error={run.error} />
      <RunCounts run={view} />
      <Section title="Progress">
        <ProgressChart
          startedAt={Date.parse(view.startedAt)}
          total={view.counts.total}
          samples={samples}
          eta={view.eta ? Date.parse(view.eta) : undefined}
          deadlineAt={view.deadline ? Date.parse(view.deadline.at) : undefined}
          now={view.completedAt ? Date.parse(view.completedAt) : Date.now()}
        />
        {samples.length > 1 ? <RateChart samples={samples} /> : null}
        <Facts
          items={[
            ["Started", time(view.startedAt)],
            [
              view.completedAt ? "Completed" : "ETA",
              view.completedAt ? time(view.completedAt) : view.eta ? time(view.eta) : "—",
            ],
            [
              "Elapsed",
              duration((view.completedAt ? Date.parse(view.completedAt) : Date.now()) - Date.parse(view.startedAt)),
            ],
            ["Throughput (whole run)", `${view.throughput.documentsPerSecond.toFixed(2)} documents/s`],
            ["Model tokens (in / out)", `${count(view.usage.inputTokens)} / ${count(view.usage.outputTokens)}`],
            ...(view.budget
              ? ([
                  [
                    "Budget",
                    [
                      view.budget.usd !== undefined ? dollars(view.budget.usd) : undefined,
                      view.budget.tokens !== undefined ? `${count(view.budget.tokens)} tokens` : undefined,
                    ]
                      .filter(Boolean)
                      .join(" or "),
                  ],
                ] as [string, string][])
              : []),
            [
              "Model calls",
              view.inference?.mode === "batch"
                ? `Bedrock batch inference${view.inference.fallbackAt ? `, on demand from ${time(view.inference.fallbackAt)} for what it has not answered` : ""}`
                : "on demand",
            ],
            [
              view.inference?.mode === "batch"
                ? "Cost so far (batch, and on demand for what it refused)"
                : "Cost so far (on demand)",
              `${dollars(view.usage.costUsd)}${view.usage.unpricedJobs > 0 ? ` + ${count(view.usage.unpricedJobs)} jobs without a price` : ""}`,
            ],
            [
              "Deadline",
              view.deadline ? (
                <>
                  {view.deadline.duration}, by {time(view.deadline.at)} —{" "}
                  <DeadlineVerdict onTrack={view.deadline.onTrack} />
                </>
              ) : (
                "none"
              ),
            ],
          ]}
        />
      </Section>
      {view.plan ? <Plan plan={view.plan} /> : null}
      <Classifications run={view} />
      {view.counts.failed > 0 ? <RunFailures client={client} run={view} /> : null}
      <RunJobs client={client} run={view} />
    </>
  );
}

/** The plan the run was given at submission: what the quota allowed, and what it assumed. */
function Plan({ plan }: { plan: NonNullable<RunView["plan"]> }) {
  return (
    <Section title="The plan it was given">
      {plan.feasible === null ? (
        <p class="muted">Not judged: {plan.reason}</p>
      ) : (
        <Facts
          items={[
            ["Verdict at submission", plan.feasible ? "feasible" : "not feasible (run anyway)"],
            ["Expected finish", `${time(plan.expectedFinish)} (${duration(plan.expectedSeconds * 1000)})`],
            ["Deadline", `${plan.deadline}, by ${time(plan.deadlineAt)}`],
            ["Bound by", plan.bindingConstraint],
            ["Calls per minute", count(plan.callsPerMinute)],
            ["Concurrency needed", count(plan.requiredConcurrency)],
            [
              "Assumed",
              `${plan.assumptions.requestsPerMinute ?? "no"} RPM, ${plan.assumptions.tokensPerMinute ?? "no"} TPM, ${(plan.assumptions.meanLatencyMs / 1000).toFixed(1)} s per call, ${plan.assumptions.callsPerDocument} calls per document`,
            ],
          ]}
        />
      )}
    </Section>
  );
}

function RunCounts({ run }: { run: RunView }) {
  const { total, complete, failed, processing, pending } = run.counts;
  const tiles: [string, number, string][] = [
    ["Complete", complete, "ok"],
    ["Failed", failed, "bad"],
    ["Processing", processing, "info"],
    ["Pending", pending, "muted"],
  ];
  return (
    <section class="tiles" aria-label="Counts">
      {tiles.map(([label, value, tone]) => (
        <div class={`tile ${tone}`} key={label}>
          <span class="tile-label">{label}</span>
          <span class="tile-value" data-count={label.toLowerCase()}>
            {count(value)}
          </span>
          <span class="tile-share">{percent(value, total)}</span>
        </div>
      ))}
      <div
        class="bar-total"
        role="progressbar"
        aria-label="Finished"
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={complete + failed}
      >
        <span class="ok" style={{ width: `${(complete / Math.max(1, total)) * 100}%` }} />
        <span class="bad" style={{ width: `${(failed / Math.max(1, total)) * 100}%` }} />
      </div>
    </section>
  );
}

function Classifications({ run }: { run: RunView }) {
  const entries = Object.entries(run.countsByClassification).sort((a, b) => b[1] - a[1]);
  const top = Math.max(1, ...entries.map(([, n]) => n));
  return (
    <Section title="By classification">
      {entries.length === 0 ? <p class="muted">No document is classified yet.</p> : null}
      <ul class="hbars">
        {entries.map(([label, n]) => (
          <li key={label}>
            <span class="hbar-label">{label}</span>
            <span class="hbar" style={{ width: `${(n / top) * 60}%` }} />
            <span class="num">{count(n)}</span>
          </li>
        ))}
      </ul>
    </Section>
  );
}

/**
 * How many of the run's jobs the failures panel reads at most: 5 pages of 200. The status filter
 * is applied to each page as it is read, so a large run with few failures would otherwise be read
 * whole; past this the panel says how far it read.
 */
const FAILURE_PAGES_AT_MOST = 5;
const FAILURE_PAGE = 200;

/**
 * The run's failures by reason: its failed jobs, read in order through the status filter, grouped
 * by failure code with a few of each. The total is the run's own counter; the grouping says when
 * it stopped short of the run's end (a run with thousands of jobs: see Dead letters too).
 */
function RunFailures({ client, run }: { client: QuireClient; run: RunView }) {
  const failures = usePoll(async () => {
    const failed: JobView[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listRunJobs(run.runId, { status: "failed", limit: FAILURE_PAGE, cursor });
      failed.push(...page.jobs);
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < FAILURE_PAGES_AT_MOST);
    return { failed, complete: cursor === undefined, jobsRead: pages * FAILURE_PAGE };
  }, [run.runId, run.counts.failed]);
  const groups = new Map<string, JobView[]>();
  for (const job of failures.data?.failed ?? []) {
    const code = job.error?.code ?? "UNKNOWN";
    groups.set(code, [...(groups.get(code) ?? []), job]);
  }
  return (
    <Section title="Failures by reason">
      <ErrorNote error={failures.error} />
      {failures.data && !failures.data.complete ? (
        <p class="muted">
          Grouped from the {count(failures.data.failed.length)} failed jobs among the run's first{" "}
          {count(failures.data.jobsRead)} ({count(run.counts.failed)} failed in all).
        </p>
      ) : null}
      <ul class="hbars">
        {[...groups.entries()]
          .sort((a, b) => b[1].length - a[1].length)
          .map(([code, jobs]) => (
            <li key={code}>
              <code class="hbar-label">{code}</code>
              <span class="num">{count(jobs.length)}</span>
              <span class="muted">
                {jobs[0]?.error?.message} —{" "}
                {jobs.slice(0, 3).map((job) => (
                  <a key={job.jobId} href={href.job(job.jobId)} class="sample">
                    {job.title ?? job.jobId}
                  </a>
                ))}
              </span>
            </li>
          ))}
      </ul>
    </Section>
  );
}

function RunJobs({ client, run }: { client: QuireClient; run: RunView }) {
  const [status, setStatus] = useState<JobStatus | "">("");
  const [classification, setClassification] = useState("");
  const [title, setTitle] = useState("");
  const [metadata, setMetadata] = useState("");
  // What is typed is kept as it is typed (the page re-renders every poll, and must not put an
  // applied value back into a field being edited); it filters once committed (Enter, or leaving it).
  const [typed, setTyped] = useState({ title: "", metadata: "" });
  const pages = useCursorPages();
  const filters = { status, classification };
  // `key:value` only once it has both; the API refuses anything else.
  const metadataFilter = /^[^:]{1,128}:/.test(metadata) ? metadata : "";
  const jobs = usePoll(
    () =>
      client.listRunJobs(run.runId, {
        limit: 25,
        cursor: pages.cursor,
        ...(status ? { status } : {}),
        ...(classification ? { classification } : {}),
        ...(title ? { title } : {}),
        ...(metadataFilter ? { metadata: metadataFilter } : {}),
      }),
    // The run's status too: its jobs are read once more when it completes, then no longer polled.
    [run.runId, run.status, pages.cursor, status, classification, title, metadataFilter],
    run.status === "complete" ? 0 : 5000,
  );
  const change = (set: (value: never) => void) => (event: Event) => {
    set((event.target as HTMLInputElement | HTMLSelectElement).value as never);
    pages.reset();
  };
  return (
    <Section title="Jobs">
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          Status
          <select value={filters.status} onChange={change(setStatus)}>
            <option value="">any</option>
            {JOB_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Classification
          <select value={filters.classification} onChange={change(setClassification)}>
            <option value="">any</option>
            {Object.keys(run.countsByClassification).map((label) => (
              <option key={label} value={label}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Title contains
          <input
            type="search"
            value={typed.title}
            onInput={(event) => setTyped((t) => ({ ...t, title: (event.target as HTMLInputElement).value }))}
            onChange={change(setTitle)}
          />
        </label>
        <label>
          Metadata (key:value)
          <input
            type="search"
            value={typed.metadata}
            onInput={(event) => setTyped((t) => ({ ...t, metadata: (event.target as HTMLInputElement).value }))}
            onChange={change(setMetadata)}
            placeholder="matter:A-1042"
          />
        </label>
      </form>
      <ErrorNote error={jobs.error} />
      {jobs.loading && !jobs.data ? <Loading what="jobs" /> : null}
      {jobs.data ? <JobsTable jobs={jobs.data.jobs} /> : null}
      {jobs.data && jobs.data.jobs.length === 0 ? (
        <p class="muted">
          No job on this page matches
          {jobs.data.nextCursor ? "; later pages may (the filter reads the run in order)." : "."}
        </p>
      ) : null}
      <Pager page={pages.page} nextCursor={jobs.data?.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
    </Section>
  );
}

export function JobsTable({ jobs }: { jobs: JobView[] }) {
  if (jobs.length === 0) return null;
  return (
    <DataTable
      caption="Jobs"
      rows={jobs}
      rowKey={(job) => job.jobId}
      columns={[
        { header: "Job", cell: (job) => <a href={href.job(job.jobId)}>{job.jobId}</a> },
        { header: "Title", cell: (job) => job.title ?? <span class="muted">untitled</span> },
        { header: "Status", cell: (job) => <Status value={job.status} /> },
        {
          header: "Classification",
          cell: (job) =>
            job.classification
              ? `${job.classification.label} (${Math.round(job.classification.confidence * 100)} %)`
              : "—",
        },
        { header: "Submitted", cell: (job) => time(job.submittedAt) },
        { header: "Failure", cell: (job) => (job.error ? <code>{job.error.code}</code> : "") },
      ]}
    />
  );
}
