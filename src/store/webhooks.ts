import { type RawBuilder, type Selectable, sql } from 'kysely';
import type { Store } from './db.js';
import type { WebhookAttemptTable, WebhookDeliveryTable } from './schema.js';
import { type Sql, statement, type Tx } from './sql.js';

/** A delivery row as read back. */
export type WebhookDelivery = Selectable<WebhookDeliveryTable>;

/**
 * The webhook outbox. Transaction B writes a `pending` delivery in the same commit as the final status
 * (store/transactions.ts insertWebhookDelivery); the delivery workers claim due ones with a lease
 * (`delivering`), and each attempt ends in one commit that records it and moves the delivery on:
 * `delivered`, back to `pending` at its next retry time, or `dead` once the retries are used up.
 */

/** `host[:port]` of a notification URL, the unit of the per-host cap; '' for one that does not parse. */
export function deliveryHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

export interface DeliveryClaim {
  owner: string;
  now: string;
  leaseUntil: string;
  limit: number;
  /** Deliveries in flight at most per host in this process. */
  hostCap: number;
  /** Deliveries this process has in flight now, by host. */
  inFlightByHost: ReadonlyMap<string, number>;
  /** Due deliveries looked at per claim; the per-host cap picks among them. */
  window: number;
}

/**
 * Claims due deliveries for `owner`: pending ones whose time has come, and delivering ones whose lease
 * expired (their worker died). First attempts go before retries, so a backlog of retries to dead
 * endpoints never delays a fresh notification; within each, the longest-waiting first.
 *
 * The per-host cap is applied here, not after the claim: hosts already at the cap in this process are
 * left out of the scan, and `row_number() over (partition by host)` takes at most the room each host has
 * left. A claimed delivery therefore never waits in memory behind a slow host while holding a slot, and
 * a thousand deliveries to one dead endpoint cannot fill the window that other shops' deliveries need.
 *
 * PostgreSQL: the scan locks its rows `FOR UPDATE SKIP LOCKED`, so several processes claim side by side
 * without waiting on or taking each other's rows (window functions cannot share a query level with FOR
 * UPDATE, hence the two steps). SQLite: one writer, so the update is the claim.
 */
export async function claimDeliveries(tx: Tx, claim: DeliveryClaim): Promise<WebhookDelivery[]> {
  const full: string[] = [];
  const room: RawBuilder<unknown>[] = [];
  for (const [host, busy] of claim.inFlightByHost) {
    if (busy >= claim.hostCap) full.push(host);
    else if (busy > 0) room.push(sql`when ${host} then ${sql.lit(claim.hostCap - busy)}`);
  }
  const skipFull = full.length ? sql`and host not in (${sql.join(full)})` : sql``;
  const roomOf = room.length ? sql`case host ${sql.join(room, sql` `)} else ${sql.lit(claim.hostCap)} end` : sql.lit(claim.hostCap);
  const lock = tx.dialect === 'postgres' ? sql`for update skip locked` : sql``;
  const result = await sql<WebhookDelivery>`
    with due as (
      select id, host, attempts, next_attempt_at
        from webhook_deliveries
       where ((state = 'pending' and next_attempt_at <= ${claim.now})
              or (state = 'delivering' and lease_expires_at < ${claim.now}))
             ${skipFull}
       order by case when attempts = 0 then 0 else 1 end, next_attempt_at, id
       limit ${claim.window}
       ${lock}
    ), ranked as (
      select id, host, attempts, next_attempt_at,
             row_number() over (partition by host order by case when attempts = 0 then 0 else 1 end, next_attempt_at, id) as place
        from due
    )
    update webhook_deliveries
       set state = 'delivering', lease_owner = ${claim.owner}, lease_expires_at = ${claim.leaseUntil}
     where id in (
       select id from ranked
        where place <= ${roomOf}
        order by case when attempts = 0 then 0 else 1 end, next_attempt_at, id
        limit ${claim.limit})
    returning *`.execute(tx.db);
  return result.rows;
}

export type AttemptOutcome = { state: 'delivered'; delivered_at: string } | { state: 'pending'; next_attempt_at: string } | { state: 'dead' };

/**
 * Records one attempt and moves its delivery on, in one commit. Only the lease holder may: a worker whose
 * lease ran out (and whose delivery another took over) records nothing, so attempt numbers stay unique.
 */
const moveOn = statement(
  'webhook_deliveries.move_on',
  `update webhook_deliveries
      set state = $3, delivered_at = coalesce($4, delivered_at), next_attempt_at = coalesce($5, next_attempt_at),
          attempts = $6, lease_owner = null, lease_expires_at = null
    where id = $1 and state = 'delivering' and lease_owner = $2`,
);
const attemptRow = statement(
  'webhook_attempts.insert',
  `insert into webhook_attempts (delivery_id, attempt, attempted_at, status_code, latency_ms, error, request_id)
   values ($1, $2, $3, $4, $5, $6, $7)`,
);

