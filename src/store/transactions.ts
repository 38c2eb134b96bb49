import { type Kysely, sql } from 'kysely';
import type { Store } from './db.js';
import type { Database, TransactionTable } from './schema.js';
import { deliveryHost } from './webhooks.js';

/** Named queries on transactions. Locking differs per store; it is spelled out here and nowhere else. */

export async function insertTransaction(db: Kysely<Database>, row: TransactionTable): Promise<void> {
  await db.insertInto('transactions').values(row).execute();
}

export async function findTransaction(db: Kysely<Database>, shopId: number, uid: string): Promise<TransactionTable | undefined> {
  return db.selectFrom('transactions').selectAll().where('uid', '=', uid).where('shop_id', '=', shopId).executeTakeFirst();
}

/**
 * Loads a parent inside transaction A and locks it against concurrent children. PostgreSQL: a row lock
 * (`FOR UPDATE`) held until A commits. SQLite: the store has one writer and A runs under it, so the read
 * is already serialised with every other A and B.
 */
export async function lockParent(store: Store, trx: Kysely<Database>, shopId: number, uid: string): Promise<TransactionTable | undefined> {
  let query = trx.selectFrom('transactions').selectAll().where('uid', '=', uid).where('shop_id', '=', shopId);
  if (store.dialect === 'postgres') query = query.forUpdate();
  return query.executeTakeFirst();
}

/**
 * Serialises transaction A of card operations on the cards of one shop that show the same digits (one
 * card's duplicate check and velocity rules, and the count of look-alike numbers of the card guard):
 * a transaction-scoped advisory lock on PostgreSQL; nothing to do on SQLite's single writer. Keyed by the
 * shown digits, not the stamp, so two processes cannot both admit "the fifth" look-alike number.
 */
export async function lockCardOperations(store: Store, trx: Kysely<Database>, shopId: number, shown: { bin_8: string; last_4: string }): Promise<void> {
  if (store.dialect !== 'postgres') return;
  const key = `${shopId}:card:${shown.bin_8}:${shown.last_4}`;
  await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(trx);
}

/** Moves a reservation: `reserved` is added to the parent's in-flight amount, `settled` to its children total. */
export async function adjustParent(
  trx: Kysely<Database>,
  uid: string,
  change: { reserved?: number; settled?: number; voided?: boolean },
  now: string,
): Promise<void> {
  await trx
    .updateTable('transactions')
    .set((eb) => ({
      reserved_amount: eb('reserved_amount', '+', change.reserved ?? 0),
      child_amount: eb('child_amount', '+', change.settled ?? 0),
      ...(change.voided ? { voided: 1 } : {}),
      updated_at: now,
    }))
    .where('uid', '=', uid)
    .execute();
}

/**
 * Transaction B's guarded write: only a transaction still waiting for its acquirer outcome moves on, so
 * the request that made the call and a resolver that inquired cannot both record it.
 */
export async function settleTransaction(
  trx: Kysely<Database>,
  uid: string,
  fromStatuses: readonly string[],
  changes: Partial<TransactionTable>,
): Promise<TransactionTable | undefined> {
  return trx
    .updateTable('transactions')
    .set(changes)
    .where('uid', '=', uid)
    .where('status', 'in', fromStatuses as string[])
    .returningAll()
    .executeTakeFirst();
}

/** Same shop, type, amount, currency and card, or same parent, within the window: `duplicate_check`. */
export async function findRecentDuplicate(
  db: Kysely<Database>,
  match: { shopId: number; type: string; amount: number; currency?: string; cardStamp?: string; parentUid?: string; since: string },
): Promise<boolean> {
  let query = db
    .selectFrom('transactions')
    .select('uid')
    .where('shop_id', '=', match.shopId)
    .where('type', '=', match.type)
    .where('amount', '=', match.amount)
    .where('created_at', '>=', match.since);
  if (match.cardStamp !== undefined) query = query.where('card_stamp', '=', match.cardStamp);
  if (match.currency !== undefined) query = query.where('currency', '=', match.currency);
  if (match.parentUid !== undefined) query = query.where('parent_uid', '=', match.parentUid);
  return (await query.limit(1).executeTakeFirst()) !== undefined;
}

/** Count and volume of a card's payments and authorizations since a moment (velocity rules). */
export async function cardActivity(
  db: Kysely<Database>,
  shopId: number,
  stamp: string,
  since: string,
): Promise<{ count: number; volume: number }> {
  const row = await db
    .selectFrom('transactions')
    .select((eb) => [eb.fn.countAll<number>().as('count'), eb.fn.coalesce(eb.fn.sum<number>('amount'), sql<number>`0`).as('volume')])
    .where('shop_id', '=', shopId)
    .where('card_stamp', '=', stamp)
    .where('type', 'in', ['payment', 'authorization'])
    .where('status', 'not in', ['failed', 'expired'])
    .where('created_at', '>=', since)
    .executeTakeFirstOrThrow();
  return { count: Number(row.count), volume: Number(row.volume) };
}

export async function findByTrackingId(db: Kysely<Database>, shopId: number, trackingId: string, limit: number): Promise<TransactionTable[]> {
  return db
    .selectFrom('transactions')
    .selectAll()
    .where('shop_id', '=', shopId)
    .where('tracking_id', '=', trackingId)
    .orderBy('created_at', 'desc')
    .orderBy('uid', 'desc')
    .limit(limit)
    .execute();
}

/** Transactions whose acquirer outcome is unknown and due for an inquiry (crash or timeout). */
export async function dueForInquiry(db: Kysely<Database>, now: string, limit: number): Promise<TransactionTable[]> {
  return db
    .selectFrom('transactions')
    .selectAll()
    .where('status', 'in', ['processing', 'pending'])
    .where('next_inquiry_at', '<=', now)
    .orderBy('next_inquiry_at')
    .limit(limit)
    .execute();
}

export async function insertLedgerEntry(
  trx: Kysely<Database>,
  entry: { shop_id: number; transaction_uid: string; currency: string; amount: number; created_at: string },
): Promise<void> {
  await trx.insertInto('ledger_entries').values(entry).execute();
}

export async function insertWebhookDelivery(
  trx: Kysely<Database>,
  delivery: { shop_id: number; transaction_uid: string; url: string; payload: string; created_at: string; renotify?: number },
): Promise<void> {
  await trx
    .insertInto('webhook_deliveries')
    .values({ ...delivery, host: deliveryHost(delivery.url), state: 'pending', attempts: 0, next_attempt_at: delivery.created_at })
    .execute();
}

/**
 * Transactions waiting for the customer (`incomplete`) past their `expired_at`, or created before
 * `createdBefore` when they were given none.
 */
export async function dueForExpiry(db: Kysely<Database>, now: string, createdBefore: string, limit: number): Promise<TransactionTable[]> {
  return db
    .selectFrom('transactions')
    .selectAll()
    .where('status', '=', 'incomplete')
    .where((eb) =>
      eb.or([
        eb.and([eb('expired_at', 'is not', null), eb('expired_at', '<=', now)]),
        eb.and([eb('expired_at', 'is', null), eb('created_at', '<=', createdBefore)]),
      ]),
    )
    .limit(limit)
    .execute();
}

/** A transaction by uid alone: for customer-facing pages, whose links carry no shop credentials. */
export async function findTransactionByUid(db: Kysely<Database>, uid: string): Promise<TransactionTable | undefined> {
  return db.selectFrom('transactions').selectAll().where('uid', '=', uid).executeTakeFirst();
}
