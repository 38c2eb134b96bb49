import type { AcquirerConnector } from '../../acquirers/connector.js';
import { unwrapRequest } from '../../domain/request.js';
import { flaggingCardRefusals } from '../cardGuard.js';
import type { ApiResponse, Invocation, ProcessingContext } from '../context.js';
import { execute } from '../pipeline.js';
import { transactionResponse } from '../respond.js';
import { resolveCard } from '../steps/card.js';
import { checkCardWithActivity, judgeRisk, purchaseCall, purchaseRow, readPurchase, refusedByRisk } from '../steps/purchase.js';

/** Authorization and capture at once: the card, the shop's risk rules, then the acquirer. */
export async function payment(ctx: ProcessingContext, invocation: Invocation): Promise<ApiResponse> {
  const { shop } = invocation;
  const now = ctx.now();
  const reader = unwrapRequest(invocation.body);
  const request = readPurchase(reader, shop, now);
  reader.check();

  const card = await resolveCard(ctx, shop.id, request.card!);
  const row = await flaggingCardRefusals(ctx, shop.id, () =>
    execute(ctx, invocation, async (tx) => {
      // First round trip: the card lock and every read A decides on.
      const [{ stored, written }, activity] = await checkCardWithActivity(ctx, tx, shop, 'payment', request, card, now);
      const risk = judgeRisk(shop, request, card, activity);
      const row = purchaseRow(ctx, invocation, 'payment', request, card, stored, risk);
      if (!risk.passed) return { row: refusedByRisk(row, risk), written };
      const call = purchaseCall(row, shop, request, card);
      return { row, written, call: (connector: AcquirerConnector) => connector.authorize(call, true) };
    }),
  );
  return transactionResponse(ctx, row);
}
