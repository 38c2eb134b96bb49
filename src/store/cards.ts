import type { CardTable } from './schema.js';
import { type Sql, statement } from './sql.js';

/**
 * The vault's card rows (encrypted number, stamp per shop, shown digits). The clear number never reaches
 * this module: src/vault seals it before a row is built.
 */

const COLUMNS: readonly (keyof CardTable)[] = [
  'token',
  'shop_id',
  'pan_enc',
  'key_id',
  'stamp',
  'legacy_stamp',
  'brand',
  'first_1',
  'last_4',
  'bin',
  'bin_8',
  'holder',
  'exp_month',
  'exp_year',
  'created_at',
  'updated_at',
];

const byToken = statement('cards.find', 'select * from cards where token = $1 and shop_id = $2');
const byStamp = statement('cards.find_by_stamp', 'select * from cards where shop_id = $1 and stamp = $2');
const insertRow = statement('cards.insert', `insert into cards (${COLUMNS.join(', ')}) values (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`);
const refreshRow = statement(
  'cards.refresh',
  'update cards set holder = $3, exp_month = $4, exp_year = $5, updated_at = $6 where token = $1 and shop_id = $2',
);
const updateRow = statement(
  'cards.update',
  `update cards set holder = coalesce($3, holder), exp_month = coalesce($4, exp_month), exp_year = coalesce($5, exp_year), updated_at = $6
    where token = $1 and shop_id = $2 returning *`,
);
const lookalikes = statement(
  'cards.count_lookalikes',
  'select count(*) as n from cards where shop_id = $1 and bin_8 = $2 and last_4 = $3 and updated_at >= $4 and stamp <> $5',
);

export function findCard(db: Sql, shopId: number, token: string): Promise<CardTable | undefined> {
  return db.one<CardTable>(byToken, [token, shopId]);
}

/** The shop's card with this stamp (the same number), if it has one. */
export function findCardByStamp(db: Sql, shopId: number, stamp: string): Promise<CardTable | undefined> {
  return db.one<CardTable>(byStamp, [shopId, stamp]);
}

export async function insertCard(tx: Sql, row: CardTable): Promise<void> {
  await tx.run(
    insertRow,
    COLUMNS.map((column) => row[column]),
  );
}

/** A card sent again: its holder and expiry as sent now, and `updated_at` (the card guard's window) moved. */
export async function refreshCard(tx: Sql, card: CardTable): Promise<void> {
  await tx.run(refreshRow, [card.token, card.shop_id, card.holder, card.exp_month, card.exp_year, card.updated_at]);
}

export function updateCard(
  tx: Sql,
  shopId: number,
  token: string,
  changes: { holder?: string; exp_month?: number; exp_year?: number },
  now: string,
): Promise<CardTable | undefined> {
  return tx.one<CardTable>(updateRow, [token, shopId, changes.holder ?? null, changes.exp_month ?? null, changes.exp_year ?? null, now]);
}

/**
 * Other numbers of the shop showing the same digits (first 8 and last 4), sent within the window: the
 * card guard's count (src/processing/cardGuard.ts).
 */
export async function countLookalikeCards(
  db: Sql,
  shopId: number,
  shown: { bin_8: string; last_4: string },
  stamp: string,
  since: string,
): Promise<number> {
  const row = await db.one<{ n: number | string }>(lookalikes, [shopId, shown.bin_8, shown.last_4, since, stamp]);
  return Number(row?.n ?? 0);
}
