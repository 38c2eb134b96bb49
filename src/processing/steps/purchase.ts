import type { AcquirerCall } from '../../acquirers/connector.js';
import { results } from '../../domain/codes.js';
import { isPlainObject, type RequestReader } from '../../domain/request.js';
import { returnUrlAllowed, type Shop } from '../../domain/shop.js';
import type { TransactionType } from '../../domain/transaction.js';
import type { CardTable, TransactionTable } from '../../store/schema.js';
import type { Tx } from '../../store/sql.js';
import { cardView } from '../../vault/cards.js';
import type { Invocation, ProcessingContext } from '../context.js';
import { newTransactionRow } from '../pipeline.js';
import { cardActivityToday, evaluateRisk, type RiskVerdict } from '../risk.js';
import { cardDuplicate, checkCard, readCard, type ResolvedCard } from './card.js';

/** What payment, authorization, tokenization and check-up share (spec §2.1): their fields, row and call. */

const customerFields = ['ip', 'email', 'device_id', 'birth_date'] as const;
const customerFormats = { ip: 'ip', birth_date: 'date' } as const;
export const addressFields = ['first_name', 'last_name', 'country', 'city', 'state', 'zip', 'address', 'phone'] as const;

/** Where a refused card number is reported (the card guard). */
export const CARD_NUMBER_PATH = ['credit_card', 'number'];

/** Reads the request, in the order its errors are listed; the caller checks the reader. */
export function readPurchase(reader: RequestReader, shop: Shop, now: Date, options: { trackingIdRequired?: boolean } = {}) {
  const request = {
    amount: reader.amount(),
    currency: reader.currency(),
    description: reader.required('description'),
    trackingId: reader.string('tracking_id', { required: options.trackingIdRequired }) ?? null,
    test: reader.boolean('test') ?? false,
    language: reader.string('language', { max: 10 }) ?? 'en',
    notificationUrl: reader.url('notification_url') ?? null,
    returnUrl: reader.url('return_url') ?? null,
    expiredAt: readExpiry(reader, now),
    duplicateCheck: reader.boolean('duplicate_check') ?? true,
    customer: reader.stringRecord('customer', customerFields, customerFormats) ?? null,
    billingAddress: reader.stringRecord('billing_address', addressFields) ?? null,
    additionalData: reader.freeObject('additional_data') ?? null,
    card: readCard(reader, 'credit_card', now),
    // readCard already reported a credit_card that is not an object; reading it again would report it twice.
    skipThreeDSecure: isPlainObject(reader.raw('credit_card'))
      ? (reader.object('credit_card')?.boolean('skip_three_d_secure_verification') ?? false)
      : false,
  };
  if (request.returnUrl && !returnUrlAllowed(shop, request.returnUrl)) reader.fail('return_url', 'host is not allowed for this shop');
  return request;
}

export type PurchaseRequest = ReturnType<typeof readPurchase>;

/** `expired_at` must lie ahead: a deadline already passed would leave a payable challenge the sweeper has not reached yet. */
function readExpiry(reader: RequestReader, now: Date): string | null {
  const expiredAt = reader.timestamp('expired_at');
  if (!expiredAt) return null;
  if (expiredAt <= now) return reader.fail('expired_at', 'must be in the future') ?? null;
  return expiredAt.toISOString();
}

/**
 * The first round trip of A for an operation the shop's risk rules judge: the card half and the card's
 * activity today, sent together (one round trip, not two).
 */
export function checkCardWithActivity(
  ctx: ProcessingContext,
  tx: Tx,
  shop: Shop,
  type: TransactionType,
  request: PurchaseRequest,
  card: ResolvedCard,
  now: Date,
) {
  return Promise.all([
    checkCard(ctx, tx, shop.id, card, CARD_NUMBER_PATH, cardDuplicate(type, request, now)),
    cardActivityToday(tx, shop, card.stamp, now),
  ]);
}

/** The verdict of the shop's risk rules on this request, its card and the card's activity today. */
export function judgeRisk(shop: Shop, request: PurchaseRequest, card: ResolvedCard, activity: { count: number; volume: number }): RiskVerdict {
  return evaluateRisk(shop, { stamp: card.stamp, email: request.customer?.email, ip: request.customer?.ip, amount: request.amount }, activity);
}

/** The row of A; `risk` is the verdict of the shop's rules, absent for an operation they do not judge. */
export function purchaseRow(
  ctx: ProcessingContext,
  invocation: Invocation,
  type: TransactionType,
  request: PurchaseRequest,
  card: ResolvedCard,
  stored: CardTable,
  risk: RiskVerdict | undefined,
): TransactionTable {
  return newTransactionRow(ctx, invocation, {
    type,
    amount: request.amount,
    currency: request.currency,
    description: request.description,
    tracking_id: request.trackingId,
    test: invocation.shop.test || request.test ? 1 : 0,
    language: request.language,
    notification_url: request.notificationUrl,
    return_url: request.returnUrl,
    expired_at: request.expiredAt,
    customer: request.customer && JSON.stringify(request.customer),
    billing_address: request.billingAddress && JSON.stringify(request.billingAddress),
    additional_data: request.additionalData && JSON.stringify(request.additionalData),
    card_token: stored.token,
    card_stamp: card.stamp,
    credit_card: JSON.stringify(cardView(stored)),
    be_protected: risk ? JSON.stringify(risk.verification) : null,
  });
}

/** A row the shop's risk rules refused: final in A, the acquirer is never asked. */
export function refusedByRisk(row: TransactionTable, risk: RiskVerdict): TransactionTable {
  const { code, friendly_message } = results.riskRefused;
  return Object.assign(row, { status: 'failed', message: risk.message, code, friendly_message });
}

export function purchaseCall(row: TransactionTable, shop: Shop, request: PurchaseRequest, card: ResolvedCard): AcquirerCall {
  return {
    reference: row.acquirer_ref,
    shopId: shop.id,
    amount: request.amount,
    currency: request.currency,
    card: card.data,
    threeDSecure: shop.threeDSecure && !request.skipThreeDSecure,
    billingAddress: request.billingAddress ?? undefined,
    settings: shop.acquirerSettings,
  };
}
