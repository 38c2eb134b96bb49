import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, internalError } from '../domain/errors.js';
import type { Shop } from '../domain/shop.js';
import type { ApiResponse, ProcessingContext, TaskCompletion } from '../processing/context.js';
import { idempotent } from '../processing/idempotency.js';
import { isMutating, operations } from '../processing/operations/index.js';
import { settleByInquiry } from '../processing/resolver.js';
import { transactionResponse } from '../processing/respond.js';
import { isStoreUnavailable } from '../store/db.js';
import { findIdempotencyKey, releaseIdempotencyKey } from '../store/idempotency.js';
import type { AsyncTaskTable } from '../store/schema.js';
import { findTransaction } from '../store/transactions.js';

/** What a task carries, sealed: the request body and, for queries, the path parameters. */
export interface TaskRequest {
  body: unknown;
  params?: Record<string, string>;
}

/**
 * A later attempt of a task whose worker died: find what the earlier attempt did before doing anything.
 * A transaction it created is finished by inquiry if its acquirer call was cut off (never sent again); a
 * claim it left before creating anything is dropped so the operation can run.
 */
async function resumeEarlierAttempt(ctx: ProcessingContext, shop: Shop, key: string): Promise<ApiResponse | undefined> {
  const record = await findIdempotencyKey(ctx.store.sql, shop.id, key);
  if (!record) return undefined;
  if (record.transaction_uid !== null) {
    let row = await findTransaction(ctx.store.sql, shop.id, record.transaction_uid);
    if (!row) return undefined;
    if (row.status === 'processing' && row.next_inquiry_at) {
      // The earlier attempt may be alive with its call still on the way (its lease ran out first): as the
      // resolver does, inquire only once the call can no longer be in flight, else "not found" is wrong.
      const wait = Math.min(Date.parse(row.next_inquiry_at) - ctx.now().getTime(), ctx.acquirerTimeoutMs + ctx.inquiryDelayMs);
      if (wait > 0) {
        await sleep(wait);
        row = (await findTransaction(ctx.store.sql, shop.id, row.uid)) ?? row;
      }
    }
    if (row.status === 'processing') row = await settleByInquiry(ctx, shop, row);
    return transactionResponse(ctx, row);
  }
  if (record.status_code !== null && record.response !== null) return { statusCode: record.status_code, body: JSON.parse(record.response) };
  await ctx.store.write((tx) => releaseIdempotencyKey(tx, shop.id, key));
  return undefined;
}

/**
 * Runs a task through the very function the synchronous route calls; the answer is exactly the
 * synchronous response (status code and body), errors included. Rejects only when the store is
 * unreachable.
 */
export async function runTask(
  ctx: ProcessingContext,
  shop: Shop,
  task: AsyncTaskTable,
  onFault: (error: unknown) => void,
  /** Stores the result in the operation's transaction B when it has one (`completion.completed` then says so). */
  completion?: TaskCompletion,
): Promise<ApiResponse> {
  try {
    const request = JSON.parse(ctx.vault.decrypt(task.request_enc!)) as TaskRequest;
    const operation = operations[task.operation];
    if (!operation) throw new Error(`unknown async operation ${task.operation}`);
    if (!isMutating(task.operation)) return await operation(ctx, { shop, body: request.body, params: request.params });
    if (task.attempts > 1) {
      const earlier = await resumeEarlierAttempt(ctx, shop, task.idempotency_key);
      if (earlier) return earlier;
    }
    return await idempotent(ctx, { shop, body: request.body, idempotencyKey: task.idempotency_key, task: completion }, task.operation, operation);
  } catch (error) {
    if (error instanceof ApiError) return { statusCode: error.statusCode, body: error.body() };
    // The database went away mid-task: no answer is stored; the task stays leased and a later attempt
    // resumes it (by inquiry if its acquirer call went out), so an outage never becomes a 500 result.
    if (isStoreUnavailable(error)) throw error;
    onFault(error);
    return { statusCode: 500, body: internalError().body() };
  }
}
