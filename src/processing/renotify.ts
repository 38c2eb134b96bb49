import { rateLimitExceeded, recordNotFound, validationError } from '../domain/errors.js';
import { isUid } from '../domain/uid.js';
import type { Shop } from '../domain/shop.js';
import { findTransaction, lockParent } from '../store/transactions.js';
import { queuedDeliveryWithPayload, recentRenotifies } from '../store/webhooks.js';
import type { ApiResponse, ProcessingContext } from './context.js';
import { notificationPayload, queueNotification } from './notification.js';

const renotified: ApiResponse = { statusCode: 200, body: { message: 'Transaction was renotified' } };

/**
 * `POST /transactions/{uid}/renotify`: a fresh delivery (its own X-Webhook-Id and retry schedule) of the
 * transaction as it is now. A foreign or malformed uid is the same 404 as an unknown one.
 *
 * A renotify is not a way to flood an endpoint: while a delivery with the same bytes still waits for its
 * first attempt, another renotify answers the same 200 and queues nothing (that delivery will do), and
 * past `renotifyLimit` deliveries of one transaction within its window the answer is 429 with Retry-After.
 * Both checks and the insert run under the transaction row's lock (PostgreSQL; SQLite has one writer), so
 * concurrent renotifies cannot both queue.
 */
export async function renotify(ctx: ProcessingContext, shop: Shop, uid: string): Promise<ApiResponse> {
  const found = isUid(uid) ? await findTransaction(ctx.store.sql, shop.id, uid.toLowerCase()) : undefined;
  if (!found) throw recordNotFound();
  const url = found.notification_url;
  if (!url) throw validationError([{ path: ['notification_url'], message: "can't be blank" }]);
  return ctx.store.transaction(async (tx) => {
    const row = (await lockParent(tx, shop.id, found.uid)) ?? found;
    const payload = await notificationPayload(ctx, tx, row);
    if (await queuedDeliveryWithPayload(tx, row.uid, payload)) return renotified;
    const now = ctx.now();
    const { count, windowMs } = ctx.renotifyLimit;
    const recent = await recentRenotifies(tx, row.uid, new Date(now.getTime() - windowMs).toISOString());
    if (count > 0 && recent.count >= count) {
      const freeAt = recent.oldest ? Date.parse(recent.oldest) + windowMs : now.getTime() + windowMs;
      throw rateLimitExceeded((freeAt - now.getTime()) / 1000);
    }
    await queueNotification(ctx, tx, row, url, now.toISOString(), { renotify: true, payload });
    return renotified;
  });
}