export async function recordAttempt(tx: Tx, owner: string, attempt: WebhookAttemptTable, outcome: AttemptOutcome): Promise<boolean> {
  const moved = await tx.run(moveOn, [
    attempt.delivery_id,
    owner,
    outcome.state,
    outcome.state === 'delivered' ? outcome.delivered_at : null,
    outcome.state === 'pending' ? outcome.next_attempt_at : null,
    attempt.attempt,
  ]);
  if (moved !== 1) return false;
  const recorded = tx.run(attemptRow, [
    attempt.delivery_id,
    attempt.attempt,
    attempt.attempted_at,
    attempt.status_code,
    attempt.latency_ms,
    attempt.error,
    attempt.request_id,
  ]);
  tx.commitWithLast();
  await recorded;
  return true;
}

const release = statement(
  'webhook_deliveries.release',
  "update webhook_deliveries set state = 'pending', lease_owner = null, lease_expires_at = null where id = $1 and state = 'delivering' and lease_owner = $2",
);

/** Graceful shutdown: hands a delivery back at once instead of waiting for its lease to expire. */
export async function releaseDelivery(tx: Sql, id: number, owner: string): Promise<void> {
  await tx.run(release, [id, owner]);
}

/** The operator puts a dead delivery (or a pending one, sooner) back in line, due now. */
export async function requeueDelivery({ db }: Tx, id: number, now: string): Promise<WebhookDelivery | undefined> {
  return db
    .updateTable('webhook_deliveries')
    .set({ state: 'pending', next_attempt_at: now })
    .where('id', '=', id)
    .where('state', 'in', ['dead', 'pending'])
    .returningAll()
    .executeTakeFirst();
}

export async function findDelivery({ db }: Store, id: number): Promise<WebhookDelivery | undefined> {
  return db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A transaction's deliveries, oldest first, each with its attempts; undefined for an unknown transaction. */
export async function deliveriesOfTransaction(
  { db }: Store,
  uid: string,
): Promise<{ delivery: WebhookDelivery; attempts: WebhookAttemptTable[] }[] | undefined> {
  const transaction = await db.selectFrom('transactions').select('uid').where('uid', '=', uid).executeTakeFirst();
  if (!transaction) return undefined;
  const deliveries = await db.selectFrom('webhook_deliveries').selectAll().where('transaction_uid', '=', uid).orderBy('id').execute();
  if (deliveries.length === 0) return [];
  const attempts = await db
    .selectFrom('webhook_attempts')
    .selectAll()
    .where(
      'delivery_id',
      'in',
      deliveries.map((d) => d.id),
    )
    .orderBy('delivery_id')
    .orderBy('attempt')
    .execute();
  return deliveries.map((delivery) => ({ delivery, attempts: attempts.filter((a) => Number(a.delivery_id) === Number(delivery.id)) }));
}

/** Deliveries not yet delivered, by state (metrics). */
export async function deliveryBacklog({ db }: Store): Promise<{ state: string; count: number }[]> {
  const rows = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => ['state', eb.fn.countAll<number>().as('count')])
    .where('state', 'in', ['pending', 'delivering', 'dead'])
    .groupBy('state')
    .execute();
  return rows.map((row) => ({ state: row.state, count: Number(row.count) }));
}

/**
 * Retention: removes up to `limit` finished deliveries (delivered, or dead after the last retry) created
 * before `before`, with their attempts, in one commit; answers how many deliveries went. Pending and
 * leased deliveries are never touched, whatever their age.
 */
export async function purgeFinishedDeliveries({ db: trx }: Tx, before: string, limit: number): Promise<number> {
  const ids = (
    await trx
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('state', 'in', ['delivered', 'dead'])
      .where('created_at', '<', before)
      .limit(limit)
      .execute()
  ).map((row) => row.id);
  if (ids.length === 0) return 0;
  await trx.deleteFrom('webhook_attempts').where('delivery_id', 'in', ids).execute();
  await trx.deleteFrom('webhook_deliveries').where('id', 'in', ids).execute();
  return ids.length;
}

/**
 * Renotify's two questions, asked under the transaction's lock: is a delivery with these very bytes
 * still waiting for its first attempt (then a renotify adds nothing), and how many renotify deliveries
 * were queued since `since` (with the oldest's time, which says when the cap lets the next one through).
 */
export async function queuedDeliveryWithPayload({ db }: Tx, transactionUid: string, payload: string): Promise<boolean> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('transaction_uid', '=', transactionUid)
    .where('state', '=', 'pending')
    .where('attempts', '=', 0)
    .where('payload', '=', payload)
    .executeTakeFirst();
  return row !== undefined;
}

export async function recentRenotifies({ db }: Tx, transactionUid: string, since: string): Promise<{ count: number; oldest: string | null }> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => [eb.fn.countAll<number>().as('count'), eb.fn.min<string>('created_at').as('oldest')])
    .where('transaction_uid', '=', transactionUid)
    .where('renotify', '=', 1)
    .where('created_at', '>', since)
    .executeTakeFirstOrThrow();
  return { count: Number(row.count), oldest: row.oldest ?? null };
}
