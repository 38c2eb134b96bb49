import type { AcquirerConnector } from '../../acquirers/connector.js';
import { unwrapRequest } from '../../domain/request.js';
import { cardView } from '../../vault/cards.js';
import { flaggingCardRefusals } from '../cardGuard.js';
import type { ApiResponse, Invocation, ProcessingContext } from '../context.js';
import { execute } from '../pipeline.js';
import { transactionResponse } from '../respond.js';
import { cardDuplicate, checkCard, readCard, resolveCard } from '../steps/card.js';
import { CARD_NUMBER_PATH } from '../steps/purchase.js';
import { pushCall, pushRow, readPush } from '../steps/push.js';

/** The legacy payout: to a card stored in the vault, named by its token alone (never a number). */
export async function credit(ctx: ProcessingContext, invocation: Invocation): Promise<ApiResponse> {
  const { shop } = invocation;
  const now = ctx.now();
  const reader = unwrapRequest(invocation.body);
  const request = readPush(reader);
  const cardInput = readCard(reader, 'credit_card', now, { tokenOnly: true, withVerificationValue: false });
  reader.check();

  const card = await resolveCard(ctx, shop.id, cardInput!, 'credit_card');
  const row = await flaggingCardRefusals(ctx, shop.id, () =>
    execute(ctx, invocation, async (tx) => {
      const { stored, written } = await checkCard(ctx, tx, shop.id, card, CARD_NUMBER_PATH, cardDuplicate('credit', request, now));
      const row = pushRow(ctx, invocation, 'credit', request, card, stored, { credit_card: JSON.stringify(cardView(stored)), extra: null });
      const call = pushCall(row, shop, request, card);
      return { row, written, call: (connector: AcquirerConnector) => connector.payout(call, 'credit') };
    }),
  );
  return transactionResponse(ctx, row);
}
