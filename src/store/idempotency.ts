import type { IdempotencyKeyTable } from './schema.js';
import { type Sql, statement } from './sql.js';

/** `RequestID` / `Idempotency-Key` records, one per shop and key. */

const claimKey = statement(
  'idempotency_keys.claim',
  `insert into idempotency_keys (shop_id, key, body_hash, claim_token, created_at, transaction_uid, status_code, response)
   values ($1, $2, $3, $4, $5, null, null, null)
   on conflict (shop_id, key) do nothing`,
);
const byKey = statement('idempotency_keys.find', 'select * from idempotency_keys where shop_id = $1 and key = $2');

/** Claims a key; answers undefined when this call made the record, or the existing record. */
export async function claimIdempotencyKey(
  tx: Sql,
  record: { shop_id: number; key: string; body_hash: string; claim_token: string; created_at: string },
): Promise<IdempotencyKeyTable | undefined> {
  const inserted = await tx.run(claimKey, [record.shop_id, record.key, record.body_hash, record.claim_token, record.created_at]);
  if (inserted === 1) return undefined;
  return tx.one<IdempotencyKeyTable>(byKey, [record.shop_id, record.key]);
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
  return (await tx.run(takeOver, [previous.shop_id, previous.key, previous.created_at, record.body_hash, record.claim_token, record.created_at])) === 1;
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

export async function completeIdempotencyKey(tx: Sql, shopId: number, key: string, claimToken: string, statusCode: number, response: string | null): Promise<void> {
  await tx.run(complete, [shopId, key, claimToken, statusCode, response]);
}

const releaseOwn = statement('idempotency_keys.release', 'delete from idempotency_keys where shop_id = $1 and key = $2 and transaction_uid is null and claim_token = $3');
const releaseAny = statement('idempotency_keys.release_dead', 'delete from idempotency_keys where shop_id = $1 and key = $2 and transaction_uid is null');

/** Frees a key that names no transaction: the holder's own claim, or (no token) a dead attempt's. */
export async function releaseIdempotencyKey(tx: Sql, shopId: number, key: string, claimToken?: string): Promise<void> {
  if (claimToken === undefined) await tx.run(releaseAny, [shopId, key]);
  else await tx.run(releaseOwn, [shopId, key, claimToken]);
}
