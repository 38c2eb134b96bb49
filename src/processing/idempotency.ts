import { randomUUID } from 'node:crypto';
import { ApiError, stillProcessing, validationError } from '../domain/errors.js';
import type { Shop } from '../domain/shop.js';
import type { IdempotencyKeyTable, TransactionTable } from '../store/schema.js';
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  findIdempotencyKey,
  releaseIdempotencyKey,
  takeOverIdempotencyKey,
} from '../store/idempotency.js';
import { findTransaction } from '../store/transactions.js';
import type { ApiResponse, Invocation, ProcessingContext } from './context.js';
import { settleByInquiry } from './resolver.js';
import { transactionResponse } from './respond.js';

/**
 * The one idempotency authority (spec §2.5) of the synchronous routes and async mode: same key and same
 * request → the first answer; same key, another request → 422 (`differentRequest`); first still running
 * → 409. A request is told from another by `requestHash` alone, in both modes.
 *
 * Which record holds a key: an async submit's key is held by its task row (the task's insert is the
 * claim: one multi-row statement per group commit, so a submit costs no second write), and the submit
 * answers a repeat through `refuseOtherRequest`. Running a mutating operation, synchronous or as a task
 * (each attempt of one), claims the key in `idempotency_keys` through `idempotent`, whose record names the
 * transaction: that is the record a retry, sync or async, is answered from. The sync path reads nothing
 * else, so it pays no extra round trip for async mode.
 */

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

/** What a RequestID stands for: its operation and body, sync and async alike. */
export function requestHash(ctx: ProcessingContext, operationName: string, body: unknown): string {
  return ctx.vault.requestHash(operationName, body);
}

/** A key held for another request (its `heldFor` hash differs) refuses this one with 422. */
export function refuseOtherRequest(heldFor: string | null, hash: string): void {
  if (heldFor !== null && heldFor !== hash) throw differentRequest();
}

/**
 * A later attempt of an async task met its transaction still `processing` while the acquirer call of the
 * earlier attempt may still be on the way: the task is to be run again from `dueAt`, and its worker slot
 * freed meanwhile (async/workers.ts hands it back to the queue).
 */
export class InquiryNotDue extends Error {
  constructor(readonly dueAt: Date) {
    super(`the transaction may be inquired from ${dueAt.toISOString()}`);
  }
}

export interface IdempotentOptions {
  /**
   * A later attempt of an async task: the key's claim, if this task made it, is its earlier attempt's,
   * which lost its lease. A claim that names no transaction is taken over at once, and a transaction
   * still `processing` is finished by inquiry once that is due (never sent to the acquirer again).
   */
  laterAttempt?: boolean;
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
  options: IdempotentOptions = {},
): Promise<ApiResponse> {
  const key = invocation.idempotencyKey;
  if (key === undefined) return operation(ctx, invocation);
  const { shop } = invocation;
  const now = ctx.now();
  const claimToken = randomUUID();
  const bodyHash = requestHash(ctx, operationName, invocation.body);
  const claim = { shop_id: shop.id, key, body_hash: bodyHash, claim_token: claimToken, created_at: now.toISOString() };

  const claimed = await ctx.store.write((tx) => claimIdempotencyKey(tx, claim));
  if (!claimed.created) {
    const existing = claimed.held ?? (await findIdempotencyKey(ctx.store.sql, shop.id, key));
    if (existing) {
      const repeat = await answerRepeat(ctx, shop, existing, claim, options);
      if (repeat) return repeat;
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

/** The answer to a key held already; undefined when this call took the record over and is to run. */
async function answerRepeat(
  ctx: ProcessingContext,
  shop: Shop,
  existing: IdempotencyKeyTable,
  claim: { body_hash: string; claim_token: string; created_at: string },
  options: IdempotentOptions,
): Promise<ApiResponse | undefined> {
  const age = Date.parse(claim.created_at) - Date.parse(existing.created_at);
  const expired = age >= IDEMPOTENCY_RETENTION_MS;
  const unanswered = existing.transaction_uid === null && existing.status_code === null;
  const abandoned = unanswered && (options.laterAttempt === true || age >= ABANDONED_AFTER_MS);
  if ((expired || abandoned) && (await ctx.store.write((tx) => takeOverIdempotencyKey(tx, existing, claim)))) return undefined;
  refuseOtherRequest(existing.body_hash, claim.body_hash);
  if (existing.transaction_uid !== null) {
    let row = await findTransaction(ctx.store.sql, shop.id, existing.transaction_uid);
    if (row?.status === 'processing' && options.laterAttempt) row = await settleEarlierAttempt(ctx, shop, row);
    if (!row || row.status === 'processing') throw stillProcessing();
    return transactionResponse(ctx, row);
  }
  if (existing.status_code === null || existing.response === null) throw stillProcessing();
  return { statusCode: existing.status_code, body: JSON.parse(existing.response) };
}

/**
 * The earlier attempt may be alive with its acquirer call still on the way (its lease ran out first): as
 * the resolver does, inquire only once the call can no longer be in flight, else "not found" is wrong.
 * Until then the attempt gives its slot back rather than wait in it.
 */
async function settleEarlierAttempt(ctx: ProcessingContext, shop: Shop, row: TransactionTable): Promise<TransactionTable> {
  if (row.next_inquiry_at) {
    const now = ctx.now().getTime();
    const wait = Math.min(Date.parse(row.next_inquiry_at) - now, ctx.acquirerTimeoutMs + ctx.inquiryDelayMs);
    if (wait > 0) throw new InquiryNotDue(new Date(now + wait));
  }
  return settleByInquiry(ctx, shop, row);
}
