import type { AcquirerConnector } from '../../acquirers/connector.js';
import { unwrapRequest } from '../../domain/request.js';
import { flaggingCardRefusals } from '../cardGuard.js';
import type { ApiResponse, Invocation, ProcessingContext } from '../context.js';
import { execute } from '../pipeline.js';
import { transactionResponse } from '../respond.js';
import { cardDuplicate, checkCard, resolveCard } from '../steps/card.js';
import { CARD_NUMBER_PATH, purchaseCall, purchaseRow, readPurchase } from '../steps/purchase.js';

/**
 * Verifies the card (with 3-D Secure on such shops) and returns its token. No money moves, so the shop's
 * risk rules do not judge it: the card half of A is its whole first round trip.
 */
export async function tokenization(ctx: ProcessingContext, invocation: Invocation): Promise<ApiResponse> {
  const { shop } = invocation;
  const now = ctx.now();
  const reader = unwrapRequest(invocation.body);
  const request = readPurchase(reader, shop, now);
  reader.check();

  const card = await resolveCard(ctx, shop.id, request.card!);
  const row = await flaggingCardRefusals(ctx, shop.id, () =>
    execute(ctx, invocation, async (tx) => {
      const { stored, written } = await checkCard(ctx, tx, shop.id, card, CARD_NUMBER_PATH, cardDuplicate('tokenization', request, now));
      const row = purchaseRow(ctx, invocation, 'tokenization', request, card, stored, undefined);
      const call = purchaseCall(row, shop, request, card);
      return { row, written, call: (connector: AcquirerConnector) => connector.verify(call) };
    }),
  );
  return transactionResponse(ctx, row);
}
