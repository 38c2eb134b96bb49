import type { Kysely } from 'kysely';
import type { Database, IdempotencyKeyTable } from './schema.js';
import { type Sql, statement } from './sql.js';

/** `RequestID` / `Idempotency-Key` records, one per shop and key. */

/** Claims a key; answers undefined when this call made the record, or the existing record. */
export async function claimIdempotencyKey(
  db: Kysely<Database>,
  record: { shop_id: number; key: string; body_hash: string; claim_token: string; created_at: string },
): Promise<IdempotencyKeyTable | undefined> {
  const inserted = await db
    .insertInto('idempotency_keys')
    .values({ ...record, transaction_uid: null, status_code: null, response: null })
    .onConflict((oc) => oc.columns(['shop_id', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst();
  if (inserted) return undefined;
  return db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('shop_id', '=', record.shop_id)
    .where('key', '=', record.key)
    .executeTakeFirstOrThrow();
}

/**
 * Takes over a record that is expired (older than the retention) or abandoned (no transaction, no
 * response, claimed before `abandonedBefore`: its process died before transaction A). Compare-and-set on
 * `created_at` so two retries cannot both take it over.
 */
export async function takeOverIdempotencyKey(
  db: Kysely<Database>,
  previous: IdempotencyKeyTable,
  record: { body_hash: string; claim_token: string; created_at: string },
): Promise<boolean> {
  const result = await db
    .updateTable('idempotency_keys')
    .set({ ...record, transaction_uid: null, status_code: null, response: null })
    .where('shop_id', '=', previous.shop_id)
    .where('key', '=', previous.key)
    .where('created_at', '=', previous.created_at)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
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

export async function completeIdempotencyKey(
  db: Kysely<Database>,
  shopId: number,
  key: string,
  claimToken: string,
  statusCode: number,
  response: string | null,
): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ status_code: statusCode, response })
    .where('shop_id', '=', shopId)
    .where('key', '=', key)
    .where('claim_token', '=', claimToken)
    .execute();
}

/** Frees a key that names no transaction: the holder's own claim, or (no token) a dead attempt's. */
export async function releaseIdempotencyKey(db: Kysely<Database>, shopId: number, key: string, claimToken?: string): Promise<void> {
  let query = db.deleteFrom('idempotency_keys').where('shop_id', '=', shopId).where('key', '=', key).where('transaction_uid', 'is', null);
  if (claimToken !== undefined) query = query.where('claim_token', '=', claimToken);
  await query.execute();
}
