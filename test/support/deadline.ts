import { setTimeout as delay } from 'node:timers/promises';
import { it as nodeIt, type TestContext, type TestOptions } from 'node:test';

/**
 * Every wait in the suite has a deadline that fails the test (a broken wake-up must fail, not hang the
 * run until the runner's timeout, nor pass late by a fallback poll).
 */

/** How long a test waits for something the gateway does on its own (a worker, a webhook, a log line). */
export const PATIENCE_MS = 15_000;

/** `promise`, or a rejection after `ms` (the timer never holds the process open once settled). */
export async function within<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `check` until it gives a value (not undefined, not false); fails with `what()` after `ms`. A
 * `what` may read the state it reports (the rows still open), hence it may be async.
 */
export async function until<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: () => string | Promise<string>,
  ms = PATIENCE_MS,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`still waiting after ${ms} ms: ${await what()}`);
    await delay(everyMs);
  }
}

/**
 * The per-test timeout. Node 20's `--test-timeout` (in `npm test`) caps a whole file; this `it` gives each
 * test its own budget, generous for the slowest ordinary test on a loaded 2-core machine. A test that
 * needs more says so in its options (the chaos and crash tests do).
 */
export const TEST_TIMEOUT_MS = 120_000;

type TestBody = (t: TestContext) => void | Promise<void>;

export function it(name: string, optionsOrBody: TestOptions | TestBody, body?: TestBody): Promise<void> {
  const [options, fn] = typeof optionsOrBody === 'function' ? [{}, optionsOrBody] : [optionsOrBody, body];
  return nodeIt(name, { timeout: TEST_TIMEOUT_MS, ...options }, fn);
}
