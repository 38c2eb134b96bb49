import { maskOf } from '../domain/card.js';
import type { RiskRules } from '../domain/shop.js';
import type { Store, Tx } from '../store/db.js';
import {
  cardsWithLegacyStamp,
  lockRestamp,
  restampCard,
  restampTransaction,
  setShopRiskRules,
  setWebhookPayload,
  shopsListingCardStamps,
  transactionsOfCardStamp,
  webhookPayloadsOf,
} from '../store/restamp.js';
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

async function restampBatch(tx: Tx, vault: Vault): Promise<number> {
  await lockRestamp(tx);
  const cards = await cardsWithLegacyStamp(tx, BATCH);
  if (cards.length === 0) return 0;
  const listing = await shopsListingCardStamps(tx);
  const rules = new Map(listing.map((shop) => [Number(shop.id), JSON.parse(shop.risk_rules) as RiskRules]));
  const changedRules = new Set<number>();
  for (const card of cards) {
    const legacy = card.legacy_stamp;
    const pan = vault.decrypt(card.pan_enc);
    const { first_1, bin, bin_8 } = maskOf(pan);
    const fields: CardFields = { stamp: vault.stamp(card.shop_id, pan), first_1, bin, bin_8 };
    for (const row of await transactionsOfCardStamp(tx, card.shop_id, legacy)) {
      await restampTransaction(tx, row.uid, {
        card_stamp: fields.stamp,
        credit_card: restampText(row.credit_card, card.token, fields),
        extra: restampText(row.extra, card.token, fields),
      });
      for (const delivery of await webhookPayloadsOf(tx, row.uid)) {
        const payload = restampText(delivery.payload, card.token, fields)!;
        if (payload !== delivery.payload) await setWebhookPayload(tx, delivery.id, payload);
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
    await restampCard(tx, card.token, fields);
  }
  for (const shopId of changedRules) await setShopRiskRules(tx, shopId, JSON.stringify(rules.get(shopId)));
  return cards.length;
}

/** Re-stamps every card still carrying an installation-wide stamp; answers how many it did. */
export async function restampLegacyCards(store: Store, vault: Vault): Promise<number> {
  let total = 0;
  for (;;) {
    const done = await store.transaction((tx) => restampBatch(tx, vault));
    if (done === 0) return total;
    total += done;
  }
}
