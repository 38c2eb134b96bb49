import { ApiError, recordNotFound } from '../domain/errors.js';
import { isUid } from '../domain/uid.js';
import type { Store } from '../store/db.js';
import type { WebhookAttemptTable } from '../store/schema.js';
import { deliveriesOfTransaction, findDelivery, requeueDelivery, type WebhookDelivery } from '../store/webhooks.js';

/** The operator's view of a delivery and its attempts (never the payload: it is the transaction itself). */
export function deliveryView(delivery: WebhookDelivery, attempts?: WebhookAttemptTable[]) {
  return {
    id: Number(delivery.id),
    shop_id: Number(delivery.shop_id),
    transaction_uid: delivery.transaction_uid,
    url: delivery.url,
    state: delivery.state,
    attempt_count: delivery.attempts,
    created_at: delivery.created_at,
    next_attempt_at: delivery.state === 'pending' || delivery.state === 'delivering' ? delivery.next_attempt_at : null,
    delivered_at: delivery.delivered_at,
    ...(attempts
      ? {
          attempts: attempts.map((a) => ({
            attempt: a.attempt,
            attempted_at: a.attempted_at,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error,
            request_id: a.request_id,
          })),
        }
      : {}),
  };
}

/** `GET /admin/transactions/{uid}/deliveries`: every delivery of the transaction, oldest first. */
export async function transactionDeliveries(store: Store, uid: string) {
  const found = isUid(uid) ? await deliveriesOfTransaction(store, uid.toLowerCase()) : undefined;
  if (!found) throw recordNotFound();
  return { deliveries: found.map(({ delivery, attempts }) => deliveryView(delivery, attempts)) };
}

/**
 * `POST /admin/deliveries/{id}/retry`: a dead delivery (or a pending one, to bring it forward) is due
 * now. It keeps its id and attempt numbering; a dead one that fails again is dead again at once, so the
 * operator's retry is one more attempt, not a second 36-hour schedule.
 */
export async function retryDelivery(store: Store, id: number, now: Date) {
  if (!Number.isSafeInteger(id)) throw recordNotFound();
  const requeued = await store.transaction((tx) => requeueDelivery(tx, id, now.toISOString()));
  if (requeued) return deliveryView(requeued);
  const delivery = await findDelivery(store, id);
  if (!delivery) throw recordNotFound();
  throw new ApiError(409, `Delivery is ${delivery.state}; only a dead or pending delivery can be retried`);
}
