import type { VaultSecretTable } from './schema.js';
import { type Sql, statement } from './sql.js';

/** The vault's own secrets (the HMAC key of card stamps and shop secrets), each sealed under a master key. */

const byName = statement('vault_secrets.find', 'select * from vault_secrets where name = $1');
const insertOnce = statement(
  'vault_secrets.insert',
  'insert into vault_secrets (name, key_id, ciphertext) values ($1, $2, $3) on conflict (name) do nothing',
);

export function findVaultSecret(db: Sql, name: string): Promise<VaultSecretTable | undefined> {
  return db.one<VaultSecretTable>(byName, [name]);
}

/**
 * Stores a secret unless one of that name exists. Two processes starting at once on an empty store both
 * try: the first insert wins, the other's does nothing, and both read the winner's secret back.
 */
export async function insertVaultSecretOnce(tx: Sql, secret: VaultSecretTable): Promise<void> {
  await tx.run(insertOnce, [secret.name, secret.key_id, secret.ciphertext]);
}
