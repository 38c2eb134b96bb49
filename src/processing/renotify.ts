import { recordNotFound, validationError } from '../domain/errors.js';
import type { Shop } from '../domain/shop.js';
import { findTransaction } from '../store/transactions.js';
import type { ApiResponse, ProcessingContext } from './context.js';
import { queueNotification } from './notification.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `POST /transactions/{uid}/renotify`: a fresh delivery (its own X-Webhook-Id and retry schedule) of the
 * transaction as it is now. A foreign or malformed uid is the same 404 as an unknown one.
 */
export async function renotify(ctx: ProcessingContext, shop: Shop, uid: string): Promise<ApiResponse> {
  const row = UUID.test(uid) ? await findTransaction(ctx.store.db, shop.id, uid.toLowerCase()) : undefined;
  if (!row) throw recordNotFound();
  if (!row.notification_url) throw validationError([{ path: ['notification_url'], message: "can't be blank" }]);
  await queueNotification(ctx, ctx.store.db, row, row.notification_url, ctx.now().toISOString());
  return { statusCode: 200, body: { message: 'Transaction was renotified' } };
}
