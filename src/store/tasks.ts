import { type Kysely, sql } from 'kysely';
import type { Store } from './db.js';
import type { AsyncTaskTable, Database } from './schema.js';

/**
 * The async task table is the queue (DESIGN.md). A task is `queued` until a worker claims it, `running`
 * while a worker holds its lease, `done` once its result (status code and body) is stored. Requests are
 * sealed by the vault and erased once processed.
 */

/** The task holding a submit's key: the new one, or an earlier one, with the request its key stands for. */
export interface KeyHolder {
  id: string;
  request_hash: string | null;
}

/**
 * Inserts tasks in one statement (a group commit's batch, committed by the statement itself); answers,
 * per task, the task that holds its key: the new one, or an earlier one (a retried submit with the same
 * RequestID, also when both are in this batch).
 */
export async function insertTasks(db: Kysely<Database>, tasks: AsyncTaskTable[]): Promise<KeyHolder[]> {
  const keyOf = (task: { shop_id: number; idempotency_key: string }) => `${task.shop_id}:${task.idempotency_key}`;
  const inserted = await db
    .insertInto('async_tasks')
    .values(tasks)
    .onConflict((oc) => oc.columns(['shop_id', 'idempotency_key']).doNothing())
    .returning(['id', 'shop_id', 'idempotency_key', 'request_hash'])
    .execute();
  const holder = new Map<string, KeyHolder>(inserted.map((row) => [keyOf(row), { id: row.id, request_hash: row.request_hash }]));
  for (const task of tasks) {
    if (holder.has(keyOf(task))) continue;
    const earlier = await db
      .selectFrom('async_tasks')
      .select(['id', 'request_hash'])
      .where('shop_id', '=', task.shop_id)
      .where('idempotency_key', '=', task.idempotency_key)
      .executeTakeFirstOrThrow();
    holder.set(keyOf(task), earlier);
  }
  return tasks.map((task) => holder.get(keyOf(task))!);
}

/**
 * Claims up to `limit` tasks for `owner`: queued ones, and running ones whose lease expired (their worker
 * died). PostgreSQL: `FOR UPDATE SKIP LOCKED` lets many processes claim at once without waiting on each
 * other or taking the same row. SQLite: one writer, so the update is the claim.
 */
export async function claimTasks(store: Store, owner: string, now: string, leaseUntil: string, limit: number): Promise<AsyncTaskTable[]> {
  const lock = store.dialect === 'postgres' ? sql`for update skip locked` : sql``;
  const result = await sql<AsyncTaskTable>`
    update async_tasks
       set state = 'running', lease_owner = ${owner}, lease_expires_at = ${leaseUntil},
           attempts = attempts + 1, started_at = coalesce(started_at, ${now})
     where id in (
       select id from async_tasks
        where state = 'queued' or (state = 'running' and lease_expires_at < ${now})
        order by created_at
        limit ${limit}
        ${lock})
    returning *`.execute(store.db);
  return result.rows;
}

/** Stores the result and erases the request (card data, CVC). Only the lease holder may complete. */
export async function completeTask(
  db: Kysely<Database>,
  id: string,
  owner: string,
  result: { status_code: number; response: string; completed_at: string },
): Promise<boolean> {
  const updated = await db
    .updateTable('async_tasks')
    .set({ ...result, state: 'done', request_enc: null, lease_owner: null, lease_expires_at: null })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) === 1;
}

/** Extends the lease of a task this owner is still working on; false when the lease was lost. */
export async function renewTaskLease(db: Kysely<Database>, id: string, owner: string, leaseUntil: string): Promise<boolean> {
  const updated = await db
    .updateTable('async_tasks')
    .set({ lease_expires_at: leaseUntil })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) === 1;
}

/** Graceful shutdown: hands a task back to the queue at once instead of waiting for its lease to expire. */
export async function releaseTask(db: Kysely<Database>, id: string, owner: string): Promise<void> {
  await db
    .updateTable('async_tasks')
    .set({ state: 'queued', lease_owner: null, lease_expires_at: null })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .where('lease_owner', '=', owner)
    .execute();
}

/** A task's state alone (status polls): the row's sealed request and stored response stay unread. */
export async function findTaskState(db: Kysely<Database>, shopId: number, id: string, createdAfter: string): Promise<{ state: string } | undefined> {
  return db
    .selectFrom('async_tasks')
    .select('state')
    .where('id', '=', id)
    .where('shop_id', '=', shopId)
    .where('created_at', '>', createdAfter)
    .executeTakeFirst();
}

export async function findTask(db: Kysely<Database>, shopId: number, id: string, createdAfter: string): Promise<AsyncTaskTable | undefined> {
  return db
    .selectFrom('async_tasks')
    .selectAll()
    .where('id', '=', id)
    .where('shop_id', '=', shopId)
    .where('created_at', '>', createdAfter)
    .executeTakeFirst();
}

/**
 * Takes a non-200 result: the delete is the read, so among racing readers exactly one gets the row.
 */
export async function takeOnceResult(db: Kysely<Database>, shopId: number, id: string): Promise<AsyncTaskTable | undefined> {
  return db
    .deleteFrom('async_tasks')
    .where('id', '=', id)
    .where('shop_id', '=', shopId)
    .where('state', '=', 'done')
    .where('status_code', '!=', 200)
    .returningAll()
    .executeTakeFirst();
}

/** Physically removes finished tasks older than the retention; answers how many, by operation. */
export async function purgeExpiredTasks(db: Kysely<Database>, createdBefore: string): Promise<{ operation: string; count: number }[]> {
  const purged = await db
    .deleteFrom('async_tasks')
    .where('state', '=', 'done')
    .where('created_at', '<=', createdBefore)
    .returning('operation')
    .execute();
  const counts = new Map<string, number>();
  for (const { operation } of purged) counts.set(operation, (counts.get(operation) ?? 0) + 1);
  return [...counts].map(([operation, count]) => ({ operation, count }));
}

/**
 * The states of an unfinished task, spelled out rather than `state != 'done'`, so the claim index
 * (state, created_at) serves the count instead of a scan over every retained result.
 */
const UNFINISHED = ['queued', 'running'];

/** Unfinished tasks in all and for one shop (back-pressure). */
export async function countUnfinished(db: Kysely<Database>, shopId: number): Promise<{ total: number; shop: number }> {
  const row = await db
    .selectFrom('async_tasks')
    .select((eb) => [
      eb.fn.countAll<number>().as('total'),
      eb.fn.sum<number>(eb.case().when('shop_id', '=', shopId).then(1).else(0).end()).as('shop'),
    ])
    .where('state', 'in', UNFINISHED)
    .executeTakeFirstOrThrow();
  return { total: Number(row.total), shop: Number(row.shop ?? 0) };
}

/** Queue depth and the oldest unfinished task, by operation (metrics). */
export async function queueStats(db: Kysely<Database>): Promise<{ operation: string; state: string; depth: number; oldest: string | null }[]> {
  const rows = await db
    .selectFrom('async_tasks')
    .select((eb) => ['operation', 'state', eb.fn.countAll<number>().as('depth'), eb.fn.min('created_at').as('oldest')])
    .where('state', 'in', UNFINISHED)
    .groupBy(['operation', 'state'])
    .execute();
  return rows.map((row) => ({ operation: row.operation, state: row.state, depth: Number(row.depth), oldest: row.oldest as string | null }));
}
