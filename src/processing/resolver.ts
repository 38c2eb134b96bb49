import { dueForInquiry, findTransactionByUid } from '../store/transactions.js';
import type { TransactionTable } from '../store/schema.js';
import type { ProcessingContext } from './context.js';
import { recordOutcome, reservationOf } from './pipeline.js';
import type { Shop } from '../domain/shop.js';

/**
 * Settles transactions whose acquirer outcome is unknown: `pending` after a timeout or a lost answer, and
 * `processing` rows left by a process that died between transactions A and B. It asks the acquirer with
 * our reference (`inquire`) and records what the bank did; it never sends the operation again.
 */
export async function settleByInquiry(ctx: ProcessingContext, shop: Shop, row: TransactionTable): Promise<TransactionTable> {
  // A connector missing from this build leaves the row in doubt (retried with back-off), not the pass failed.
  const outcome = await Promise.resolve()
    .then(() => ctx.acquirerFor(shop).inquire(row.acquirer_ref, shop.acquirerSettings))
    .catch((error: unknown) => ({ outcome: 'in_doubt' as const, reason: error instanceof Error ? error.message : 'inquiry failed' }));
  let reservation = 0;
  if (row.parent_uid) {
    const parent = await findTransactionByUid(ctx.store.sql, row.parent_uid);
    if (!parent) throw new Error(`transaction ${row.uid}: its parent ${row.parent_uid} is not in the store`);
    reservation = reservationOf(row, Number(parent.amount));
  }
  return recordOutcome(ctx, row, outcome, reservation);
}

/** One pass over the transactions due for an inquiry; answers how many reached a final status. */
export async function resolveInDoubt(ctx: ProcessingContext, shopOf: (id: number) => Promise<Shop | undefined>, limit = 100): Promise<number> {
  const due = await dueForInquiry(ctx.store, ctx.now().toISOString(), limit);
  let settled = 0;
  for (const row of due) {
    const shop = await shopOf(Number(row.shop_id));
    if (!shop) continue;
    const after = await settleByInquiry(ctx, shop, row);
    if (after.status !== 'pending' && after.status !== 'processing') settled++;
  }
  return settled;
}
