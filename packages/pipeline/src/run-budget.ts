import type { JobStore, Run } from "@quire/jobs";

/** Why a run may not call the model any more, or undefined while it may. */
export function budgetExceeded(run: Pick<Run, "budget" | "costMicroUsd" | "inputTokens" | "outputTokens">) {
  const { budget } = run;
  if (!budget) return undefined;
  const spentUsd = run.costMicroUsd / 1e6;
  if (budget.usd !== undefined && spentUsd >= budget.usd)
    return `the run spent $${spentUsd.toFixed(6)} of its $${budget.usd} budget`;
  const tokens = run.inputTokens + run.outputTokens;
  if (budget.tokens !== undefined && tokens >= budget.tokens)
    return `the run used ${tokens} of its ${budget.tokens} tokens`;
  return undefined;
}

/**
 * Before a stage calls the model for a job of a run: has the run spent its budget? A run's
 * budget never changes, so whether it has one is read once per process; a run with a budget is
 * read again (consistently) before each model call, so its spend is the one counted so far.
 * That spend counts finished jobs (each with its outcome, exactly once), so a run can pass its
 * budget by what the jobs in progress when it was reached then spend — at most the calls in
 * flight — and no more: after that, no stage of the run calls the model.
 */
export function createRunBudget(jobs: Pick<JobStore, "getRun">) {
  const budgeted = new Map<string, boolean>();
  return async (runId: string | undefined): Promise<string | undefined> => {
    if (!runId || budgeted.get(runId) === false) return undefined;
    const run = await jobs.getRun(runId);
    if (!run) return undefined;
    if (!budgeted.has(runId)) {
      if (budgeted.size >= 1000) budgeted.delete(budgeted.keys().next().value!);
      budgeted.set(runId, run.budget !== undefined);
    }
    return budgetExceeded(run);
  };
}
