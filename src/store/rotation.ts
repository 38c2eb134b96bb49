import type { VaultSecretTable } from './schema.js';
import { type Sql, statement } from './sql.js';

/**
 * Re-sealing under the current master key (`ecomgate vault rotate`, src/vault/vault.ts): per table, the
 * rows sealed under another key, and a compare-and-set rewrite of one row.
 *
 * The stale rows are read outside a transaction and rewritten in one; each rewrite applies only if the row
 * still holds the ciphertext that was read, so a row changed meanwhile (a worker finishing a task erases
 * its request, an operator rotating in another process) is left alone and answered false: the next batch
 * reads it again if it is still stale. No lock is taken, and none is needed.
 */

const staleCardsRows = statement('cards.stale_seal', 'select token, pan_enc from cards where key_id <> $1 limit $2');
const resealCardRow = statement('cards.reseal', 'update cards set pan_enc = $3, key_id = $4 where token = $1 and pan_enc = $2');

/** Cards whose number is sealed under a key other than `keyId`. */
export function staleCards(db: Sql, keyId: string, limit: number): Promise<{ token: string; pan_enc: string }[]> {
  return db.all(staleCardsRows, [keyId, limit]);
}

export async function resealCard(tx: Sql, token: string, sealed: { before: string; after: string; keyId: string }): Promise<boolean> {
  return (await tx.run(resealCardRow, [token, sealed.before, sealed.after, sealed.keyId])) === 1;
}

// A shop's two sealed values have no key id column to select stale ones by: every shop is read (few rows).
const shopSealsRows = statement('shops.seals', 'select id, secret_enc, private_key_enc from shops');
const resealShopRow = statement('shops.reseal', 'update shops set secret_enc = $3, private_key_enc = $4 where id = $1 and secret_enc = $2');

export function listShopSeals(db: Sql): Promise<{ id: number; secret_enc: string; private_key_enc: string }[]> {
  return db.all(shopSealsRows);
}

/** Both sealed values of a shop at once, if its secret is still the one read. */
export async function resealShop(
  tx: Sql,
  id: number,
  sealed: { secretBefore: string; secretAfter: string; privateKeyAfter: string },
): Promise<boolean> {
  return (await tx.run(resealShopRow, [id, sealed.secretBefore, sealed.secretAfter, sealed.privateKeyAfter])) === 1;
}

const staleSecretsRows = statement('vault_secrets.stale_seal', 'select * from vault_secrets where key_id <> $1 limit $2');
const resealSecretRow = statement(
  'vault_secrets.reseal',
  'update vault_secrets set ciphertext = $3, key_id = $4 where name = $1 and ciphertext = $2',
);

export function staleVaultSecrets(db: Sql, keyId: string, limit: number): Promise<VaultSecretTable[]> {
  return db.all<VaultSecretTable>(staleSecretsRows, [keyId, limit]);
}

export async function resealVaultSecret(tx: Sql, name: string, sealed: { before: string; after: string; keyId: string }): Promise<boolean> {
  return (await tx.run(resealSecretRow, [name, sealed.before, sealed.after, sealed.keyId])) === 1;
}

/**
 * Async tasks still holding their sealed request (a card number and CVC until processed). The key id is
 * the sealed value's first part (8 hex digits: nothing a LIKE pattern would read as a wildcard).
 */
const staleTasksRows = statement(
  'async_tasks.stale_seal',
  `select id, request_enc from async_tasks where request_enc is not null and request_enc not like $1 limit $2`,
);
const resealTaskRow = statement('async_tasks.reseal', 'update async_tasks set request_enc = $3 where id = $1 and request_enc = $2');

export function staleTaskRequests(db: Sql, keyId: string, limit: number): Promise<{ id: string; request_enc: string }[]> {
  return db.all(staleTasksRows, [`${keyId}.%`, limit]);
}

export async function resealTaskRequest(tx: Sql, id: string, sealed: { before: string; after: string }): Promise<boolean> {
  return (await tx.run(resealTaskRow, [id, sealed.before, sealed.after])) === 1;
}
