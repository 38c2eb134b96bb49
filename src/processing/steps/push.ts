import type { AcquirerCall } from '../../acquirers/connector.js';
import type { RequestReader } from '../../domain/request.js';
import type { Shop } from '../../domain/shop.js';
import type { CardTable, TransactionTable } from '../../store/schema.js';
import type { Invocation, ProcessingContext } from '../context.js';
import { newTransactionRow } from '../pipeline.js';
import type { ResolvedCard } from './card.js';

/** What payout and credit share: money pushed to a card. */

/** The fields both read before their card, in the order their errors are listed. */
export function readPush(reader: RequestReader) {
  return {
    amount: reader.amount(),
    currency: reader.currency(),
    description: reader.required('description'),
    trackingId: reader.string('tracking_id') ?? null,
    test: reader.boolean('test') ?? false,
    notificationUrl: reader.url('notification_url') ?? null,
    duplicateCheck: reader.boolean('duplicate_check') ?? true,
    additionalData: reader.freeObject('additional_data') ?? null,
  };
}

export type PushRequest = ReturnType<typeof readPush>;

/** The row of A; where the card is shown (`credit_card`, or `extra` for a payout's recipient) is the operation's. */
export function pushRow(
  ctx: ProcessingContext,
  invocation: Invocation,
  type: 'payout' | 'credit',
  request: PushRequest,
  card: ResolvedCard,
  stored: CardTable,
  shown: Pick<TransactionTable, 'credit_card' | 'extra'>,
): TransactionTable {
  return newTransactionRow(ctx, invocation, {
    type,
    amount: request.amount,
    currency: request.currency,
    description: request.description,
    tracking_id: request.trackingId,
    test: invocation.shop.test || request.test ? 1 : 0,
    notification_url: request.notificationUrl,
    additional_data: request.additionalData && JSON.stringify(request.additionalData),
    card_token: stored.token,
    card_stamp: card.stamp,
    credit_card: shown.credit_card,
    extra: shown.extra,
  });
}

export function pushCall(row: TransactionTable, shop: Shop, request: PushRequest, card: ResolvedCard): AcquirerCall {
  return {
    reference: row.acquirer_ref,
    shopId: shop.id,
    amount: request.amount,
    currency: request.currency,
    card: card.data,
    settings: shop.acquirerSettings,
  };
}
