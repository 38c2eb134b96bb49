import type { Shop } from '../domain/shop.js';
import type { Store } from './db.js';
import type { ShopTable } from './schema.js';
import { type Sql, statement, type Tx } from './sql.js';

export function shopOf(row: ShopTable): Shop {
  return {
    id: Number(row.id),
    name: row.name,
    test: row.test === 1,
    threeDSecure: row.three_d_secure === 1,
    publicKey: row.public_key,
    acquirer: row.acquirer,
    acquirerSettings: JSON.parse(row.acquirer_settings),
    riskRules: JSON.parse(row.risk_rules),
    returnHosts: row.return_hosts === null ? null : JSON.parse(row.return_hosts),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const byId = statement('shops.find', 'select * from shops where id = $1');

export async function findShopRow(db: Sql, id: number): Promise<ShopTable | undefined> {
  return db.one<ShopTable>(byId, [id]);
}

/** The columns of a shop that can change (all but its keys): read on every Basic-auth check. */
const changeable = [
  'secret_hash',
  'name',
  'test',
  'three_d_secure',
  'acquirer',
  'acquirer_settings',
  'risk_rules',
  'return_hosts',
  'updated_at',
] as const;

const versionOf = statement('shops.version', `select ${changeable.join(', ')} from shops where id = $1`);

/** A shop's changeable columns as one string: equal strings, same shop. */
export async function findShopVersion(db: Sql, id: number): Promise<string | undefined> {
  const row = await db.one<Pick<ShopTable, (typeof changeable)[number]>>(versionOf, [id]);
  return row && shopVersion(row);
}

export function shopVersion(row: Pick<ShopTable, (typeof changeable)[number]>): string {
  return JSON.stringify(changeable.map((column) => row[column]));
}

export async function listShopRows({ db }: Store): Promise<ShopTable[]> {
  return db.selectFrom('shops').selectAll().orderBy('id').execute();
}

export async function insertShop({ db }: Tx, row: ShopTable): Promise<boolean> {
  const inserted = await db
    .insertInto('shops')
    .values(row)
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function updateShop({ db }: Tx, id: number, changes: Partial<ShopTable>): Promise<ShopTable | undefined> {
  return db.updateTable('shops').set(changes).where('id', '=', id).returningAll().executeTakeFirst();
}
