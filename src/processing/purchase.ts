import type { AcquirerCall, AcquirerConnector, AcquirerOutcome } from '../acquirers/connector.js';
import { isPlainObject, type RequestReader, unwrapRequest } from '../domain/request.js';
import { returnUrlAllowed } from '../domain/shop.js';
import type { TransactionType } from '../domain/transaction.js';
import { cardView } from '../vault/cards.js';
import { checkCard, flaggingCardRefusals } from './cardGuard.js';
import { readCard, resolveCard } from './cardInput.js';
import type { ApiResponse, Invocation, ProcessingContext } from './context.js';
import { execute, newTransactionRow } from './pipeline.js';
import { cardActivityToday, evaluateRisk } from './risk.js';
import { transactionResponse } from './respond.js';

/** `duplicate_check`: the same request within this window is refused. */
export const DUPLICATE_WINDOW_MS = 30_000;

const customerFields = ['ip', 'email', 'device_id', 'birth_date'] as const;
const customerFormats = { ip: 'ip', birth_date: 'date' } as const;
const addressFields = ['first_name', 'last_name', 'country', 'city', 'state', 'zip', 'address', 'phone'] as const;

/** The fields shared by payment, authorization, tokenization and check-up (spec §2.1). */
export function readPurchaseFields(reader: RequestReader, now: Date, options: { trackingIdRequired?: boolean } = {}) {
  return {
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
  };
}

/** `expired_at` must lie ahead: a deadline already passed would leave a payable challenge the sweeper has not reached yet. */
function readExpiry(reader: RequestReader, now: Date): string | null {
  const expiredAt = reader.timestamp('expired_at');
  if (!expiredAt) return null;
  if (expiredAt <= now) return reader.fail('expired_at', 'must be in the future') ?? null;
  return expiredAt.toISOString();
}

export const stringRecordFields = { customer: customerFields, address: addressFields };

type Invoke = (connector: AcquirerConnector, call: AcquirerCall) => Promise<AcquirerOutcome>;

/**
 * Payment, authorization, tokenization and check-up: a card (number or token), risk rules (not for
 * tokenization), then the acquirer (not for check-up, which is the risk rules alone).
 */
export async function purchase(ctx: ProcessingContext, invocation: Invocation, type: TransactionType, invoke?: Invoke): Promise<ApiResponse> {
  const { shop } = invocation;
  const now = ctx.now();
  const reader = unwrapRequest(invocation.body);
  const fields = readPurchaseFields(reader, now, { trackingIdRequired: type === 'checkup' });
  const cardInput = readCard(reader, 'credit_card', now);
  // readCard already reported a credit_card that is not an object; reading it again would report it twice.
  const cardReader = isPlainObject(reader.raw('credit_card')) ? reader.object('credit_card') : undefined;
  const skipThreeDSecure = cardReader?.boolean('skip_three_d_secure_verification') ?? false;
  if (fields.returnUrl && !returnUrlAllowed(shop, fields.returnUrl)) reader.fail('return_url', 'host is not allowed for this shop');
  reader.check();

  const card = await resolveCard(ctx, shop.id, cardInput!);
  const stamp = card.stored?.stamp ?? ctx.vault.stamp(shop.id, card.data.number);
  const subject = { stamp, email: fields.customer?.email, ip: fields.customer?.ip, amount: fields.amount };
  const row = await flaggingCardRefusals(ctx, shop.id, () => execute(ctx, invocation, async (tx) => {
    // First round trip: the card lock and every read A decides on.
    const checked = checkCard(ctx, tx, shop.id, card, stamp, ['credit_card', 'number'], fields.duplicateCheck && {
      type,
      amount: fields.amount,
      currency: fields.currency,
      since: new Date(now.getTime() - DUPLICATE_WINDOW_MS).toISOString(),
    });
    const [{ stored, written }, activity] = await Promise.all([checked, type === 'tokenization' ? undefined : cardActivityToday(tx, shop, stamp, now)]);
    const risk = activity && evaluateRisk(shop, subject, activity);
    const row = newTransactionRow(ctx, invocation, {
      type,
      amount: fields.amount,
      currency: fields.currency,
      description: fields.description,
      tracking_id: fields.trackingId,
      test: shop.test || fields.test ? 1 : 0,
      language: fields.language,
      notification_url: fields.notificationUrl,
      return_url: fields.returnUrl,
      expired_at: fields.expiredAt,
      customer: fields.customer && JSON.stringify(fields.customer),
      billing_address: fields.billingAddress && JSON.stringify(fields.billingAddress),
      additional_data: fields.additionalData && JSON.stringify(fields.additionalData),
      card_token: stored.token,
      card_stamp: stamp,
      credit_card: JSON.stringify(cardView(stored)),
      be_protected: risk ? JSON.stringify(risk.verification) : null,
    });
    if (risk && !risk.passed) {
      Object.assign(row, { status: 'failed', message: risk.message, code: 'F.0401', friendly_message: 'The transaction was rejected by the risk rules of the shop.' });
      return { row, written };
    }
    if (!invoke) {
      Object.assign(row, { status: 'successful', message: 'Successfully processed', code: 'S.0000', friendly_message: 'The operation was successfully processed.' });
      return { row, written };
    }
    const call: AcquirerCall = {
      reference: row.acquirer_ref,
      shopId: shop.id,
      amount: fields.amount,
      currency: fields.currency,
      card: card.data,
      threeDSecure: shop.threeDSecure && !skipThreeDSecure,
      billingAddress: fields.billingAddress ?? undefined,
      settings: shop.acquirerSettings,
    };
    return { row, written, call: (connector: AcquirerConnector) => invoke(connector, call) };
  }));
  return transactionResponse(ctx, row);
}
