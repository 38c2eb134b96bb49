import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { quietPoolErrors } from './db.js';
import type { Database } from './schema.js';
import { PgPoolStatements, type Sql, statement } from './sql.js';

/**
 * The shared per-shop request counter: one row per shop and one-second window (src/http/sharedRateLimit.ts,
 * docs/scale-out.md).
 *
 * One upsert per request answers the count so far: concurrent requests of one shop queue on the row
 * (primary key shop_id, window_start) and each gets its own count, so processes never read the same
 * count and both admit "the last" request of a window.
 */

const countHit = statement(
  'rate_limits.count',
  `insert into rate_limits (shop_id, window_start, count) values ($1, $2, 1)
   on conflict (shop_id, window_start) do update set count = rate_limits.count + 1
   returning count`,
);
const forgetBefore = statement('rate_limits.delete_before', 'delete from rate_limits where window_start < $1');

/** Counts one request of a shop in the window starting at `windowStart` (seconds); answers the window's count so far. */
export async function countRateLimitHit(db: Sql, shopId: number, windowStart: number): Promise<number> {
  const row = await db.one<{ count: number | string }>(countHit, [shopId, windowStart]);
  return Number(row!.count);
}

/** Drops the windows that started before `before` (seconds). */
export function forgetRateLimitWindowsBefore(db: Sql, before: number): Promise<number> {
  return db.run(forgetBefore, [before]);
}

/**
 * The same upsert through a Kysely instance (the store's own connection, as the rate-limit benchmark
 * measures it: bench/rate-limit.ts). Kysely's `sql` compiles the placeholders for either dialect.
 */
export async function countRateLimitHitOverKysely(db: Kysely<Database>, shopId: number, windowStart: number): Promise<number> {
  const { rows } = await sql<{ count: number | string }>`
    insert into rate_limits (shop_id, window_start, count) values (${shopId}, ${windowStart}, 1)
    on conflict (shop_id, window_start) do update set count = rate_limits.count + 1
    returning count`.execute(db);
  return Number(rows[0]!.count);
}

export function forgetRateLimitWindowsBeforeOverKysely(db: Kysely<Database>, before: number): Promise<unknown> {
  return sql`delete from rate_limits where window_start < ${before}`.execute(db);
}

/**
 * A small PostgreSQL pool of the counter's own with `synchronous_commit=off`: a count lost in a crash
 * costs nothing, so a request does not wait for a WAL flush (money-moving commits, on the store's pool,
 * still do). Its statements go unnamed, as they always have: the pool is opened apart from the store and
 * does not know whether a pooler that cannot carry prepared statements sits in front (docs/operations.md).
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
