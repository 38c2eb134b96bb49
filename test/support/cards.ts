/**
 * The sandbox's test cards and card fixtures. The sandbox approves any valid number outside its special
 * test cards (which start 4000, 4005, 4012 or 5204), listed in spec §3.
 */

/** The documented success card. */
export const APPROVED_CARD = '4200000000000000';
/** The documented decline card: HTTP 200, status failed. */
export const DECLINED_CARD = '4005550000000019';

/** A card that expires a few years from now. */
export function card(number = APPROVED_CARD, extra: Record<string, unknown> = {}) {
  return { number, verification_value: '123', holder: 'John Doe', exp_month: '05', exp_year: new Date().getUTCFullYear() + 3, ...extra };
}

/** `partial` with the Luhn check digit that makes it a valid card number. */
export function luhnComplete(partial: string): string {
  let sum = 0;
  for (let i = 0; i < partial.length; i++) {
    // Doubling starts from the digit next to the (future) check digit.
    let digit = Number(partial[partial.length - 1 - i]);
    if (i % 2 === 0) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return partial + String((10 - (sum % 10)) % 10);
}

export function luhnValid(number: string): boolean {
  return luhnComplete(number.slice(0, -1)) === number;
}

/**
 * Distinct Visa numbers the sandbox approves; the first is APPROVED_CARD. Distinct cards matter on
 * PostgreSQL: card operations on one card of one shop are serialised by an advisory lock, so a single
 * card would measure (or test) that lock rather than the gateway.
 */
export function approvedCards(count: number): string[] {
  return Array.from({ length: count }, (_, i) => luhnComplete(`420000000${String(i).padStart(6, '0')}`));
}

/** Every key a `/credit_cards` answer carries: the original eight, then the card's bin and issuer. */
export const CARD_KEYS = [
  'bin',
  'brand',
  'exp_month',
  'exp_year',
  'first_1',
  'holder',
  'issuer_country',
  'issuer_name',
  'last_4',
  'product',
  'stamp',
  'token',
];
