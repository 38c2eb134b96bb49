import type { AcquirerConnector } from '../../acquirers/connector.js';
import { type RequestReader, unwrapRequest } from '../../domain/request.js';
import { cardView } from '../../vault/cards.js';
import { flaggingCardRefusals } from '../cardGuard.js';
import type { ApiResponse, Invocation, ProcessingContext } from '../context.js';
import { execute } from '../pipeline.js';
import { transactionResponse } from '../respond.js';
import { cardDuplicate, checkCard, readCard, resolveCard } from '../steps/card.js';
import { addressFields } from '../steps/purchase.js';
import { pushCall, pushRow, readPush } from '../steps/push.js';

const CARD_FIELD = 'recipient_credit_card';
const CARD_NUMBER_PATH = [CARD_FIELD, 'number'];

/** The recipient and the sender as the merchant describes them: echoed under the transaction's payout block. */
function readParties(reader: RequestReader): Record<string, unknown> {
  const parties: Record<string, unknown> = {};
  for (const party of ['recipient', 'sender'] as const) {
    const partyFields = reader.freeObject(party);
    if (partyFields) parties[party] = partyFields;
    const address = reader.stringRecord(`${party}_billing_address`, addressFields);
    if (address) parties[`${party}_billing_address`] = address;
  }
  return parties;
}

/** Pushes funds to a recipient card, given as a number or a token. */
export async function payout(ctx: ProcessingContext, invocation: Invocation): Promise<ApiResponse> {
  const { shop } = invocation;
  const now = ctx.now();
  const reader = unwrapRequest(invocation.body);
  const request = readPush(reader);
  const cardInput = readCard(reader, CARD_FIELD, now, { withVerificationValue: false });
  const parties = readParties(reader);
  reader.check();

  const card = await resolveCard(ctx, shop.id, cardInput!, CARD_FIELD);
  const row = await flaggingCardRefusals(ctx, shop.id, () =>
    execute(ctx, invocation, async (tx) => {
      const { stored, written } = await checkCard(ctx, tx, shop.id, card, CARD_NUMBER_PATH, cardDuplicate('payout', request, now));
      parties.recipient_credit_card = cardView(stored);
      const row = pushRow(ctx, invocation, 'payout', request, card, stored, { credit_card: null, extra: JSON.stringify(parties) });
      const call = pushCall(row, shop, request, card);
      return { row, written, call: (connector: AcquirerConnector) => connector.payout(call, 'payout') };
    }),
  );
  return transactionResponse(ctx, row);
}
