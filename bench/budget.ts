/**
 * The run's time budget: the whole `npm run bench`, build included, must stay under about 12 minutes
 * even on a busy machine. Scenarios and runs start only while enough is left, and every wait is cut at
 * the budget's end (a scenario cut short says so instead of giving a verdict).
 *
 * 600 s of measuring (480 s before the references came): the default run took 350 s with 2,000 payments
 * in flight at the slow bank drained twice; 10,000 drained once add about 90 s (PostgreSQL drained them
 * in 87 s, SQLite in 14 s, plus filling the queue), the pgbench and graphile-worker references about
 * 60 s, the statement counts about 25 s, the workers-idle and live scenarios at full runs about 30 s.
 * With the build (about a minute) that is under 12 minutes.
 */
let end = Number.POSITIVE_INFINITY;

/** Time a started run or scenario is allowed to need at least. */
const START_MARGIN_MS = 30_000;

export function startBudget(seconds: number): void {
  end = performance.now() + seconds * 1000;
}

export function remainingMs(): number {
  return end - performance.now();
}

/** Whether there is still time to start a run or a scenario. */
export function canStart(): boolean {
  return remainingMs() > START_MARGIN_MS;
}

/** A timeout cut to what is left of the budget (at least one second). */
export function withinBudget(timeoutMs: number): number {
  return Math.max(1000, Math.min(timeoutMs, remainingMs()));
}
