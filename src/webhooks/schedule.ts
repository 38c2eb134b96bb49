/** Retries after the first attempt (spec §5): 16 attempts in all, then the delivery is dead. */
export const MAX_RETRIES = 15;

/**
 * Delay before retry `n` (1-based), in milliseconds: floor(2.12·n)³ + rand(0..29)·(n+1) seconds, the
 * spec's schedule — 8 s before the first retry, about 8 h before the last, about 36 h over all fifteen.
 * `random` is a source like Math.random (tests fix it). 2.12·n is computed in integers so no float
 * rounding can move a floor.
 */
export function retryDelayMs(n: number, random: () => number): number {
  const base = Math.floor((212 * n) / 100) ** 3;
  const jitter = Math.min(29, Math.floor(random() * 30)) * (n + 1);
  return (base + jitter) * 1000;
}

/** After failed attempt `attempt` (1-based): when to try again, or undefined when it was the last. */
export function nextAttemptAt(attempt: number, failedAt: Date, random: () => number): Date | undefined {
  if (attempt > MAX_RETRIES) return undefined;
  return new Date(failedAt.getTime() + retryDelayMs(attempt, random));
}
