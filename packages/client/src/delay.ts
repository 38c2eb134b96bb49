/**
 * Exponential back-off with jitter: the n-th wait (0-based) is between half and all of
 * `min(maxMs, firstMs · 2ⁿ)`, so many clients that failed together do not come back together.
 */
export function backoffMs(attempt: number, firstMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, firstMs * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
