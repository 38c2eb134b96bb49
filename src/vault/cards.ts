import { randomUUID } from 'node:crypto';
import { maskOf } from '../domain/card.js';
import { insertCard, refreshCard } from '../store/cards.js';
import type { CardTable } from '../store/schema.js';
import type { Sql } from '../store/sql.js';
import type { Vault } from './vault.js';

export interface PlainCard {
  number: string;
  holder: string | null;
  exp_month: number;
  exp_year: number;
}

/** The card as the API shows it: never the number, never the CVC. */
export interface CardView {
  holder: string | null;
  stamp: string;
  brand: string;
  last_4: string;
  first_1: string;
  bin: string;
  bin_8: string;
  exp_month: number;
  exp_year: number;
  token: string;
  issuer_country: string | null;
  issuer_name: string | null;
  product: string | null;
  token_provider: string | null;
}

export function cardView(card: CardTable): CardView {
  return {
    holder: card.holder,
    stamp: card.stamp,
    brand: card.brand,
    last_4: card.last_4,
    first_1: card.first_1,
    bin: card.bin,
    bin_8: card.bin_8,
    exp_month: card.exp_month,
    exp_year: card.exp_year,
    token: card.token,
    issuer_country: null,
    issuer_name: null,
    product: null,
    token_provider: null,
  };
}

/**
 * Stores a card (PAN encrypted) and returns its row. One token per card and shop: the same number comes
 * back with the same token, its holder and expiry refreshed.
 */
/**
 * The row of a card sent by number, and its write issued on `tx`: the shop's card with the same stamp
 * (`existing`, read under the card lock) refreshed with the holder and expiry sent now, or a new card with
 * the number sealed. The row is answered at once; the write travels with the transaction's next statements
 * (await `written` with them).
 */
export function saveCard(
  tx: Sql,
  vault: Vault,
  shopId: number,
  card: PlainCard,
  stamp: string,
  existing: CardTable | undefined,
  now: string,
): { stored: CardTable; written: Promise<void> } {
  if (existing) {
    const stored = { ...existing, holder: card.holder, exp_month: card.exp_month, exp_year: card.exp_year, updated_at: now };
    return { stored, written: refreshCard(tx, stored) };
  }
  const stored: CardTable = {
    token: randomUUID(),
    shop_id: shopId,
    pan_enc: vault.encrypt(card.number),
    key_id: vault.currentKeyId,
    stamp,
    legacy_stamp: null,
    ...maskOf(card.number),
    holder: card.holder,
    exp_month: card.exp_month,
    exp_year: card.exp_year,
    created_at: now,
    updated_at: now,
  };
  return { stored, written: insertCard(tx, stored) };
}
