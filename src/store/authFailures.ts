import { type Sql, statement } from './sql.js';

/**
 * Failed shop authentications per subject (`address:<ip>`, `shop:<id>`) and fixed window, shared by every
 * process on one database (src/http/authThrottle.ts).
 */

/**
 * One upsert per failure: the primary key (subject, window_start) makes concurrent failures of one
 * subject queue on the row and each answer its own count, so no two processes read the same count and
 * both let a guess through.
 */
const countFailure = statement(
  'auth_failures.count',
  `insert into auth_failures (subject, window_start, count) values ($1, $2, 1)
   on conflict (subject, window_start) do update set count = auth_failures.count + 1
   returning count`,
);
const forgetBefore = statement('auth_failures.delete_before', 'delete from auth_failures where window_start < $1');

/** Counts one failure of `subject` in the window starting at `windowStart` (ms); answers the window's count so far. */
export async function countAuthFailure(tx: Sql, subject: string, windowStart: number): Promise<number> {
  const row = await tx.one<{ count: number | string }>(countFailure, [subject, windowStart]);
  return Number(row!.count);
}

/** Drops the counts of windows that started before `before` (ms): they no longer refuse anything. */
export function forgetAuthFailuresBefore(tx: Sql, before: number): Promise<number> {
  return tx.run(forgetBefore, [before]);
}
