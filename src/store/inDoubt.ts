import type { TransactionTable } from './schema.js';
import { type Sql, statement } from './sql.js';

/**
 * Transactions whose acquirer outcome is still unknown (`pending`, `processing`) and were created on or
 * before a cutoff: what the operator is shown as flagged (src/processing/inDoubt.ts). Plain reads: a row
 * settled meanwhile is simply listed once more or once less; nothing is written from them.
 */

export type InDoubtRow = Pick<
  TransactionTable,
  'uid' | 'shop_id' | 'type' | 'status' | 'amount' | 'currency' | 'tracking_id' | 'created_at' | 'updated_at' | 'inquiry_attempts' | 'next_inquiry_at'
>;

const flagged = statement(
  'transactions.in_doubt',
  `select uid, shop_id, type, status, amount, currency, tracking_id, created_at, updated_at, inquiry_attempts, next_inquiry_at
     from transactions
    where status in ('pending', 'processing') and created_at <= $1
    order by created_at
    limit $2`,
);

/** Oldest first. */
export function listInDoubtCreatedBy(db: Sql, cutoff: string, limit: number): Promise<InDoubtRow[]> {
  return db.all<InDoubtRow>(flagged, [cutoff, limit]);
}

const counts = statement(
  'transactions.count_in_doubt',
  `select count(*) as total, sum(case when created_at <= $1 then 1 else 0 end) as flagged
     from transactions
    where status in ('pending', 'processing')`,
);

/** All in-doubt transactions, and those of them created on or before `cutoff`. */
export async function countInDoubtTransactions(db: Sql, cutoff: string): Promise<{ total: number; flagged: number }> {
  const row = await db.one<{ total: number | string | null; flagged: number | string | null }>(counts, [cutoff]);
  return { total: Number(row?.total ?? 0), flagged: Number(row?.flagged ?? 0) };
}
