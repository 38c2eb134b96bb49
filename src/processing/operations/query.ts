import { recordNotFound } from '../../domain/errors.js';
import { isUid } from '../../domain/uid.js';
import { characterCount } from '../../domain/request.js';
import { findByTrackingId, findTransaction } from '../../store/transactions.js';
import type { ApiResponse, ProcessingContext } from '../context.js';
import type { Shop } from '../../domain/shop.js';
import type { TransactionTable } from '../../store/schema.js';
import { presentTransaction } from '../present.js';
import { transactionResponse } from '../respond.js';

const TRACKING_LIMIT = 10;

/** A tracking id that no stored one can equal (PostgreSQL refuses a NUL byte in text): no match, no query. */
const searchable = (trackingId: string) => characterCount(trackingId) <= 255 && !trackingId.includes('\u0000');

/** The shop's transaction a path names: a foreign or malformed uid is the same 404 as an unknown one. */
export async function shopTransaction(ctx: ProcessingContext, shop: Shop, uid: string): Promise<TransactionTable> {
  const row = isUid(uid) ? await findTransaction(ctx.store.sql, shop.id, uid.toLowerCase()) : undefined;
  if (!row) throw recordNotFound();
  return row;
}

/** `GET /transactions/{uid}`. */
export async function transactionByUid(ctx: ProcessingContext, shop: Shop, uid: string): Promise<ApiResponse> {
  return transactionResponse(ctx, await shopTransaction(ctx, shop, uid));
}

/** `GET /v2/transactions/tracking_id/{id}`: the ten newest matches, newest first. */
export async function transactionsByTrackingId(ctx: ProcessingContext, shop: Shop, trackingId: string): Promise<ApiResponse> {
  const rows = searchable(trackingId) ? await findByTrackingId(ctx.store, shop.id, trackingId, TRACKING_LIMIT) : [];
  return { statusCode: 200, body: { transactions: rows.map((row) => presentTransaction(ctx, row)) } };
}

/** Legacy `GET /transactions/tracking_id/{id}`: the newest match alone. */
export async function latestByTrackingId(ctx: ProcessingContext, shop: Shop, trackingId: string): Promise<ApiResponse> {
  const [row] = searchable(trackingId) ? await findByTrackingId(ctx.store, shop.id, trackingId, 1) : [];
  if (!row) throw recordNotFound();
  return transactionResponse(ctx, row);
}
