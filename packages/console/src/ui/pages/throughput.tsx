import type { GovernorReport, QuireClient } from "@quire/cli/client";
import { ErrorNote, Loading, Section, Status, usePoll } from "../components.tsx";
import { count, time } from "../format.ts";

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
          <table>
            <caption class="sr-only">Queue depths</caption>
            <thead>
              <tr>
                <th scope="col">Queue</th>
                <th scope="col">Consumer</th>
                <th scope="col" class="num">
                  Waiting
                </th>
                <th scope="col" class="num">
                  In flight
                </th>
                <th scope="col" class="num">
                  Delayed
                </th>
                <th scope="col" class="num">
                  Dead letters
                </th>
              </tr>
            </thead>
            <tbody>
              {queues.data.map((queue) => (
                <tr key={queue.name}>
                  <th scope="row">{queue.name}</th>
                  <td>{queue.consumer}</td>
                  {"error" in queue ? (
                    <td colSpan={4} class="error">
                      {queue.error}
                    </td>
                  ) : (
                    <>
                      <td class="num">{count(queue.visible)}</td>
                      <td class="num">{count(queue.inFlight)}</td>
                      <td class="num">{count(queue.delayed)}</td>
                      <td class="num">{count(queue.deadLetters)}</td>
                    </>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Section>
    </>
  );
}

function GovernorTable({ governors }: { governors: GovernorReport[] }) {
  return (
    <table>
      <caption class="sr-only">Bedrock governors, one row per process and model</caption>
      <thead>
        <tr>
          <th scope="col">Process</th>
          <th scope="col">Model</th>
          <th scope="col" class="num">
            In flight / limit
          </th>
          <th scope="col" class="num">
            Waiting
          </th>
          <th scope="col" class="num">
            Calls
          </th>
          <th scope="col" class="num">
            Throttled
          </th>
          <th scope="col" class="num">
            Quota share
          </th>
          <th scope="col">Circuit</th>
          <th scope="col">Reported</th>
        </tr>
      </thead>
      <tbody>
        {governors.map((g) => (
          <tr key={`${g.processId}${g.modelId}`}>
            <th scope="row">
              {g.service}
              <br />
              <code class="muted">{g.processId}</code>
            </th>
            <td>
              <code>{g.modelId}</code>
            </td>
            <td class="num">
              {count(g.inFlight)} / {count(g.limit)}
            </td>
            <td class="num">{count(g.waiting.bulk + g.waiting.interactive)}</td>
            <td class="num">{count(g.successes)}</td>
            <td class="num">
              {count(g.throttles)}
              {g.successes > 0 ? ` (${((g.throttles / g.successes) * 100).toFixed(1)} %)` : ""}
            </td>
            <td class="num">
              {Math.round(g.share * 100)} %{g.scale !== 1 ? ` × ${g.scale.toFixed(2)}` : ""}
            </td>
            <td>
              <Status value={g.circuit === "closed" ? "closed" : g.circuit} />
            </td>
            <td>{time(new Date(g.reportedAt).toISOString())}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
