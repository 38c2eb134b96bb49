import { APPROVED_CARD } from '../test/support/cards.js';

/** What the benchmark sends: a merchant's card payment, as the eComCharge API takes it. */

/** A shop made through the admin API whose sandbox bank answers every call after a delay. */
export const SLOW_BANK_SHOP = { id: 9001, secret: 'slow-bank-bench-secret-0001' };

/**
 * A payment request. duplicate_check is off: the benchmark sends the same amount on the same cards over
 * and over, which the gateway would otherwise refuse as duplicates.
 */
export function paymentRequestBodyFor(cardNumber: string): string {
  return JSON.stringify({
    request: {
      amount: 1999,
      currency: 'EUR',
      description: 'bench order',
      duplicate_check: false,
      credit_card: { number: cardNumber, verification_value: '123', holder: 'A B', exp_month: '05', exp_year: 2030 },
    },
  });
}

/** A capture or refund of `amount` on `parentUid` (duplicate_check off: the benchmark repeats amounts). */
export function childRequestBody(parentUid: string, amount: number, reason?: string): string {
  return JSON.stringify({ request: { parent_uid: parentUid, amount, duplicate_check: false, ...(reason ? { reason } : {}) } });
}

/** The documented success card's payment (the echo baseline posts this body, so it moves as many bytes). */
export const paymentRequestBody = paymentRequestBodyFor(APPROVED_CARD);

export const paths = {
  syncPayment: '/transactions/payments',
  authorization: '/transactions/authorizations',
  capture: '/transactions/captures',
  refund: '/transactions/refunds',
  transaction: (uid: string) => `/transactions/${uid}`,
  asyncPayment: '/async/transactions/payments',
  status: (requestId: string) => `/async/status/${requestId}`,
  adminShops: '/admin/shops',
} as const;
