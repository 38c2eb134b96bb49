import { characterCount } from './request.js';
import type { FieldError } from './errors.js';

/** A merchant shop as the core sees it (secrets stay in the store, sealed by the vault). */

export interface ListRules {
  card_stamps?: string[];
  emails?: string[];
  ips?: string[];
}

export interface RiskRules {
  white_list?: ListRules;
  black_list?: ListRules;
  /** Largest amount of one payment or authorization, in minor units. */
  max_amount?: number;
  /** Per card and UTC day: payments and authorizations that did not fail. */
  daily_count?: number;
  daily_volume?: number;
}

export interface Shop {
  id: number;
  name: string;
  test: boolean;
  threeDSecure: boolean;
  publicKey: string;
  acquirer: string;
  acquirerSettings: Record<string, unknown>;
  riskRules: RiskRules;
  /** The hosts a `return_url` may name; null lets any host through (the default of test shops). */
  returnHosts: string[] | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * Whether the customer may be sent back to this `return_url` after 3-D Secure: an open redirect through
 * the gateway's own pages otherwise lends any site the look of the shop's checkout.
 */
export function returnUrlAllowed(shop: Pick<Shop, 'returnHosts'>, returnUrl: string): boolean {
  return shop.returnHosts === null || shop.returnHosts.includes(new URL(returnUrl).hostname);
}

/**
 * Where the customer's browser goes back to once a transaction is final: the merchant's `return_url`
 * with `uid` and `status` added to its own query (spec §6).
 */
export function returnUrlWithOutcome(returnUrl: string, uid: string, status: string): string {
  const url = new URL(returnUrl);
  url.searchParams.set('uid', uid);
  url.searchParams.set('status', status);
  return url.toString();
}

/** A shop id as written in a Basic-auth user or a URL: digits, no leading zero ("0361" is not shop 361). */
export function parseShopId(text: string): number | undefined {
  return /^[1-9]\d{0,14}$/.test(text) ? Number(text) : undefined;
}

/** The one secret-key policy: shop creation, the admin API's rotate_secret and the CLI's rotate-secret. */
export const SECRET_KEY_MIN_LENGTH = 16;
export const SECRET_KEY_MAX_LENGTH = 255;

/** The field error for a secret key outside the policy, if it is. */
export function secretKeyError(secret: string): FieldError | undefined {
  const length = characterCount(secret);
  if (length >= SECRET_KEY_MIN_LENGTH && length <= SECRET_KEY_MAX_LENGTH) return undefined;
  return { path: ['secret_key'], message: `must be ${SECRET_KEY_MIN_LENGTH} to ${SECRET_KEY_MAX_LENGTH} characters` };
}
