import type { AcquirerCall, AcquirerConnector } from '../acquirers/connector.js';
import { unwrapRequest } from '../domain/request.js';
import { cardView } from '../vault/cards.js';
import { checkCard, flaggingCardRefusals } from './cardGuard.js';
import { readCard, resolveCard } from './cardInput.js';
import type { ApiResponse, Invocation, ProcessingContext } from './context.js';
import { execute, newTransactionRow } from './pipeline.js';
import { DUPLICATE_WINDOW_MS, stringRecordFields } from './purchase.js';
import { transactionResponse } from './respond.js';

/**
 * Payout and credit: money pushed to a card. A payout names the recipient card (number or token) and
 * may describe recipient and sender; a credit (the legacy form) takes a stored card token only.
 */
export async function pushToCard(ctx: ProcessingContext, invocation: Invocation, type: 'payout' | 'credit'): Promise<ApiResponse> {
  const { shop } = invocation;
  const now = ctx.now();
  const reader = unwrapRequest(invocation.body);
  const amount = reader.amount();
  const currency = reader.currency();
  const description = reader.required('description');
  const trackingId = reader.string('tracking_id') ?? null;
  const test = reader.boolean('test') ?? false;
  const notificationUrl = reader.url('notification_url') ?? null;
  const duplicateCheck = reader.boolean('duplicate_check') ?? true;
  const additionalData = reader.freeObject('additional_data') ?? null;
  const cardField = type === 'payout' ? 'recipient_credit_card' : 'credit_card';
  const cardInput = readCard(reader, cardField, now, { tokenOnly: type === 'credit', withVerificationValue: false });
  const extra: Record<string, unknown> = {};
  if (type === 'payout') {
    for (const party of ['recipient', 'sender'] as const) {
      const partyFields = reader.freeObject(party);
      if (partyFields) extra[party] = partyFields;
      const address = reader.stringRecord(`${party}_billing_address`, stringRecordFields.address);
      if (address) extra[`${party}_billing_address`] = address;
    }
  }
  reader.check();

  const card = await resolveCard(ctx, shop.id, cardInput!, cardField);
  const row = await flaggingCardRefusals(ctx, shop.id, () => execute(ctx, invocation, async (tx) => {
    const stamp = card.stored?.stamp ?? ctx.vault.stamp(shop.id, card.data.number);
    const { stored, written } = await checkCard(ctx, tx, shop.id, card, stamp, [cardField, 'number'], duplicateCheck && {
      type,
      amount,
      currency,
      since: new Date(now.getTime() - DUPLICATE_WINDOW_MS).toISOString(),
    });
    const view = JSON.stringify(cardView(stored));
    if (type === 'payout') extra.recipient_credit_card = cardView(stored);
    const row = newTransactionRow(ctx, invocation, {
      type,
      amount,
      currency,
      description,
      tracking_id: trackingId,
      test: shop.test || test ? 1 : 0,
      notification_url: notificationUrl,
      additional_data: additionalData && JSON.stringify(additionalData),
      card_token: stored.token,
      card_stamp: stamp,
      credit_card: type === 'credit' ? view : null,
      extra: Object.keys(extra).length ? JSON.stringify(extra) : null,
    });
    const call: AcquirerCall = { reference: row.acquirer_ref, shopId: shop.id, amount, currency, card: card.data, settings: shop.acquirerSettings };
    return { row, written, call: (connector: AcquirerConnector) => connector.payout(call, type) };
  }));
  return transactionResponse(ctx, row);
}
