import { type Sql, statement, type Tx } from './sql.js';

/**
 * The statements of the upgrade from installation-wide card stamps (src/vault/restamp.ts): the cards still
 * carrying a `legacy_stamp`, and every place their old stamp was written (their transactions, those
 * transactions' webhook payloads, the shops' risk lists). One batch runs in one transaction.
 */

/**
 * PostgreSQL: a transaction-scoped advisory lock, so concurrent starts take turns over the batches and the
 * second finds nothing left, instead of both re-stamping one card. Nothing to do on SQLite, whose one
 * writer already runs the batches one after the other.
 */
const lockBatch = statement('restamp.lock', "select pg_advisory_xact_lock(hashtextextended('ecomgate:restamp-cards', 0))");

export async function lockRestamp(tx: Tx): Promise<void> {
  if (tx.dialect === 'postgres') await tx.all(lockBatch);
}

const legacyCards = statement(
  'cards.legacy_stamped',
  'select token, shop_id, pan_enc, legacy_stamp from cards where legacy_stamp is not null limit $1',
);

export function cardsWithLegacyStamp(tx: Sql, limit: number): Promise<{ token: string; shop_id: number; pan_enc: string; legacy_stamp: string }[]> {
  return tx.all(legacyCards, [limit]);
}

// A shop without `card_stamps` in its rules lists no stamp to replace.
const listingShops = statement('shops.listing_card_stamps', "select id, risk_rules from shops where risk_rules like '%card_stamps%'");

export function shopsListingCardStamps(tx: Sql): Promise<{ id: number; risk_rules: string }[]> {
  return tx.all(listingShops);
}

const setRiskRules = statement('shops.set_risk_rules', 'update shops set risk_rules = $2 where id = $1');

export async function setShopRiskRules(tx: Sql, shopId: number, riskRules: string): Promise<void> {
  await tx.run(setRiskRules, [shopId, riskRules]);
}

const ofStamp = statement('transactions.of_card_stamp', 'select uid, credit_card, extra from transactions where shop_id = $1 and card_stamp = $2');

export function transactionsOfCardStamp(
  tx: Sql,
  shopId: number,
  stamp: string,
): Promise<{ uid: string; credit_card: string | null; extra: string | null }[]> {
  return tx.all(ofStamp, [shopId, stamp]);
}

const restampRow = statement('transactions.restamp', 'update transactions set card_stamp = $2, credit_card = $3, extra = $4 where uid = $1');

/** The transaction's new stamp, with its stored card view and extra rewritten to match. */
export async function restampTransaction(
  tx: Sql,
  uid: string,
  fields: { card_stamp: string; credit_card: string | null; extra: string | null },
): Promise<void> {
  await tx.run(restampRow, [uid, fields.card_stamp, fields.credit_card, fields.extra]);
}

const deliveriesOf = statement('webhook_deliveries.of_transaction', 'select id, payload from webhook_deliveries where transaction_uid = $1');

export function webhookPayloadsOf(tx: Sql, transactionUid: string): Promise<{ id: number; payload: string }[]> {
  return tx.all(deliveriesOf, [transactionUid]);
}

const setPayload = statement('webhook_deliveries.set_payload', 'update webhook_deliveries set payload = $2 where id = $1');

export async function setWebhookPayload(tx: Sql, id: number, payload: string): Promise<void> {
  await tx.run(setPayload, [id, payload]);
}

const restampCardRow = statement(
  'cards.restamp',
  'update cards set stamp = $2, first_1 = $3, bin = $4, bin_8 = $5, legacy_stamp = null where token = $1',
);

/** The card's own stamp and shown digits; clearing `legacy_stamp` takes it out of `cardsWithLegacyStamp`. */
export async function restampCard(tx: Sql, token: string, fields: { stamp: string; first_1: string; bin: string; bin_8: string }): Promise<void> {
  await tx.run(restampCardRow, [token, fields.stamp, fields.first_1, fields.bin, fields.bin_8]);
}
