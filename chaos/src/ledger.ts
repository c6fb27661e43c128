import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import { PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import type { Cluster, HealthAnswer, ProcessDeath } from "./cluster.ts";

/**
 * Failure codes that are the job's own fault, which no retry fixes: a job failed with one of
 * these counts as failed-for-a-permanent-reason. Any other code (RETRIES_EXHAUSTED,
 * RETRY_BUDGET_EXHAUSTED, MODEL_UNAVAILABLE, PUBLISH_FAILED, a throttle, a timeout, anything new)
 * is a transient fault that failed a job — what the pipeline promises never happens.
 */
export const PERMANENT_FAILURE_CODES = new Set([
  "SCHEMA_VIOLATION",
  "MODEL_OUTPUT_INVALID",
  "MODEL_REQUEST_INVALID",
  "CLAIM_CHECK_MISSING",
  "DOCUMENT_NOT_FOUND",
  "IDEMPOTENCY_KEY_REUSED",
  "JOB_FAILED",
]);

export interface SpiedEvent {
  id: string;
  "detail-type": string;
  source: string;
  /** When the bus took it (whole seconds, as EventBridge writes `time`). */
  time: string;
  detail: Record<string, unknown>;
}

/**
 * Every event on Quire's bus, through a rule of its own into a queue of its own (as
 * tests/e2e/test/support/pipeline.ts spies), drained in the background. Events are kept once per
 * EventBridge event id, so the spy's own redeliveries (a failed delete under injected faults)
 * never count as duplicates; two `PutEvents` of one announcement have two ids and do count.
 */
export interface BusSpy {
  events(): SpiedEvent[];
  /** Re-create the rule and queue (after a devcloud restart without persistence they would be gone). */
  install(): Promise<void>;
  stop(): Promise<void>;
}

export async function startBusSpy(cluster: Cluster): Promise<BusSpy> {
  const seen = new Map<string, SpiedEvent>();
  let queueUrl = "";
  const install = async () => {
    const { sqs, events } = cluster.clients;
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: "chaos-bus-spy" }))).QueueUrl!;
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
    );
    const bus = cluster.config.QUIRE_BUS_EVENTS_NAME;
    await events.send(
      new PutRuleCommand({ Name: "chaos-spy", EventBusName: bus, EventPattern: '{"source":[{"prefix":"quire."}]}' }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: "chaos-spy",
        EventBusName: bus,
        Targets: [{ Id: "spy", Arn: Attributes!.QueueArn! }],
      }),
    );
  };
  await retrying(install);
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const { Messages = [] } = await cluster.clients.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        for (const m of Messages) {
          const event = JSON.parse(m.Body!) as SpiedEvent;
          if (!seen.has(event.id)) seen.set(event.id, event);
        }
        if (Messages.length) {
          await cluster.clients.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
            }),
          );
        }
      } catch {
        // devcloud restarting or a fault injected: try again shortly
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  })();
  return {
    events: () => [...seen.values()],
    install: () => retrying(install),
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

async function retrying<T>(work: () => Promise<T>, attempts = 20): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** How late a publisher may die after its copy went out and still explain the next one: PutEvents' answer, then one UpdateItem, on a loaded machine. */
const MARK_WITHIN_MS = 5000;

/**
 * Sorts the copies of each announcement into those a publisher's death explains and the rest.
 * A copy is explained only with evidence of both halves of the one way it can happen: a process
 * of the previous copy's service died within seconds after that copy went out (before it could
 * mark it published), and this copy came about a lease later (no delivery takes a live lease;
 * the lease starts a little before the PutEvents, hence the 5 s allowance). Event times are whole
 * seconds. Each death explains one copy at most.
 */
function reannouncements(deaths: readonly ProcessDeath[], leaseMs: number) {
  const used = new Set<ProcessDeath>();
  let explained = 0;
  /** How many of one announcement's copies beyond the first nothing explains. */
  const unexplained = (copies: SpiedEvent[]): number => {
    const inOrder = [...copies].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    let extra = 0;
    for (let i = 1; i < inOrder.length; i++) {
      const previous = inOrder[i - 1]!;
      const sent = Date.parse(previous.time);
      const service = previous.source.replace(/^quire\./, "");
      const death =
        Date.parse(inOrder[i]!.time) - sent >= leaseMs - MARK_WITHIN_MS
          ? deaths.find(
              (d) => !used.has(d) && d.service === service && d.at >= sent && d.at <= sent + 1000 + MARK_WITHIN_MS,
            )
          : undefined;
      if (death) {
        used.add(death);
        explained++;
      } else extra++;
    }
    return extra;
  };
  return { unexplained, explained: () => explained };
}

export interface JobOutcome {
  jobId: string;
  runId?: string | undefined;
  status: string;
  code?: string | undefined;
}

export interface Ledger {
  submitted: number;
  complete: number;
  /** Failed for a reason no retry fixes (PERMANENT_FAILURE_CODES). */
  failedPermanent: number;
  /** Failed for any other reason: a transient fault that failed a job. */
  transientFailures: number;
  /** Never terminal by the end of the scenario. */
  lost: number;
  /**
   * A second Job Completed for one job, or a second Run Completed for a run not redriven, that
   * no publisher's death explains (see `reannounced`).
   */
  duplicated: number;
  /**
   * Copies the design allows and explains (README, "Delivery guarantees"): the publisher died
   * between PutEvents and its mark, and a redelivery announced again once the lease lapsed.
   * Subscribers still get one notification (the notifier keys deliveries by outcome).
   */
  reannounced: number;
  /**
   * Left hanging: a terminal job whose outcome was never announced (no Job Completed / Job Failed
   * on the bus), a run without Run Completed, or messages still in a work queue at the end.
   */
  stuck: number;
  /** Processes whose health did not answer 200 at the end. */
  unhealthy: string[];
  /** What was expected to be left in DLQs (a scenario's deliberate poison) and was. */
  failureCodes: Record<string, number>;
  ok: boolean;
  problems: string[];
}

/**
 * The ledger per issue 13: submitted = complete + failed-for-a-permanent-reason; lost = 0;
 * duplicated = 0; stuck = 0; failed by a transient fault = 0; every process healthy.
 * `expectFailed` (a scenario that fails jobs on purpose) makes permanent failures expected;
 * otherwise any failure is a problem too.
 */
export function computeLedger(input: {
  jobs: JobOutcome[];
  runIds: string[];
  events: SpiedEvent[];
  /** Runs whose jobs were redriven: a second Run Completed is their right (README: "take the latest"). */
  redrivenRuns?: ReadonlySet<string>;
  /** Messages still in the work queues (visible, in flight or delayed) at the end. */
  leftInWorkQueues: number;
  health: HealthAnswer[];
  allowPermanentFailures?: boolean;
  /** The processes the scenario ended, for explaining a re-announcement. */
  deaths?: readonly ProcessDeath[];
  /** The job store's announcement lease (DEFAULT_ANNOUNCE_LEASE_MS). */
  announceLeaseMs?: number;
}): Ledger {
  const problems: string[] = [];
  const copies = reannouncements(input.deaths ?? [], input.announceLeaseMs ?? Number.POSITIVE_INFINITY);
  const byType = (type: string) => input.events.filter((e) => e["detail-type"] === type);
  const countBy = (events: SpiedEvent[], key: string) => {
    const counts = new Map<string, number>();
    for (const e of events) {
      const id = String(e.detail[key]);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  };
  const copiesOf = (type: string, key: string, id: string) => byType(type).filter((e) => e.detail[key] === id);
  const completedEvents = countBy(byType("Job Completed"), "jobId");
  const failedEvents = countBy(byType("Job Failed"), "jobId");
  const runEvents = countBy(byType("Run Completed"), "runId");

  let complete = 0;
  let failedPermanent = 0;
  let transientFailures = 0;
  let lost = 0;
  let stuck = 0;
  let duplicated = 0;
  const failureCodes: Record<string, number> = {};
  for (const job of input.jobs) {
    if (job.status === "complete") {
      complete++;
      if (!completedEvents.get(job.jobId)) {
        stuck++;
        problems.push(`${job.jobId} complete but Job Completed never seen`);
      }
    } else if (job.status === "failed") {
      const code = job.code ?? "UNKNOWN";
      failureCodes[code] = (failureCodes[code] ?? 0) + 1;
      if (PERMANENT_FAILURE_CODES.has(code)) failedPermanent++;
      else {
        transientFailures++;
        problems.push(`${job.jobId} failed by a transient fault: ${code}`);
      }
      if (!failedEvents.get(job.jobId)) {
        stuck++;
        problems.push(`${job.jobId} failed but Job Failed never seen`);
      }
    } else {
      lost++;
      problems.push(`${job.jobId} never terminal (${job.status})`);
    }
    const completions = completedEvents.get(job.jobId) ?? 0;
    if (completions > 1) {
      const extra = copies.unexplained(copiesOf("Job Completed", "jobId", job.jobId));
      duplicated += extra;
      if (extra) problems.push(`${job.jobId}: Job Completed ${completions} times`);
    }
  }
  for (const runId of input.runIds) {
    const announced = runEvents.get(runId) ?? 0;
    if (announced === 0) {
      stuck++;
      problems.push(`${runId}: Run Completed never seen`);
    } else if (announced > 1 && !input.redrivenRuns?.has(runId)) {
      const extra = copies.unexplained(copiesOf("Run Completed", "runId", runId));
      duplicated += extra;
      if (extra) problems.push(`${runId}: Run Completed ${announced} times`);
    }
  }
  if (input.leftInWorkQueues > 0) {
    stuck += input.leftInWorkQueues;
    problems.push(`${input.leftInWorkQueues} messages left in work queues`);
  }
  if (!input.allowPermanentFailures && failedPermanent > 0)
    problems.push(`${failedPermanent} jobs failed (none expected)`);
  const unhealthy = input.health.filter((h) => !h.ok).map((h) => `${h.name} (${h.status})`);
  if (unhealthy.length) problems.push(`unhealthy at the end: ${unhealthy.join(", ")}`);
  const submitted = input.jobs.length;
  if (submitted !== complete + failedPermanent)
    problems.push(`submitted ${submitted} ≠ complete ${complete} + failed-permanent ${failedPermanent}`);

  return {
    submitted,
    complete,
    failedPermanent,
    transientFailures,
    lost,
    duplicated,
    reannounced: copies.explained(),
    stuck,
    unhealthy,
    failureCodes,
    ok: problems.length === 0,
    problems,
  };
}
