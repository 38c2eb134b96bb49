import { type Sql, statement } from './sql.js';

/**
 * A count per key and fixed window, shared by every process on one database: the auth throttle's failures
 * (`auth_failures`, per subject) and the shared rate limit's requests (`rate_limits`, per shop).
 *
 * One upsert per event answers the count so far: the primary key (key, window_start) makes concurrent
 * events of one key queue on the row and each get its own count, so no two processes read the same count
 * and both let "the last" event of a window through.
 */
export function windowCounter(table: 'auth_failures' | 'rate_limits', key: 'subject' | 'shop_id') {
  const count = statement(
    `${table}.count`,
    `insert into ${table} (${key}, window_start, count) values ($1, $2, 1)
     on conflict (${key}, window_start) do update set count = ${table}.count + 1
     returning count`,
  );
  const forgetBefore = statement(`${table}.delete_before`, `delete from ${table} where window_start < $1`);
  return {
    /** Counts one event of `subject` in the window starting at `windowStart`; answers the window's count so far. */
    async count(db: Sql, subject: string | number, windowStart: number): Promise<number> {
      const row = await db.one<{ count: number | string }>(count, [subject, windowStart]);
      return Number(row!.count);
    },
    /** Drops the windows that started before `before`: they no longer refuse anything. */
    forgetBefore: (db: Sql, before: number): Promise<number> => db.run(forgetBefore, [before]),
  };
}
