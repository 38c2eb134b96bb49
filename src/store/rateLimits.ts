import pg from 'pg';
import { quietPoolErrors } from './db.js';
import { PgPoolStatements, type Sql } from './sql.js';
import { windowCounter } from './windowCounts.js';

/**
 * The shared per-shop request counter: one row per shop and one-second window (src/limits/sharedRateLimit.ts,
 * docs/scale-out.md). Windows in seconds.
 */
const hits = windowCounter('rate_limits', 'shop_id');

export const countRateLimitHit = (db: Sql, shopId: number, windowStart: number): Promise<number> => hits.count(db, shopId, windowStart);

export const forgetRateLimitWindowsBefore = (db: Sql, before: number): Promise<number> => hits.forgetBefore(db, before);

/**
 * A small PostgreSQL pool of the counter's own with `synchronous_commit=off`: a count lost in a crash
 * costs nothing, so a request does not wait for a WAL flush (money-moving commits, on the store's pool,
 * still do). Its statements go unnamed, as they always have: the pool is opened apart from the store and
 * does not know whether a pooler that cannot carry prepared statements sits in front (docs/performance.md, "Behind a pooler").
 */
export function openRateLimitPool(connectionString: string, schema?: string): { sql: Sql; close(): Promise<void> } {
  // A search_path given in the URL (?options=...) is kept: the setting goes in per connection instead.
  const pool = new pg.Pool({ connectionString, max: 4, ...(schema ? { options: `-c search_path=${schema}` } : {}) });
  quietPoolErrors(pool);
  pool.on('connect', (client) => {
    client.query('set synchronous_commit to off').catch(() => {});
  });
  return { sql: new PgPoolStatements(pool, false), close: () => pool.end() };
}
