import type { Selectable } from 'kysely';
import type { Store } from './db.js';
import type { ShopAlertTable } from './schema.js';
import type { Tx } from './sql.js';

/** Named statements on shop_alerts: what the operator is shown at GET /admin/alerts. */

/**
 * One refusal of a kind for a shop: counted into the shop's alert of that kind still open (its last
 * refusal within `burstMs`), or a new alert. Two processes racing may open two alerts of one burst; the
 * operator sees both, nothing is lost. Two statements with Kysely: `store.transaction`.
 */
export async function recordShopAlert({ db: trx }: Tx, shopId: number, kind: string, now: Date, burstMs: number): Promise<void> {
  const at = now.toISOString();
  const counted = await trx
    .updateTable('shop_alerts')
    .set((eb) => ({ refused: eb('refused', '+', 1), last_at: at }))
    .where('shop_id', '=', shopId)
    .where('kind', '=', kind)
    .where('last_at', '>=', new Date(now.getTime() - burstMs).toISOString())
    .executeTakeFirst();
  if (Number(counted.numUpdatedRows) > 0) return;
  await trx.insertInto('shop_alerts').values({ shop_id: shopId, kind, refused: 1, first_at: at, last_at: at }).execute();
}

/** Newest first; one shop's, or every shop's. */
export async function listShopAlerts({ db }: Store, shopId: number | undefined, limit: number): Promise<Selectable<ShopAlertTable>[]> {
  let query = db.selectFrom('shop_alerts').selectAll().orderBy('last_at', 'desc').orderBy('id', 'desc').limit(limit);
  if (shopId !== undefined) query = query.where('shop_id', '=', shopId);
  return query.execute();
}
