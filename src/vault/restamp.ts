import { type Kysely, sql } from 'kysely';
import { maskOf } from '../domain/card.js';
import type { RiskRules } from '../domain/shop.js';
import type { Store } from '../store/db.js';
import type { Database } from '../store/schema.js';
import type { Vault } from './vault.js';

/**
 * Upgrade of cards stored while stamps were installation-wide (migration 0008 kept each one's old stamp in
 * `legacy_stamp`). Chosen over keeping both stamps during a transition: the old stamp correlates a number
 * across shops, so it must not live on; and every reader of stamps (the card's row, found again by number;
 * `transactions.card_stamp` for duplicate checks and velocity rules; the shops' `card_stamps` lists) stays
 * one lookup of one value. Runs at start under the vault, before the app serves, in batches, each batch one
 * transaction: a crash leaves the batch for the next start. Per card: its transactions get the shop's stamp
 * (and their stored card view, and their webhook payloads, the new stamp and the truncated digits of
 * domain/card.ts); every shop listing the old stamp in a risk list gets its own stamp of the number; then
 * the card itself, with `legacy_stamp` cleared. On PostgreSQL an advisory lock makes concurrent starts take
 * turns (the second finds nothing left). A listed stamp that matches no stored card stays as it was; it
 * matched no payment before either.
 */
const BATCH = 200;

type CardFields = { stamp: string; first_1: string; bin: string; bin_8: string };

/** Replaces, in a stored answer, the stamp and digits of every card view of this token. */
function restampViews(value: unknown, token: string, fields: CardFields): boolean {
  if (Array.isArray(value)) return value.map((v) => restampViews(v, token, fields)).some(Boolean);
  if (!value || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  let changed = false;
  if (record.token === token && 'stamp' in record) {
    Object.assign(record, fields);
    changed = true;
  }
  for (const member of Object.values(record)) changed = restampViews(member, token, fields) || changed;
  return changed;
}

function restampText(text: string | null, token: string, fields: CardFields): string | null {
  if (text === null) return null;
  const parsed = JSON.parse(text);
  return restampViews(parsed, token, fields) ? JSON.stringify(parsed) : text;
}

async function restampBatch(store: Store, trx: Kysely<Database>, vault: Vault): Promise<number> {
  if (store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtextextended('ecomgate:restamp-cards', 0))`.execute(trx);
  const cards = await trx.selectFrom('cards').select(['token', 'shop_id', 'pan_enc', 'legacy_stamp']).where('legacy_stamp', 'is not', null).limit(BATCH).execute();
  if (cards.length === 0) return 0;
  const listing = await trx.selectFrom('shops').select(['id', 'risk_rules']).where('risk_rules', 'like', '%card_stamps%').execute();
  const rules = new Map(listing.map((shop) => [Number(shop.id), JSON.parse(shop.risk_rules) as RiskRules]));
  const changedRules = new Set<number>();
  for (const card of cards) {
    const legacy = card.legacy_stamp!;
    const pan = vault.decrypt(card.pan_enc);
    const { first_1, bin, bin_8 } = maskOf(pan);
    const fields: CardFields = { stamp: vault.stamp(card.shop_id, pan), first_1, bin, bin_8 };
    const transactions = await trx
      .selectFrom('transactions')
      .select(['uid', 'credit_card', 'extra'])
      .where('shop_id', '=', card.shop_id)
      .where('card_stamp', '=', legacy)
      .execute();
    for (const tx of transactions) {
      await trx
        .updateTable('transactions')
        .set({ card_stamp: fields.stamp, credit_card: restampText(tx.credit_card, card.token, fields), extra: restampText(tx.extra, card.token, fields) })
        .where('uid', '=', tx.uid)
        .execute();
      for (const delivery of await trx.selectFrom('webhook_deliveries').select(['id', 'payload']).where('transaction_uid', '=', tx.uid).execute()) {
        const payload = restampText(delivery.payload, card.token, fields)!;
        if (payload !== delivery.payload) await trx.updateTable('webhook_deliveries').set({ payload }).where('id', '=', delivery.id).execute();
      }
    }
    for (const [shopId, shopRules] of rules) {
      for (const list of [shopRules.white_list, shopRules.black_list]) {
        const stamps = list?.card_stamps;
        const at = stamps?.indexOf(legacy) ?? -1;
        if (at < 0) continue;
        stamps![at] = vault.stamp(shopId, pan);
        changedRules.add(shopId);
      }
    }
    await trx.updateTable('cards').set({ ...fields, legacy_stamp: null }).where('token', '=', card.token).execute();
  }
  for (const shopId of changedRules) {
    await trx.updateTable('shops').set({ risk_rules: JSON.stringify(rules.get(shopId)) }).where('id', '=', shopId).execute();
  }
  return cards.length;
}

/** Re-stamps every card still carrying an installation-wide stamp; answers how many it did. */
export async function restampLegacyCards(store: Store, vault: Vault): Promise<number> {
  let total = 0;
  for (;;) {
    const done = await store.transaction(({ db: trx }) => restampBatch(store, trx, vault));
    if (done === 0) return total;
    total += done;
  }
}
