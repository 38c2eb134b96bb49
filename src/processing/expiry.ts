import { results } from '../domain/codes.js';
import type { TransactionTable } from '../store/schema.js';
import { dueForExpiry, findTransactionByUid, settleTransaction } from '../store/transactions.js';
import type { ProcessingContext } from './context.js';
import { writeFinalEffects } from './pipeline.js';

/** An `incomplete` transaction given no `expired_at` expires this long after its creation. */
export const DEFAULT_EXPIRY_MS = 24 * 3600_000;

/** The moment an unpaid transaction stops being payable: its `expired_at`, else 24 h after creation. */
export function expiryOf(row: Pick<TransactionTable, 'expired_at' | 'created_at'>): Date {
  return row.expired_at ? new Date(row.expired_at) : new Date(new Date(row.created_at).getTime() + DEFAULT_EXPIRY_MS);
}

/**
 * Moves one `incomplete` transaction to `expired`, with its webhook, in one database transaction. Guarded
 * on the status, so a customer finishing 3-D Secure at the same moment and the sweeper cannot both win.
 * Answers the expired row, or undefined when it was no longer `incomplete`.
 */
async function expire(ctx: ProcessingContext, row: TransactionTable, now: Date): Promise<TransactionTable | undefined> {
  return ctx.store.transaction(async (tx) => {
    const settled = await settleTransaction(tx, row.uid, ['incomplete'], {
      status: 'expired',
      ...results.expired,
      expired_at: row.expired_at ?? now.toISOString(),
      updated_at: now.toISOString(),
    });
    if (settled) await writeFinalEffects(ctx, tx, settled, 0);
    return settled;
  });
}

/**
 * The 3-D Secure page's own check, on show and on submit: the sweeper runs every few seconds, and a
 * challenge must not be payable in between. A transaction past its expiry is expired on the spot; answers
 * the row as it now stands.
 */
export async function expireIfDue(ctx: ProcessingContext, row: TransactionTable): Promise<TransactionTable> {
  const now = ctx.now();
  if (row.status !== 'incomplete' || expiryOf(row) > now) return row;
  return (await expire(ctx, row, now)) ?? (await findTransactionByUid(ctx.store.sql, row.uid))!;
}

/** Moves unpaid (`incomplete`) transactions past their expiry to `expired`, with their webhook. */
export async function expireIncomplete(ctx: ProcessingContext, limit = 100): Promise<number> {
  const now = ctx.now();
  const due = await dueForExpiry(ctx.store, now.toISOString(), new Date(now.getTime() - DEFAULT_EXPIRY_MS).toISOString(), limit);
  let expired = 0;
  for (const row of due) if (await expire(ctx, row, now)) expired++;
  return expired;
}
