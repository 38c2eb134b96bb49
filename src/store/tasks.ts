import type { Store } from './db.js';
import type { AsyncTaskTable } from './schema.js';
import { type Sql, statement, type Tx } from './sql.js';

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

const insertBatch = statement('async_tasks.insert', {
  // One statement for any number of tasks: the batch arrives as one array per column (PostgreSQL) or as
  // one JSON array of rows (SQLite), so the text never depends on the batch's size.
  postgres: `insert into async_tasks (id, shop_id, operation, request_enc, idempotency_key, request_hash, state, attempts, created_at)
             select id, shop_id, operation, request_enc, idempotency_key, request_hash, 'queued', 0, created_at
               from unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
                 as batch (id, shop_id, operation, request_enc, idempotency_key, request_hash, created_at)
             on conflict (shop_id, idempotency_key) do nothing
             returning id, shop_id, idempotency_key, request_hash`,
  sqlite: `insert into async_tasks (id, shop_id, operation, request_enc, idempotency_key, request_hash, state, attempts, created_at)
           select value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, 'queued', 0, value ->> 6
             from json_each($1) where true
           on conflict (shop_id, idempotency_key) do nothing
           returning id, shop_id, idempotency_key, request_hash`,
});
const holderOfKey = statement('async_tasks.holder_of_key', 'select id, request_hash from async_tasks where shop_id = $1 and idempotency_key = $2');

/**
 * Inserts tasks in one statement (a group commit's batch, committed by the statement itself); answers,
 * per task, the task that holds its key: the new one, or an earlier one (a retried submit with the same
 * RequestID, also when both are in this batch).
 */
export async function insertTasks(tx: Tx, tasks: AsyncTaskTable[]): Promise<KeyHolder[]> {
  const keyOf = (task: { shop_id: number; idempotency_key: string }) => `${task.shop_id}:${task.idempotency_key}`;
  const columns = (task: AsyncTaskTable) => [
    task.id,
    task.shop_id,
    task.operation,
    task.request_enc,
    task.idempotency_key,
    task.request_hash,
    task.created_at,
  ];
  const params =
    tx.dialect === 'postgres'
      ? [0, 1, 2, 3, 4, 5, 6].map((column) => tasks.map((task) => columns(task)[column]))
      : [JSON.stringify(tasks.map(columns))];
  const inserted = await tx.all<KeyHolder & { shop_id: number; idempotency_key: string }>(insertBatch, params);
  const holder = new Map<string, KeyHolder>(
    inserted.map((row) => [
      keyOf({ shop_id: Number(row.shop_id), idempotency_key: row.idempotency_key }),
      { id: row.id, request_hash: row.request_hash },
    ]),
  );
  for (const task of tasks) {
    if (holder.has(keyOf(task))) continue;
    const earlier = await tx.one<KeyHolder>(holderOfKey, [task.shop_id, task.idempotency_key]);
    holder.set(keyOf(task), earlier!);
  }
  return tasks.map((task) => holder.get(keyOf(task))!);
}

/**
 * Claims up to `limit` tasks for `owner`: queued ones, and running ones whose lease expired (their worker
 * died). PostgreSQL: `FOR UPDATE SKIP LOCKED` lets many processes claim at once without waiting on each
 * other or taking the same row. SQLite: one writer, so the update is the claim.
 */
const CLAIM = (lock: string) => `
  update async_tasks
     set state = 'running', lease_owner = $1, lease_expires_at = $3, attempts = attempts + 1, started_at = coalesce(started_at, $2)
   where id in (
     select id from async_tasks
      where state = 'queued' or (state = 'running' and lease_expires_at < $2)
      order by created_at
      limit $4
      ${lock})
  returning *`;
const claim = statement('async_tasks.claim', { postgres: CLAIM('for update skip locked'), sqlite: CLAIM('') });

export function claimTasks(tx: Tx, owner: string, now: string, leaseUntil: string, limit: number): Promise<AsyncTaskTable[]> {
  return tx.all<AsyncTaskTable>(claim, [owner, now, leaseUntil, limit]);
}

