import type { IdempotencyKeyTable } from './schema.js';
import { type Sql, statement, type Tx } from './sql.js';

/** `RequestID` / `Idempotency-Key` records, one per shop and key. */

const claimKey = statement(
  'idempotency_keys.claim',
  `insert into idempotency_keys (shop_id, key, body_hash, claim_token, created_at, transaction_uid, status_code, response)
   values ($1, $2, $3, $4, $5, null, null, null)
   on conflict (shop_id, key) do nothing`,
);
const byKey = statement('idempotency_keys.find', 'select * from idempotency_keys where shop_id = $1 and key = $2');

/**
 * PostgreSQL: the claim and, when the key was taken already, the record that holds it, in one statement
 * (run by `store.write`, it shares a batch whose COMMIT leaves with it). The record is read in
 * the statement's snapshot: one committed after it began (the insert waited for it) is not in it.
 */
const claimOrFind = statement(
  'idempotency_keys.claim_or_find',
  `with inserted as (
     insert into idempotency_keys (shop_id, key, body_hash, claim_token, created_at, transaction_uid, status_code, response)
     values ($1, $2, $3, $4, $5, null, null, null)
     on conflict (shop_id, key) do nothing
     returning key
   )
   select exists (select 1 from inserted) as created,
          (select row_to_json(held) from idempotency_keys held where held.shop_id = $1 and held.key = $2) as held`,
);

/**
 * The claim of a key: `created` when this call made the record, else the record that holds the key. On
 * PostgreSQL the holder may be missing (`held` undefined): it committed after the statement's snapshot,
 * and a read on `store.sql` finds it. One statement on PostgreSQL (run it with `store.write`); on SQLite,
 * where `store.write` is a transaction, the holder is read by a second statement in the same one.
 */
export type KeyClaim = { created: true } | { created: false; held: IdempotencyKeyTable | undefined };

export async function claimIdempotencyKey(
  tx: Tx,
  record: { shop_id: number; key: string; body_hash: string; claim_token: string; created_at: string },
): Promise<KeyClaim> {
  const params = [record.shop_id, record.key, record.body_hash, record.claim_token, record.created_at];
  if (tx.dialect === 'sqlite') {
    if ((await tx.run(claimKey, params)) === 1) return { created: true };
    return { created: false, held: await tx.one<IdempotencyKeyTable>(byKey, [record.shop_id, record.key]) };
  }
  const answer = (await tx.one<{ created: boolean; held: IdempotencyKeyTable | null }>(claimOrFind, params))!;
  return answer.created ? { created: true } : { created: false, held: answer.held ?? undefined };
}

/** The record of a key, if any. */
export function findIdempotencyKey(db: Sql, shopId: number, key: string): Promise<IdempotencyKeyTable | undefined> {
  return db.one<IdempotencyKeyTable>(byKey, [shopId, key]);
}

const takeOver = statement(
  'idempotency_keys.take_over',
  `update idempotency_keys set body_hash = $4, claim_token = $5, created_at = $6, transaction_uid = null, status_code = null, response = null
    where shop_id = $1 and key = $2 and created_at = $3`,
);

/**
 * Takes over a record that is expired (older than the retention) or abandoned (no transaction, no
 * response, claimed before `abandonedBefore`: its process died before transaction A). Compare-and-set on
 * `created_at` so two retries cannot both take it over.
 */
export async function takeOverIdempotencyKey(
  tx: Sql,
  previous: IdempotencyKeyTable,
  record: { body_hash: string; claim_token: string; created_at: string },
): Promise<boolean> {
  return (
    (await tx.run(takeOver, [previous.shop_id, previous.key, previous.created_at, record.body_hash, record.claim_token, record.created_at])) === 1
  );
}

/**
 * Inside transaction A: the key now names the transaction it created. Only the attempt holding the
 * current claim token links, and only once: answers false when the claim was lost (an attempt that
 * outlived its lease and was taken over), and A must then roll back rather than create a second charge.
 */
const link = statement(
  'idempotency_keys.link',
  'update idempotency_keys set transaction_uid = $4 where shop_id = $1 and key = $2 and claim_token = $3 and transaction_uid is null',
);

export async function linkIdempotencyKey(tx: Sql, shopId: number, key: string, claimToken: string, transactionUid: string): Promise<boolean> {
  return (await tx.run(link, [shopId, key, claimToken, transactionUid])) === 1;
}

const complete = statement(
  'idempotency_keys.complete',
  'update idempotency_keys set status_code = $4, response = $5 where shop_id = $1 and key = $2 and claim_token = $3',
);

export async function completeIdempotencyKey(
  tx: Sql,
  shopId: number,
  key: string,
  claimToken: string,
  statusCode: number,
  response: string | null,
): Promise<void> {
  await tx.run(complete, [shopId, key, claimToken, statusCode, response]);
}

const releaseOwn = statement(
  'idempotency_keys.release',
  'delete from idempotency_keys where shop_id = $1 and key = $2 and transaction_uid is null and claim_token = $3',
);
const releaseAny = statement(
  'idempotency_keys.release_dead',
  'delete from idempotency_keys where shop_id = $1 and key = $2 and transaction_uid is null',
);

/** Frees a key that names no transaction: the holder's own claim, or (no token) a dead attempt's. */
export async function releaseIdempotencyKey(tx: Sql, shopId: number, key: string, claimToken?: string): Promise<void> {
  if (claimToken === undefined) await tx.run(releaseAny, [shopId, key]);
  else await tx.run(releaseOwn, [shopId, key, claimToken]);
}
