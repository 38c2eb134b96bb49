import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Role } from '../config.js';
import { rateLimitExceeded } from '../domain/errors.js';
import type { Dialect, Store } from '../store/db.js';
import { RateLimiter } from './rateLimit.js';
import { countRateLimitHit, forgetRateLimitWindowsBefore, openRateLimitPool } from '../store/rateLimits.js';

/**
 * The per-shop request limit (ECOMGATE_RATE_LIMIT requests per second) as every merchant route applies it.
 * `take` throws the API's 429 (with `Retry-After`) when the shop is over its limit. The in-memory token
 * bucket (rateLimit.ts) is synchronous; the shared ones below answer a promise.
 */
export interface ShopRateLimiter {
  take(shopId: number): void | Promise<void>;
  close?(): Promise<void>;
}

export interface RateLimiterChoice {
  /** Requests per second per shop; 0 turns the limit off. */
  perSecond: number;
  dialect: Dialect;
  /** The PostgreSQL connection string (the shared database counter has its own small pool). */
  databaseTarget: string;
  role: Role;
  redisUrl: string | undefined;
  /** PostgreSQL schema (tests isolate themselves with one); it also separates their Redis keys. */
  schema: string | undefined;
  log: Logger;
}

/**
 * SQLite is one process: its in-memory bucket is exact and ~1000x cheaper. PostgreSQL may be several
 * processes: the limit is counted where they all see it (Redis if configured, else the database). A
 * worker serves no merchant route, so it counts nothing.
 */
export function createShopRateLimiter(choice: RateLimiterChoice): ShopRateLimiter {
  const { perSecond, schema, log } = choice;
  if (choice.dialect !== 'postgres' || perSecond <= 0 || choice.role === 'worker') return new RateLimiter(perSecond);
  if (!choice.redisUrl) return DatabaseRateLimiter.overPostgres(perSecond, choice.databaseTarget, schema);
  const prefix = schema ? `ecomgate:${schema}` : 'ecomgate';
  return new RedisRateLimiter(perSecond, choice.redisUrl, prefix, undefined, (err) =>
    log.warn({ err }, 'shared rate limit unavailable (Redis); request let through'),
  );
}

/** How long counter windows are kept before a take deletes them (seconds), and how often that runs. */
const KEEP_WINDOWS_S = 10;
const CLEANUP_EVERY_MS = 10_000;

/**
 * A fixed one-second window per shop, shared by every process on one database: one upsert per request on
 * `rate_limits(shop_id, window_start, count)` answers the count so far. At a window's edge a shop can get
 * up to twice its limit within one second (the end of one window and the start of the next), never more
 * per window, however many processes serve it.
 */
export class DatabaseRateLimiter implements ShopRateLimiter {
  private lastCleanup = 0;

  constructor(
    private readonly perSecond: number,
    private readonly upsert: (shopId: number, windowStart: number) => Promise<number>,
    private readonly cleanup: (before: number) => Promise<unknown>,
    private readonly now: () => number = () => Date.now(),
    private readonly onClose: () => Promise<void> = async () => {},
  ) {}

  /** Through the store's own writes (SQLite or PostgreSQL, durable commits shared with the payments'). */
  static overStore(perSecond: number, store: Store, now?: () => number): DatabaseRateLimiter {
    return new DatabaseRateLimiter(
      perSecond,
      (shopId, windowStart) => store.write((tx) => countRateLimitHit(tx, shopId, windowStart)),
      (before) => store.write((tx) => forgetRateLimitWindowsBefore(tx, before)),
      now,
    );
  }

  /**
   * PostgreSQL through a small pool of its own with `synchronous_commit=off` (store/rateLimits.ts): a
   * counter lost in a crash costs nothing, so the request does not wait for a WAL flush.
   */
  static overPostgres(perSecond: number, connectionString: string, schema?: string, now?: () => number): DatabaseRateLimiter {
    const pool = openRateLimitPool(connectionString, schema);
    return new DatabaseRateLimiter(
      perSecond,
      (shopId, windowStart) => countRateLimitHit(pool.sql, shopId, windowStart),
      (before) => forgetRateLimitWindowsBefore(pool.sql, before),
      now,
      () => pool.close(),
    );
  }

  async take(shopId: number): Promise<void> {
    if (this.perSecond <= 0) return;
    const nowMs = this.now();
    const windowStart = Math.floor(nowMs / 1000);
    if (nowMs - this.lastCleanup >= CLEANUP_EVERY_MS) {
      this.lastCleanup = nowMs;
      this.cleanup(windowStart - KEEP_WINDOWS_S).catch(() => {});
    }
    const count = await this.upsert(shopId, windowStart);
    if (count > this.perSecond) throw rateLimitExceeded(((windowStart + 1) * 1000 - nowMs) / 1000);
  }

  async close(): Promise<void> {
    await this.onClose();
  }
}

/** The same fixed window in Redis: INCR + EXPIRE of `<prefix>:rl:<shop>:<second>` in one round trip. */
export class RedisRateLimiter implements ShopRateLimiter {
  readonly redis: Redis;

  constructor(
    private readonly perSecond: number,
    url: string,
    private readonly prefix = 'ecomgate',
    private readonly now: () => number = () => Date.now(),
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 2, enableAutoPipelining: true });
    this.redis.on('error', () => {});
  }

  async take(shopId: number): Promise<void> {
    if (this.perSecond <= 0) return;
    const nowMs = this.now();
    const windowStart = Math.floor(nowMs / 1000);
    const key = `${this.prefix}:rl:${shopId}:${windowStart}`;
    let count: unknown;
    try {
      const results = await this.redis.multi().incr(key).expire(key, 2).exec();
      const [error, value] = results?.[0] ?? [new Error('redis transaction aborted'), 0];
      if (error) throw error;
      count = value;
    } catch (error) {
      // Redis unreachable: let the request through (fail open) rather than turn a limiter fault into 500s.
      this.onError(error);
      return;
    }
    if (Number(count) > this.perSecond) throw rateLimitExceeded(((windowStart + 1) * 1000 - nowMs) / 1000);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
