import type { TransactionTable } from '../store/schema.js';
import type { Sql } from '../store/sql.js';
import { findTransaction, insertWebhookDelivery } from '../store/transactions.js';
import type { ProcessingContext } from './context.js';
import { presentTransaction } from './present.js';

/**
 * Queues the webhook of a transaction with a notification URL (spec §5): the outbox row carrying the
 * exact bytes every attempt will send — the transaction's API object as it is now, and for a chargeback
 * the disputed parent inside as `parent_transaction`. Called inside the transaction that records the
 * status, so the notification exists if and only if the status does.
 */
export async function queueNotification(
  ctx: Pick<ProcessingContext, 'publicUrl' | 'vault'>,
  db: Sql,
  row: TransactionTable,
  url: string,
  queuedAt: string,
  options: { renotify?: boolean; payload?: string } = {},
): Promise<void> {
  await insertWebhookDelivery(db, {
    shop_id: row.shop_id,
    transaction_uid: row.uid,
    url,
    payload: options.payload ?? (await notificationPayload(ctx, db, row)),
    created_at: queuedAt,
    renotify: options.renotify ? 1 : 0,
  });
}

/** The bytes a webhook of the transaction carries now. */
export async function notificationPayload(ctx: Pick<ProcessingContext, 'publicUrl' | 'vault'>, db: Sql, row: TransactionTable): Promise<string> {
  const transaction = presentTransaction(ctx, row);
  if (row.type === 'chargeback' && row.parent_uid) {
    const parent = await findTransaction(db, row.shop_id, row.parent_uid);
    if (parent) transaction.parent_transaction = presentTransaction(ctx, parent);
  }
  return JSON.stringify({ transaction });
}
