/** Card numbers: format checks, brand, and the masked view that is all the API ever returns. */

export type Brand = 'visa' | 'master' | 'maestro' | 'amex' | 'discover' | 'jcb' | 'diners' | 'unionpay' | 'mir' | 'unknown';

export function luhnValid(number: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = number.length - 1; i >= 0; i--) {
    let digit = number.charCodeAt(i) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

/** 12–19 digits and a valid Luhn check digit. */
export function isValidCardNumber(number: string): boolean {
  return /^\d{12,19}$/.test(number) && luhnValid(number);
}

export function brandOf(number: string): Brand {
  const n2 = Number(number.slice(0, 2));
  const n4 = Number(number.slice(0, 4));
  const n6 = Number(number.slice(0, 6));
  if (/^220[0-4]/.test(number)) return 'mir';
  if (number.startsWith('4')) return 'visa';
  if ((n2 >= 51 && n2 <= 55) || (n6 >= 222100 && n6 <= 272099)) return 'master';
  if (n2 === 34 || n2 === 37) return 'amex';
  if (n4 >= 3528 && n4 <= 3589) return 'jcb';
  if (n2 === 36 || n2 === 38 || n2 === 39 || (n4 >= 3000 && n4 <= 3059)) return 'diners';
  if (n4 === 6011 || n2 === 65 || (n6 >= 644000 && n6 <= 649999)) return 'discover';
  if (n2 === 62) return 'unionpay';
  if (n2 === 50 || (n2 >= 56 && n2 <= 69)) return 'maestro';
  return 'unknown';
}

export interface CardMask {
  brand: Brand;
  first_1: string;
  last_4: string;
  bin: string;
  bin_8: string;
}

/** Digits a truncated number may show at its start: `bin_8` for 16 digits and more (PCI DSS 3.4.1 allows it). */
const LONG_NUMBER_SHOWN_PREFIX = 8;
/** Below 16 digits: at most the first 6, and never fewer than 5 digits hidden (for 12 or 13 digits, the
 * first 8 and last 4 would be the whole number, or the number less its Luhn check digit). */
const SHORT_NUMBER_MAX_PREFIX = 6;
const MIN_HIDDEN_DIGITS = 5;

/** How many leading digits of a number of this length the gateway ever shows (12 → 3, 13 → 4, 15 → 6, 16+ → 8). */
export function shownPrefixLength(length: number): number {
  if (length >= 16) return LONG_NUMBER_SHOWN_PREFIX;
  return Math.max(0, Math.min(SHORT_NUMBER_MAX_PREFIX, length - 4 - MIN_HIDDEN_DIGITS));
}

/**
 * The truncation rule, the one place it lives: the last 4 digits and the leading digits
 * `shownPrefixLength` allows. `bin` is that prefix cut to 6 digits, `bin_8` cut to 8; for a short number
 * both are shorter than their names say, never more of the number than the rule shows.
 */
export function maskOf(number: string): CardMask {
  const prefix = number.slice(0, shownPrefixLength(number.length));
  return {
    brand: brandOf(number),
    first_1: prefix.slice(0, 1),
    last_4: number.slice(-4),
    bin: prefix.slice(0, 6),
    bin_8: prefix.slice(0, 8),
  };
}

/** A card is usable through the last day of its expiry month (UTC). */
export function isExpired(expMonth: number, expYear: number, now: Date): boolean {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth() + 1;
  return expYear < year || (expYear === year && expMonth < month);
}
