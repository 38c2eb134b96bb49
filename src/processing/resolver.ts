import { dueForInquiry } from '../store/transactions.js';
import type { ProcessingContext } from './context.js';
import { recordOutcome, reservationOf } from './pipeline.js';
import type { Shop } from '../domain/shop.js';

/**
 * Settles transactions whose acquirer outcome is unknown: `pending` after a timeout or a lost answer, and
 * `processing` rows left by a process that died between transactions A and B. It asks the acquirer with
 * our reference (`inquire`) and records what the bank did; it never sends the operation again.
 */
export async function resolveInDoubt(ctx: ProcessingContext, shopOf: (id: number) => Promise<Shop | undefined>, limit = 100): Promise<number> {
  const due = await dueForInquiry(ctx.store.db, ctx.now().toISOString(), limit);
  let settled = 0;
  for (const row of due) {
    const shop = await shopOf(Number(row.shop_id));
    if (!shop) continue;
    const outcome = await ctx
      .acquirerFor(shop)
      .inquire(row.acquirer_ref, shop.acquirerSettings)
      .catch((error: unknown) => ({ outcome: 'in_doubt' as const, reason: error instanceof Error ? error.message : 'inquiry failed' }));
    let reservation = 0;
    if (row.parent_uid) {
      const parent = await ctx.store.db.selectFrom('transactions').select('amount').where('uid', '=', row.parent_uid).executeTakeFirstOrThrow();
      reservation = reservationOf(row, Number(parent.amount));
    }
    const after = await recordOutcome(ctx, row, outcome, reservation);
    if (after.status !== 'pending' && after.status !== 'processing') settled++;
  }
  return settled;
}
