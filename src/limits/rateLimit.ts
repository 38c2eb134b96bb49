import { rateLimitExceeded } from '../domain/errors.js';

/**
 * Per-shop request rate (ECOMGATE_RATE_LIMIT requests per second): a token bucket per shop in this
 * process. Used on SQLite (one process); on PostgreSQL the limit is shared by every process
 * (sharedRateLimit.ts, docs/scale-out.md).
 */
export class RateLimiter {
  private readonly buckets = new Map<number, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  take(shopId: number): void {
    if (this.perSecond <= 0) return;
    const now = this.now();
    const bucket = this.buckets.get(shopId) ?? { tokens: this.perSecond, at: now };
    bucket.tokens = Math.min(this.perSecond, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.buckets.set(shopId, bucket);
      throw rateLimitExceeded((1 - bucket.tokens) / this.perSecond);
    }
    bucket.tokens -= 1;
    this.buckets.set(shopId, bucket);
  }
}