const complete = statement(
  'async_tasks.complete',
  `update async_tasks
      set status_code = $3, response = $4, completed_at = $5, state = 'done', request_enc = null, lease_owner = null, lease_expires_at = null
    where id = $1 and state = 'running' and lease_owner = $2`,
);

/** Stores the result and erases the request (card data, CVC). Only the lease holder may complete. */
export async function completeTask(
  tx: Sql,
  id: string,
  owner: string,
  result: { status_code: number; response: string; completed_at: string },
): Promise<boolean> {
  return (await tx.run(complete, [id, owner, result.status_code, result.response, result.completed_at])) === 1;
}

const renew = statement('async_tasks.renew', "update async_tasks set lease_expires_at = $3 where id = $1 and state = 'running' and lease_owner = $2");

/** Extends the lease of a task this owner is still working on; false when the lease was lost. */
export async function renewTaskLease(tx: Sql, id: string, owner: string, leaseUntil: string): Promise<boolean> {
  return (await tx.run(renew, [id, owner, leaseUntil])) === 1;
}

const release = statement(
  'async_tasks.release',
  "update async_tasks set state = 'queued', lease_owner = null, lease_expires_at = null where id = $1 and state = 'running' and lease_owner = $2",
);

/** Graceful shutdown: hands a task back to the queue at once instead of waiting for its lease to expire. */
export async function releaseTask(tx: Sql, id: string, owner: string): Promise<void> {
  await tx.run(release, [id, owner]);
}

const defer = statement(
  'async_tasks.defer',
  "update async_tasks set lease_owner = null, lease_expires_at = $3 where id = $1 and state = 'running' and lease_owner = $2",
);

/**
 * Hands a task back to be claimed again from `visibleAt`, freeing its worker slot meanwhile: the claim
 * takes a running task once its lease has ended, so the lease's end is the time it becomes visible. No
 * owner from then on, so a heartbeat of the attempt that let it go cannot extend it.
 */
export async function deferTask(tx: Sql, id: string, owner: string, visibleAt: string): Promise<boolean> {
  return (await tx.run(defer, [id, owner, visibleAt])) === 1;
}

const stateOf = statement('async_tasks.state', 'select state from async_tasks where id = $1 and shop_id = $2 and created_at > $3');
const byId = statement('async_tasks.find', 'select * from async_tasks where id = $1 and shop_id = $2 and created_at > $3');

/** A task's state alone (status polls): the row's sealed request and stored response stay unread. */
export function findTaskState(db: Sql, shopId: number, id: string, createdAfter: string): Promise<{ state: string } | undefined> {
  return db.one<{ state: string }>(stateOf, [id, shopId, createdAfter]);
}

export function findTask(db: Sql, shopId: number, id: string, createdAfter: string): Promise<AsyncTaskTable | undefined> {
  return db.one<AsyncTaskTable>(byId, [id, shopId, createdAfter]);
}

const takeOnce = statement(
  'async_tasks.take_once',
  "delete from async_tasks where id = $1 and shop_id = $2 and state = 'done' and status_code <> 200 returning *",
);

/**
 * Takes a non-200 result: the delete is the read, so among racing readers exactly one gets the row.
 */
export function takeOnceResult(tx: Sql, shopId: number, id: string): Promise<AsyncTaskTable | undefined> {
  return tx.one<AsyncTaskTable>(takeOnce, [id, shopId]);
}

/** Physically removes finished tasks older than the retention; answers how many, by operation. */
export async function purgeExpiredTasks({ db }: Tx, createdBefore: string): Promise<{ operation: string; count: number }[]> {
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
export async function countUnfinished({ db }: Store, shopId: number): Promise<{ total: number; shop: number }> {
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
export async function queueStats({ db }: Store): Promise<{ operation: string; state: string; depth: number; oldest: string | null }[]> {
  const rows = await db
    .selectFrom('async_tasks')
    .select((eb) => ['operation', 'state', eb.fn.countAll<number>().as('depth'), eb.fn.min('created_at').as('oldest')])
    .where('state', 'in', UNFINISHED)
    .groupBy(['operation', 'state'])
    .execute();
  return rows.map((row) => ({ operation: row.operation, state: row.state, depth: Number(row.depth), oldest: row.oldest as string | null }));
}
