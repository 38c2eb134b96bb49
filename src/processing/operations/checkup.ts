import { results } from '../../domain/codes.js';
import { unwrapRequest } from '../../domain/request.js';
import { flaggingCardRefusals } from '../cardGuard.js';
import type { ApiResponse, Invocation, ProcessingContext } from '../context.js';
import { execute } from '../pipeline.js';
import { transactionResponse } from '../respond.js';
import { resolveCard } from '../steps/card.js';
import { checkCardWithActivity, judgeRisk, purchaseRow, readPurchase, refusedByRisk } from '../steps/purchase.js';

/**
 * The shop's risk rules alone: no acquirer call, no money moves, so the answer is final in transaction A.
 * The merchant finds a check-up again by its tracking_id, hence required.
 */
export async function checkup(ctx: ProcessingContext, invocation: Invocation): Promise<ApiResponse> {
  const { shop } = invocation;
  const now = ctx.now();
  const reader = unwrapRequest(invocation.body);
  const request = readPurchase(reader, shop, now, { trackingIdRequired: true });
  reader.check();

  const card = await resolveCard(ctx, shop.id, request.card!);
  const row = await flaggingCardRefusals(ctx, shop.id, () =>
    execute(ctx, invocation, async (tx) => {
      // First round trip: the card lock and every read A decides on.
      const [{ stored, written }, activity] = await checkCardWithActivity(ctx, tx, shop, 'checkup', request, card, now);
      const risk = judgeRisk(shop, request, card, activity);
      const row = purchaseRow(ctx, invocation, 'checkup', request, card, stored, risk);
      if (!risk.passed) return { row: refusedByRisk(row, risk), written };
      return { row: Object.assign(row, { status: 'successful', ...results.successful }), written };
    }),
  );
  return transactionResponse(ctx, row);
}
