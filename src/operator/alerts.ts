import type { Store } from '../store/db.js';
import { listShopAlerts } from '../store/alerts.js';

/** What the operator is shown at GET /admin/alerts: the newest alerts first, one shop's or every shop's. */
export async function shopAlerts(store: Store, shopId: number | undefined, limit = 100) {
  const alerts = await listShopAlerts(store, shopId, limit);
  return alerts.map((a) => ({
    id: Number(a.id),
    shop_id: Number(a.shop_id),
    kind: a.kind,
    refused: Number(a.refused),
    first_at: a.first_at,
    last_at: a.last_at,
  }));
}
