/** Small statistics helpers: medians across runs, percentiles across tasks. */

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** The median of each numeric field across runs (the runs all have the same shape). */
export function medianOf<T extends object>(runs: T[]): T {
  const first = runs[0]!;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(first)) {
    if (typeof value === 'number') result[key] = median(runs.map((run) => (run as Record<string, number>)[key]!));
    else if (value && typeof value === 'object' && !Array.isArray(value))
      result[key] = medianOf(runs.map((run) => (run as Record<string, object>)[key]!));
    else result[key] = value;
  }
  return result as T;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
