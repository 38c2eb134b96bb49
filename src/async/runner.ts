import { ApiError, internalError } from '../domain/errors.js';
import type { Shop } from '../domain/shop.js';
import type { ApiResponse, ApiVersion, ProcessingContext, TaskCompletion } from '../processing/context.js';
import { idempotent, InquiryNotDue } from '../processing/idempotency.js';
import { isMutating, operations } from '../processing/operations/index.js';
import { isStoreUnavailable } from '../domain/faults.js';
import type { AsyncTaskTable } from '../store/schema.js';

/** What a task carries, sealed: the request body, for queries the path parameters, and the response format asked for. */
export interface TaskRequest {
  body: unknown;
  params?: Record<string, string>;
  /** Absent: v2. Not part of the request hash: the same request asked for in another format is the same request. */
  apiVersion?: ApiVersion;
}

/**
 * Runs a task through the very function the synchronous route calls; the answer is exactly the
 * synchronous response (status code and body, v2), errors included. Rejects only when the store is
 * unreachable, or with InquiryNotDue when a later attempt is to wait for its transaction's inquiry.
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
    // Whoever stores the result (transaction B, or the worker) stores it in the version the submit asked for.
    if (completion && request.apiVersion !== undefined) completion.apiVersion = request.apiVersion;
    const operation = operations[task.operation];
    if (!operation) throw new Error(`unknown async operation ${task.operation}`);
    if (!isMutating(task.operation)) return await operation(ctx, { shop, body: request.body, params: request.params });
    // A later attempt finds what the earlier one did through the same authority as a retried request.
    const invocation = { shop, body: request.body, idempotencyKey: task.idempotency_key, task: completion };
    return await idempotent(ctx, invocation, task.operation, operation, { laterAttempt: task.attempts > 1 });
  } catch (error) {
    if (error instanceof InquiryNotDue) throw error;
    if (error instanceof ApiError) return { statusCode: error.statusCode, body: error.body() };
    // The database went away mid-task: no answer is stored; the task stays leased and a later attempt
    // resumes it (by inquiry if its acquirer call went out), so an outage never becomes a 500 result.
    if (isStoreUnavailable(error)) throw error;
    onFault(error);
    return { statusCode: 500, body: internalError().body() };
  }
}
