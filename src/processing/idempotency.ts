import { randomUUID } from 'node:crypto';
import { ApiError, stillProcessing, validationError } from '../domain/errors.js';
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey, takeOverIdempotencyKey } from '../store/idempotency.js';
import { findTransaction } from '../store/transactions.js';
import type { ApiResponse, Invocation, ProcessingContext } from './context.js';
import { transactionResponse } from './respond.js';

/** A `RequestID` makes a request safe to retry for this long (spec §2.5). */
export const IDEMPOTENCY_RETENTION_MS = 24 * 3600_000;
/**
 * A claim with no transaction after this long belongs to a process that died before transaction A (claim
 * to A takes milliseconds). Taking over a claim that is in fact alive is safe: its attempt can no longer
 * link a transaction (fencing token), so it is answered 409 and creates nothing.
 */
export const ABANDONED_AFTER_MS = 10_000;

/** The same RequestID with another body (spec §2.5): 422, sync and async alike. */
export function differentRequest(): ApiError {
  return validationError([{ path: ['base'], message: 'RequestID was already used with a different request' }]);
}

function stillRunning(): ApiError {
  return stillProcessing();
}

/**
 * Runs `operation` at most once per shop and key. A repeat with the same body answers the first response
 * (the transaction's current state); while the first is running, 409; with another body, 422.
 */
export async function idempotent(
  ctx: ProcessingContext,
  invocation: Invocation,
  operationName: string,
  operation: (ctx: ProcessingContext, invocation: Invocation) => Promise<ApiResponse>,
): Promise<ApiResponse> {
  const key = invocation.idempotencyKey;
  if (key === undefined) return operation(ctx, invocation);
  const { shop } = invocation;
  const now = ctx.now();
  const claimToken = randomUUID();
  const claim = { shop_id: shop.id, key, body_hash: ctx.vault.requestHash(operationName, invocation.body), claim_token: claimToken, created_at: now.toISOString() };

  const existing = await claimIdempotencyKey(ctx.store, claim);
  if (existing) {
    const age = now.getTime() - Date.parse(existing.created_at);
    const expired = age >= IDEMPOTENCY_RETENTION_MS;
    const abandoned = existing.transaction_uid === null && existing.status_code === null && age >= ABANDONED_AFTER_MS;
    if (!(expired || abandoned) || !(await ctx.store.write((tx) => takeOverIdempotencyKey(tx, existing, claim)))) {
      if (existing.body_hash !== claim.body_hash) {
        throw differentRequest();
      }
      if (existing.transaction_uid !== null) {
        const row = await findTransaction(ctx.store.sql, shop.id, existing.transaction_uid);
        if (!row || row.status === 'processing') throw stillRunning();
        return transactionResponse(ctx, row);
      }
      if (existing.status_code === null || existing.response === null) throw stillRunning();
      return { statusCode: existing.status_code, body: JSON.parse(existing.response) };
    }
  }

  try {
    const response = await operation(ctx, { ...invocation, idempotencyClaim: claimToken });
    // A transaction's repeat answers its current state: the key names it since transaction A, so there is
    // nothing more to write. Any other answer (a card token of /credit_cards) is kept as it was sent.
    const producedTransaction = (response.body as { transaction?: unknown } | null)?.transaction !== undefined;
    if (!producedTransaction) {
      await ctx.store.write((tx) => completeIdempotencyKey(tx, shop.id, key, claimToken, response.statusCode, JSON.stringify(response.body)));
    }
    return response;
  } catch (error) {
    if (error instanceof ApiError && error.statusCode < 500) {
      // A refused request is answered the same way on every repeat.
      await ctx.store.write((tx) => completeIdempotencyKey(tx, shop.id, key, claimToken, error.statusCode, JSON.stringify(error.body())));
    } else {
      // A fault before transaction A leaves nothing behind: the key is free for a retry. After A, the key
      // names the transaction and a retry answers its state.
      await ctx.store.write((tx) => releaseIdempotencyKey(tx, shop.id, key, claimToken)).catch(() => {});
    }
    throw error;
  }
}
