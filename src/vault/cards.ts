import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { maskOf } from '../domain/card.js';
import type { CardTable, Database } from '../store/schema.js';
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
export async function saveCard(db: Kysely<Database>, vault: Vault, shopId: number, card: PlainCard, now: string): Promise<CardTable> {
  const mask = maskOf(card.number);
  const row: CardTable = {
    token: randomUUID(),
    shop_id: shopId,
    pan_enc: vault.encrypt(card.number),
    key_id: vault.currentKeyId,
    stamp: vault.stamp(shopId, card.number),
    legacy_stamp: null,
    ...mask,
    holder: card.holder,
    exp_month: card.exp_month,
    exp_year: card.exp_year,
    created_at: now,
    updated_at: now,
  };
  return db
    .insertInto('cards')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['shop_id', 'stamp']).doUpdateSet({ holder: row.holder, exp_month: row.exp_month, exp_year: row.exp_year, updated_at: now }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findCard(db: Kysely<Database>, shopId: number, token: string): Promise<CardTable | undefined> {
  return db.selectFrom('cards').selectAll().where('token', '=', token).where('shop_id', '=', shopId).executeTakeFirst();
}

export async function updateCard(
  db: Kysely<Database>,
  shopId: number,
  token: string,
  changes: { holder?: string; exp_month?: number; exp_year?: number },
  now: string,
): Promise<CardTable | undefined> {
  return db
    .updateTable('cards')
    .set({ ...changes, updated_at: now })
    .where('token', '=', token)
    .where('shop_id', '=', shopId)
    .returningAll()
    .executeTakeFirst();
}

/**
 * How many other cards of the shop, showing the same digits (bin_8 and last_4), were sent as a number
 * since a moment (saveCard touches updated_at each time): the card guard's one indexed read
 * (cards_shop_shown).
 */
export async function countLookalikeCards(
  db: Kysely<Database>,
  shopId: number,
  shown: { bin_8: string; last_4: string },
  stamp: string,
  since: string,
): Promise<number> {
  const row = await db
    .selectFrom('cards')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('shop_id', '=', shopId)
    .where('bin_8', '=', shown.bin_8)
    .where('last_4', '=', shown.last_4)
    .where('updated_at', '>=', since)
    .where('stamp', '!=', stamp)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
