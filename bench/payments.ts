/** What the benchmark sends: a merchant's card payment, as the eComCharge API takes it. */

/** The demo shop (ECOMGATE_DEMO_SHOPS=1) with its public credentials. */
export const DEMO_SHOP = { id: 361, secret: 'b8647b68898b084b836474ed8d61ffe117c9a01168d867f24953b776ddcb134d' };

/** A shop made through the admin API whose sandbox bank answers every call after a delay. */
export const SLOW_BANK_SHOP = { id: 9001, secret: 'slow-bank-bench-secret-0001' };

export interface Merchant {
  id: number;
  secret: string;
}

export function merchantHeaders(shop: Merchant): Record<string, string> {
  return {
    authorization: `Basic ${Buffer.from(`${shop.id}:${shop.secret}`).toString('base64')}`,
    'content-type': 'application/json',
  };
}

/** The Luhn check digit that makes `partial` + digit a valid card number. */
function luhnCheckDigit(partial: string): number {
  let sum = 0;
  for (let i = 0; i < partial.length; i++) {
    // Doubling starts from the digit next to the (future) check digit.
    let digit = Number(partial[partial.length - 1 - i]);
    if (i % 2 === 0) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return (10 - (sum % 10)) % 10;
}

/**
 * Distinct Visa numbers the sandbox approves (any valid number outside its special test cards, which
 * start 4000, 4005, 4012 or 5204). The first is the documented success card 4200000000000000. Distinct
 * cards matter on PostgreSQL: card operations on one card of one shop are serialised by an advisory
 * lock, so a single card would measure that lock rather than the gateway.
 */
export function approvedCards(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const partial = `420000000${String(i).padStart(6, '0')}`;
    return partial + luhnCheckDigit(partial);
  });
}

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
export const paymentRequestBody = paymentRequestBodyFor('4200000000000000');

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
