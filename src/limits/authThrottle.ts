import type { Logger } from 'pino';
import { type ApiError, invalidCredentials, tooManyFailedAuthentications } from '../domain/errors.js';
import { countAuthFailure, forgetAuthFailuresBefore } from '../store/authFailures.js';
import type { Store } from '../store/db.js';

/**
 * Throttling of failed shop authentication (HTTP Basic with a wrong secret), per client address and per
 * shop id, counted in fixed windows of ECOMGATE_AUTH_FAILURE_WINDOW.
 *
 * The two counts act differently, on purpose:
 * - An address over ECOMGATE_AUTH_FAILURE_LIMIT wrong secrets is refused outright (429, Retry-After) until
 *   its window ends, without a look at the secret it sends: a right secret from it is refused too, so a
 *   guesser learns nothing more from that address. Whoever sprays wrong secrets locks out only themselves.
 * - A shop id over ECOMGATE_AUTH_FAILURE_LIMIT_PER_SHOP wrong secrets (from any number of addresses) has
 *   its wrong secrets answered 429 instead of 401, with a log line and a metric for the operator, but a
 *   right secret still passes. Refusing right secrets too would let anyone who knows a shop id (it is no
 *   secret) stop that merchant's payments by sending it garbage; a payment operator cannot accept that.
 *   Guessing itself is made hopeless by the secret policy (at least 16 characters; generated ones are
 *   256 bits), the per-address limit bounds each source, and the shop count raises the alarm.
 *
 * Only failures are counted (one write each, in the database on PostgreSQL so every process sees them);
 * a request with the right secret costs no more than before: whether its address is refused is known
 * from this process's own failure writes, which answer the shared count. A guesser spreading over N
 * processes gets at most N more tries per window than the limit.
 */

/** Counts one failure of a subject in a window; answers the window's count so far. */
export interface FailureCounter {
  add(subject: string, windowStart: number): Promise<number>;
}

/** One process (SQLite): counts in memory; windows past are dropped as the map grows. */
export class MemoryFailureCounter implements FailureCounter {
  private readonly counts = new Map<string, { windowStart: number; count: number }>();

  async add(subject: string, windowStart: number): Promise<number> {
    const held = this.counts.get(subject);
    const count = held && held.windowStart === windowStart ? held.count + 1 : 1;
    if (!held && this.counts.size >= 10_000) {
      for (const [key, value] of this.counts) if (value.windowStart < windowStart) this.counts.delete(key);
    }
    this.counts.set(subject, { windowStart, count });
    return count;
  }
}

/** Shared by every process on one database: one upsert per failure on `auth_failures`. */
export class DatabaseFailureCounter implements FailureCounter {
  private lastCleanup = 0;

  constructor(
    private readonly store: Store,
    private readonly windowMs: number,
  ) {}

  async add(subject: string, windowStart: number): Promise<number> {
    if (windowStart - this.lastCleanup >= this.windowMs) {
      this.lastCleanup = windowStart;
      this.store.write((tx) => forgetAuthFailuresBefore(tx, windowStart - this.windowMs)).catch(() => {});
    }
    return this.store.write((tx) => countAuthFailure(tx, subject, windowStart));
  }
}

/**
 * Failed authentications are counted where every process sees them: memory on SQLite (one process), the
 * database on PostgreSQL (several processes may serve one shop).
 */
export function createFailureCounter(store: Store, windowMs: number): FailureCounter {
  return store.dialect === 'postgres' ? new DatabaseFailureCounter(store, windowMs) : new MemoryFailureCounter();
}

export interface AuthThrottleOptions {
  limitPerAddress: number;
  limitPerShop: number;
  windowMs: number;
  counter: FailureCounter;
  now: () => number;
  log: Logger;
  /** The counters of http/metrics.ts this throttle moves (a shape, so limits need not import HTTP). */
  metrics: { authFailures: { inc(): void }; authThrottled: { inc(labels: { scope: 'address' | 'shop' }): void } };
}

const throttled = (retryAfterMs: number) => tooManyFailedAuthentications(retryAfterMs / 1000);

export class AuthThrottle {
  /** Addresses this process has seen go over their limit, with the end of that window (ms). */
  private readonly refused = new Map<string, number>();

  constructor(private readonly options: AuthThrottleOptions) {}

  /** Before the secret is looked at: an address over its limit is refused (429). */
  checkAddress(address: string): void {
    const until = this.refused.get(address);
    if (until === undefined) return;
    const now = this.options.now();
    if (now >= until) {
      this.refused.delete(address);
      return;
    }
    this.options.metrics.authThrottled.inc({ scope: 'address' });
    throw throttled(until - now);
  }

  /** After a wrong secret: counts it; answers the error to send, 401 or, over a limit, 429. */
  async failed(address: string, shopId: number | undefined): Promise<ApiError> {
    const { limitPerAddress, limitPerShop, windowMs, counter, log, metrics } = this.options;
    metrics.authFailures.inc();
    const now = this.options.now();
    const windowStart = Math.floor(now / windowMs) * windowMs;
    const windowEnd = windowStart + windowMs;
    let byAddress: number;
    let byShop: number;
    try {
      [byAddress, byShop] = await Promise.all([
        limitPerAddress > 0 ? counter.add(`address:${address}`, windowStart) : 0,
        limitPerShop > 0 && shopId !== undefined ? counter.add(`shop:${shopId}`, windowStart) : 0,
      ]);
    } catch (err) {
      // The counter's store is down: the answer stays 401 (the store fault is logged where it happens).
      log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'failed authentication could not be counted');
      return invalidCredentials();
    }
    const overAddress = limitPerAddress > 0 && byAddress > limitPerAddress;
    const overShop = limitPerShop > 0 && byShop > limitPerShop;
    if (!overAddress && !overShop) return invalidCredentials();
    if (overAddress) {
      if (this.refused.size >= 10_000) for (const [key, until] of this.refused) if (until <= now) this.refused.delete(key);
      this.refused.set(address, windowEnd);
    }
    const scope = overAddress ? 'address' : 'shop';
    metrics.authThrottled.inc({ scope });
    // Once per subject and window (the one failure that crossed the limit), not once per refused attempt.
    if (byAddress === limitPerAddress + 1 || byShop === limitPerShop + 1) {
      log.warn(
        { scope, address, shop: shopId, failures: scope === 'address' ? byAddress : byShop, window_seconds: windowMs / 1000 },
        'failed shop authentications throttled',
      );
    }
    return throttled(windowEnd - now);
  }
}
