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
  createdAt: string;
  updatedAt: string;
}
