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
