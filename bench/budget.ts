/**
 * The run's time budget: the whole `npm run bench`, build included, must stay under 10 minutes even on
 * a busy machine. Scenarios and runs start only while enough is left, and every wait is cut at the
 * budget's end (a scenario cut short says so instead of giving a verdict).
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
