import type { TransactionStatus } from '../domain/transaction.js';
import type { Store } from './db.js';
import type { TransactionTable } from './schema.js';
import { type Sql, statement, type Tx } from './sql.js';
import { completeTask } from './tasks.js';
import { deliveryHost } from './webhooks.js';

/**
 * Named statements on transactions, their ledger entries and their webhook outbox rows. Locking differs
 * per store; it is spelled out here and nowhere else.
 */

const COLUMNS: readonly (keyof TransactionTable)[] = [
  'uid',
  'shop_id',
  'type',
  'status',
  'amount',
  'currency',
  'description',
  'tracking_id',
  'test',
  'language',
  'parent_uid',
  'reason',
  'message',
  'code',
  'friendly_message',
  'card_token',
  'card_stamp',
  'credit_card',
  'notification_url',
  'return_url',
  'customer',
  'billing_address',
  'additional_data',
  'extra',
  'acquirer_response',
  'three_d_secure',
  'be_protected',
  'avs_cvc',
  'acquirer_ref',
  'child_amount',
  'reserved_amount',
  'voided',
  'next_inquiry_at',
  'inquiry_attempts',
  'created_at',
  'updated_at',
  'paid_at',
  'expired_at',
  'closed_at',
  'settled_at',
];

const insertRow = statement(
  'transactions.insert',
  `insert into transactions (${COLUMNS.join(', ')}) values (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
);

export async function insertTransaction(tx: Sql, row: TransactionTable): Promise<void> {
  await tx.run(
    insertRow,
    COLUMNS.map((column) => row[column]),
  );
}

const byShopAndUid = statement('transactions.find', 'select * from transactions where uid = $1 and shop_id = $2');
const byUid = statement('transactions.find_by_uid', 'select * from transactions where uid = $1');

export async function findTransaction(db: Sql, shopId: number, uid: string): Promise<TransactionTable | undefined> {
  return db.one<TransactionTable>(byShopAndUid, [uid, shopId]);
}

/** A transaction by uid alone: for customer-facing pages, whose links carry no shop credentials. */
export async function findTransactionByUid(db: Sql, uid: string): Promise<TransactionTable | undefined> {
  return db.one<TransactionTable>(byUid, [uid]);
}

/**
 * Loads a parent inside transaction A and locks it against concurrent children. PostgreSQL: a row lock
 * (`FOR UPDATE`) held until A commits. SQLite: the store has one writer and A runs under it, so the read
 * is already serialised with every other A and B.
 */
const lockParentRow = statement('transactions.lock_parent', {
  postgres: 'select * from transactions where uid = $1 and shop_id = $2 for update',
  sqlite: 'select * from transactions where uid = $1 and shop_id = $2',
});

export async function lockParent(tx: Tx, shopId: number, uid: string): Promise<TransactionTable | undefined> {
  return tx.one<TransactionTable>(lockParentRow, [uid, shopId]);
}

/**
 * Serialises transaction A of card operations on the cards of one shop that show the same digits (one
 * card's duplicate check and velocity rules, and the count of look-alike numbers of the card guard):
 * a transaction-scoped advisory lock on PostgreSQL; nothing to do on SQLite's single writer. Keyed by the
 * shown digits, not the stamp, so two processes cannot both admit "the fifth" look-alike number.
 */
const lockCard = statement('transactions.lock_card', 'select pg_advisory_xact_lock(hashtextextended($1, 0))');

export function lockCardOperations(tx: Tx, shopId: number, shown: { bin_8: string; last_4: string }): Promise<unknown> {
  if (tx.dialect !== 'postgres') return Promise.resolve();
  return tx.all(lockCard, [`${shopId}:card:${shown.bin_8}:${shown.last_4}`]);
}

const moveReservation = statement(
  'transactions.adjust_parent',
  `update transactions
      set reserved_amount = reserved_amount + $2, child_amount = child_amount + $3, voided = case when $4 = 1 then 1 else voided end, updated_at = $5
    where uid = $1`,
);

/** Moves a reservation: `reserved` is added to the parent's in-flight amount, `settled` to its children total. */
export async function adjustParent(
  tx: Sql,
  uid: string,
  change: { reserved?: number; settled?: number; voided?: boolean },
  now: string,
): Promise<void> {
  await tx.run(moveReservation, [uid, change.reserved ?? 0, change.settled ?? 0, change.voided ? 1 : 0, now]);
}

/** What transaction B writes: the outcome, and the effects a final status brings. */
export interface Settlement {
  uid: string;
  status: TransactionStatus;
  message: string | null;
  code: string;
  friendly_message: string;
  next_inquiry_at: string | null;
  /** Set only when given (null leaves the column as it is). */
  paid_at: string | null;
  closed_at: string | null;
  three_d_secure: string | null;
  avs_cvc: string | null;
  inquiry_attempts: number | null;
  acquirer_response: string;
  updated_at: string;
  /** The parent's reservation released and its settled total moved (final outcomes of children only). */
  parent?: { uid: string; reserved: number; settled: number; voided: boolean };
  /** Signed ledger amount, when money moved. */
  ledger?: { shop_id: number; currency: string; amount: number };
  /** The webhook outbox row, when the transaction has a notification URL and the status is final. */
  webhook?: { shop_id: number; url: string; payload: string };
  /** The async task this outcome answers: its result (a 200 with `response`) stored by its lease holder. */
  task?: { id: string; owner: string; response: string };
}

const SETTLE_SET = `status = $2, message = $3, code = $4, friendly_message = $5, next_inquiry_at = $6,
         paid_at = coalesce($7, paid_at), closed_at = coalesce($8, closed_at), three_d_secure = coalesce($9, three_d_secure),
         avs_cvc = coalesce($10, avs_cvc), inquiry_attempts = coalesce($11, inquiry_attempts), acquirer_response = $12, updated_at = $13`;

/**
 * PostgreSQL: transaction B as one statement, autocommitted: the guarded update and, only if it moved the
 * row, the parent's reservation, the ledger entry and the outbox row. One round trip, no BEGIN/COMMIT,
 * and atomic (a statement is its own transaction).
 */
const settleAll = statement(
  'transactions.settle_all',
  `with settled as (
     update transactions set ${SETTLE_SET}
      where uid = $1 and status in ('processing', 'pending')
      returning *
   ), parent as (
     update transactions p
        set reserved_amount = p.reserved_amount - $15, child_amount = p.child_amount + $16,
            voided = case when $17::int = 1 then 1 else p.voided end, updated_at = $13
       from settled where p.uid = $14 and $14::text is not null
   ), ledger as (
     insert into ledger_entries (shop_id, transaction_uid, currency, amount, created_at)
     select settled.shop_id, settled.uid, settled.currency, $18, $13 from settled where $18::bigint is not null
   ), outbox as (
     insert into webhook_deliveries (shop_id, transaction_uid, url, payload, created_at, renotify, host, state, attempts, next_attempt_at)
     select settled.shop_id, settled.uid, $19, $20, $13, 0, $21, 'pending', 0, $13 from settled where $19::text is not null
   ), task as (
     update async_tasks
        set status_code = 200, response = $24, completed_at = $13, state = 'done', request_enc = null, lease_owner = null, lease_expires_at = null
      where id = $22 and lease_owner = $23 and state = 'running' and exists (select 1 from settled)
     returning id
   )
   select settled.*, exists (select 1 from task) as task_completed from settled`,
);

const settleRow = statement(
  'transactions.settle',
  `update transactions set ${SETTLE_SET} where uid = $1 and status in ('processing', 'pending') returning *`,
);

/**
 * Transaction B's guarded write: only a transaction still waiting for its acquirer outcome moves on, so
 * the request that made the call and a resolver that inquired cannot both record it. Answers the settled
 * row (and whether the async task's result was stored with it: not when its lease was lost), or undefined
 * when somebody else recorded the outcome first (nothing is written then).
 */
export async function settle(tx: Tx, s: Settlement): Promise<{ row: TransactionTable; taskCompleted: boolean } | undefined> {
  const base = [
    s.uid,
    s.status,
    s.message,
    s.code,
    s.friendly_message,
    s.next_inquiry_at,
    s.paid_at,
    s.closed_at,
    s.three_d_secure,
    s.avs_cvc,
    s.inquiry_attempts,
    s.acquirer_response,
    s.updated_at,
  ];
  if (tx.dialect === 'postgres') {
    const answer = await tx.one<TransactionTable & { task_completed: boolean }>(settleAll, [
      ...base,
      s.parent?.uid ?? null,
      s.parent?.reserved ?? 0,
      s.parent?.settled ?? 0,
      s.parent?.voided ? 1 : 0,
      s.ledger?.amount ?? null,
      s.webhook?.url ?? null,
      s.webhook?.payload ?? null,
      s.webhook ? deliveryHost(s.webhook.url) : null,
      s.task?.id ?? null,
      s.task?.owner ?? null,
      s.task?.response ?? null,
    ]);
    if (!answer) return undefined;
    const { task_completed: taskCompleted, ...row } = answer;
    return { row, taskCompleted };
  }
  const settled = await tx.one<TransactionTable>(settleRow, base);
  if (!settled) return undefined;
  if (s.parent)
    await adjustParent(tx, s.parent.uid, { reserved: -s.parent.reserved, settled: s.parent.settled, voided: s.parent.voided }, s.updated_at);
  if (s.ledger) await insertLedgerEntry(tx, { ...s.ledger, transaction_uid: s.uid, created_at: s.updated_at });
  if (s.webhook) await insertWebhookDelivery(tx, { ...s.webhook, transaction_uid: s.uid, created_at: s.updated_at });
  const taskCompleted = s.task
    ? await completeTask(tx, s.task.id, s.task.owner, { status_code: 200, response: s.task.response, completed_at: s.updated_at })
    : false;
  return { row: settled, taskCompleted };
}

/** The generic guarded write, for the rarer moves (3-D Secure answers, expiry): any columns. */
export async function settleTransaction(
  { db: trx }: Tx,
  uid: string,
  fromStatuses: readonly TransactionStatus[],
  changes: Partial<TransactionTable>,
): Promise<TransactionTable | undefined> {
  return trx.updateTable('transactions').set(changes).where('uid', '=', uid).where('status', 'in', fromStatuses).returningAll().executeTakeFirst();
}

/** Same shop, type, amount, currency and card, or same parent, within the window: `duplicate_check`. */
const duplicateOfCard = statement(
  'transactions.duplicate_of_card',
  `select uid from transactions
    where shop_id = $1 and type = $2 and amount = $3 and created_at >= $4 and card_stamp = $5 and currency = $6
    limit 1`,
);
const duplicateOfChild = statement(
  'transactions.duplicate_of_child',
  'select uid from transactions where shop_id = $1 and type = $2 and amount = $3 and created_at >= $4 and parent_uid = $5 limit 1',
);

export function findRecentDuplicate(
  db: Sql,
  match: { shopId: number; type: string; amount: number; since: string } & ({ cardStamp: string; currency: string } | { parentUid: string }),
): Promise<boolean> {
  const found =
    'parentUid' in match
      ? db.one(duplicateOfChild, [match.shopId, match.type, match.amount, match.since, match.parentUid])
      : db.one(duplicateOfCard, [match.shopId, match.type, match.amount, match.since, match.cardStamp, match.currency]);
  return found.then((row) => row !== undefined);
}

/** Count and volume of a card's payments and authorizations since a moment (velocity rules). */
const activityOfCard = statement(
  'transactions.card_activity',
  `select count(*) as count, coalesce(sum(amount), 0) as volume from transactions
    where shop_id = $1 and card_stamp = $2 and type in ('payment', 'authorization') and status not in ('failed', 'expired') and created_at >= $3`,
);

export async function cardActivity(db: Sql, shopId: number, stamp: string, since: string): Promise<{ count: number; volume: number }> {
  const row = await db.one<{ count: number | string; volume: number | string }>(activityOfCard, [shopId, stamp, since]);
  return { count: Number(row?.count ?? 0), volume: Number(row?.volume ?? 0) };
}

export async function findByTrackingId({ db }: Store, shopId: number, trackingId: string, limit: number): Promise<TransactionTable[]> {
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
export async function dueForInquiry({ db }: Store, now: string, limit: number): Promise<TransactionTable[]> {
  return db
    .selectFrom('transactions')
    .selectAll()
    .where('status', 'in', ['processing', 'pending'])
    .where('next_inquiry_at', '<=', now)
    .orderBy('next_inquiry_at')
    .limit(limit)
    .execute();
}

const ledgerEntry = statement(
  'ledger_entries.insert',
  'insert into ledger_entries (shop_id, transaction_uid, currency, amount, created_at) values ($1, $2, $3, $4, $5)',
);

export async function insertLedgerEntry(
  tx: Sql,
  entry: { shop_id: number; transaction_uid: string; currency: string; amount: number; created_at: string },
): Promise<void> {
  await tx.run(ledgerEntry, [entry.shop_id, entry.transaction_uid, entry.currency, entry.amount, entry.created_at]);
}

const outboxRow = statement(
  'webhook_deliveries.insert',
  `insert into webhook_deliveries (shop_id, transaction_uid, url, payload, created_at, renotify, host, state, attempts, next_attempt_at)
   values ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $5)`,
);

export async function insertWebhookDelivery(
  tx: Sql,
  delivery: { shop_id: number; transaction_uid: string; url: string; payload: string; created_at: string; renotify?: number },
): Promise<void> {
  await tx.run(outboxRow, [
    delivery.shop_id,
    delivery.transaction_uid,
    delivery.url,
    delivery.payload,
    delivery.created_at,
    delivery.renotify ?? 0,
    deliveryHost(delivery.url),
  ]);
}

/**
 * Transactions waiting for the customer (`incomplete`) past their `expired_at`, or created before
 * `createdBefore` when they were given none.
 */
export async function dueForExpiry({ db }: Store, now: string, createdBefore: string, limit: number): Promise<TransactionTable[]> {
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
