import { dueForExpiry, settleTransaction } from '../store/transactions.js';
import type { ProcessingContext } from './context.js';
import { writeFinalEffects } from './pipeline.js';

/** An `incomplete` transaction given no `expired_at` expires this long after its creation. */
export const DEFAULT_EXPIRY_MS = 24 * 3600_000;

/**
 * Moves unpaid (`incomplete`) transactions past their expiry to `expired`, with their webhook, in one
 * transaction each. Guarded on the status, so a customer finishing 3-D Secure at the same moment and
 * the sweeper cannot both win.
 */
export async function expireIncomplete(ctx: ProcessingContext, limit = 100): Promise<number> {
  const now = ctx.now();
  const due = await dueForExpiry(ctx.store.db, now.toISOString(), new Date(now.getTime() - DEFAULT_EXPIRY_MS).toISOString(), limit);
  let expired = 0;
  for (const row of due) {
    const done = await ctx.store.db.transaction().execute(async (trx) => {
      const settled = await settleTransaction(trx, row.uid, ['incomplete'], {
        status: 'expired',
        message: 'Transaction has expired',
        code: 'F.0109',
        friendly_message: 'The customer did not complete the payment in time.',
        expired_at: row.expired_at ?? now.toISOString(),
        updated_at: now.toISOString(),
      });
      if (settled) await writeFinalEffects(ctx, trx, settled, 0);
      return settled !== undefined;
    });
    if (done) expired++;
  }
  return expired;
}
