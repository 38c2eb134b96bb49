import { randomUUID } from 'node:crypto';
import { stillProcessing } from '../domain/errors.js';
import { AcquirerError, type AcquirerConnector, type AcquirerOutcome, type InquiryOutcome } from '../acquirers/connector.js';
import { results } from '../domain/codes.js';
import {
  finalStatuses,
  ledgerSign,
  reservesWholeParent,
  settlementStamp,
  type TransactionStatus,
  type TransactionType,
} from '../domain/transaction.js';
import type { TransactionTable } from '../store/schema.js';
import type { Sql, Tx } from '../store/sql.js';
import {
  adjustParent,
  findTransactionByUid,
  insertLedgerEntry,
  insertTransaction,
  insertWebhookDelivery,
  type Settlement,
  settle,
} from '../store/transactions.js';
import { linkIdempotencyKey } from '../store/idempotency.js';
import type { Invocation, ProcessingContext, TaskCompletion } from './context.js';
import { inApiVersion } from './apiVersion.js';
import { transactionResponse } from './respond.js';
import { notificationPayload } from './notification.js';
import { operationBlock } from './present.js';

/**
 * The one pipeline every operation runs (DESIGN.md):
 *   1. the operation validates its request alone (no I/O);
 *   2. transaction A (`prepare`): lock the parent, check money and risk rules, insert the transaction as
 *      `processing` and reserve its amount against the parent;
 *   3. the acquirer call, outside any database transaction;
 *   4. transaction B (`recordOutcome`): the outcome, the parent's reservation turned into a settled amount
 *      or released, the ledger entry and the webhook outbox row, all in one commit.
 * A crash between A and B leaves a `processing` row with `next_inquiry_at` set: the resolver inquires
 * with our reference and finishes B; it never calls the acquirer again.
 *
 * Round trips (PostgreSQL, store/sql.ts): everything a request can compute is computed before A begins.
 * A's reads (locks, checks) leave together with BEGIN in one round trip; its writes leave together with
 * COMMIT in a second; B is one statement. The sandbox's journal insert is a third.
 */

export interface Prepared {
  /** The row to insert: `processing` when the acquirer must be asked, or already final. */
  row: TransactionTable;
  /** Amount reserved against `row.parent_uid` until B (void reserves the whole authorization). */
  reservation?: number;
  /** The acquirer call; absent when A already decided the outcome (risk rules, check-up). */
  call?: (connector: AcquirerConnector) => Promise<AcquirerOutcome>;
  /** Writes `prepare` issued and did not wait for (they travel with the row's insert and COMMIT). */
  written?: Promise<unknown>;
}

export function newTransactionRow(
  ctx: ProcessingContext,
  invocation: Invocation,
  fields: Partial<TransactionTable> & { type: TransactionType; amount: number; currency: string },
): TransactionTable {
  const uid = randomUUID();
  const now = ctx.now();
  return {
    uid,
    shop_id: invocation.shop.id,
    status: 'processing',
    description: null,
    tracking_id: null,
    test: invocation.shop.test ? 1 : 0,
    language: 'en',
    parent_uid: null,
    reason: null,
    message: null,
    code: null,
    friendly_message: null,
    card_token: null,
    card_stamp: null,
    credit_card: null,
    notification_url: null,
    return_url: null,
    customer: null,
    billing_address: null,
    additional_data: null,
    extra: null,
    acquirer_response: null,
    three_d_secure: null,
    be_protected: null,
    avs_cvc: null,
    acquirer_ref: uid,
    child_amount: 0,
    reserved_amount: 0,
    voided: 0,
    // If this process dies before B, the resolver inquires once the call could no longer be in flight.
    next_inquiry_at: new Date(now.getTime() + ctx.acquirerTimeoutMs + ctx.inquiryDelayMs).toISOString(),
    inquiry_attempts: 0,
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
    paid_at: null,
    expired_at: null,
    closed_at: null,
    settled_at: null,
    ...fields,
  };
}

export async function execute(ctx: ProcessingContext, invocation: Invocation, prepare: (tx: Tx) => Promise<Prepared>): Promise<TransactionTable> {
  // Before transaction A: a shop whose connector this gateway lacks must leave no row waiting for it.
  const connector = ctx.acquirerFor(invocation.shop);
  const prepared = await ctx.store.transaction(async (tx) => {
    const plan = await prepare(tx);
    if (!plan.call) plan.row.next_inquiry_at = null;
    // A status final already (risk rules, check-up) brings its effects in this commit; read before any write.
    const effects = finalStatuses.includes(plan.row.status) ? await finalEffects(ctx, tx, plan.row, plan.reservation ?? 0) : {};
    const writes: Promise<unknown>[] = [insertTransaction(tx, plan.row)];
    if (plan.written) writes.push(plan.written);
    if (plan.row.parent_uid && plan.reservation)
      writes.push(adjustParent(tx, plan.row.parent_uid, { reserved: plan.reservation }, plan.row.created_at));
    const linked = invocation.idempotencyKey
      ? linkIdempotencyKey(tx, invocation.shop.id, invocation.idempotencyKey, invocation.idempotencyClaim ?? '', plan.row.uid)
      : undefined;
    writes.push(...issueEffects(tx, plan.row, effects));
    // Without a RequestID to link, nothing is left to decide: COMMIT leaves with the writes.
    if (!linked) tx.commitWithLast();
    const [isLinked] = await Promise.all([linked, ...writes]);
    if (linked && !isLinked) throw stillProcessing();
    return plan;
  });
  if (!prepared.call) return prepared.row;
  const outcome = await callAcquirer(ctx, connector, invocation.shop.acquirerSettings, prepared.row, prepared.call);
  return recordOutcome(ctx, prepared.row, outcome, prepared.reservation ?? 0, invocation.task);
}

/**
 * Runs the call with a deadline. An unknown outcome (timeout, lost answer) is asked about once at once;
 * if still unknown the transaction waits in `pending` for the resolver.
 */
export async function callAcquirer(
  ctx: ProcessingContext,
  connector: AcquirerConnector,
  /** The shop's acquirer settings, for the inquiry after an unknown outcome. */
  settings: Record<string, unknown>,
  row: TransactionTable,
  call: (connector: AcquirerConnector) => Promise<AcquirerOutcome>,
): Promise<AcquirerOutcome | InquiryOutcome> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const deadline = new Promise<AcquirerOutcome>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      resolve({ outcome: 'in_doubt', reason: 'Acquirer did not answer in time' });
    }, ctx.acquirerTimeoutMs);
  });
  let outcome: AcquirerOutcome;
  try {
    outcome = await Promise.race([call(connector), deadline]);
  } catch (error) {
    if (error instanceof AcquirerError) {
      const { code, message, friendly_message: friendlyMessage } = results.acquirerError;
      return { outcome: 'declined', code, message, friendlyMessage, bankCode: '', refId: '', gatewayId: 0 };
    }
    // Anything else (a dropped connection, a bug in a connector): the bank may have acted.
    outcome = { outcome: 'in_doubt', reason: error instanceof Error ? error.message : 'Acquirer call failed' };
  } finally {
    clearTimeout(timer);
  }
  if (outcome.outcome !== 'in_doubt') return outcome;
  try {
    const answer = await connector.inquire(row.acquirer_ref, settings);
    // Our call is still on its way after the deadline: "not found" now does not mean the bank never acts on
    // it, so the transaction stays in doubt (pending) for the resolver rather than failing.
    return timedOut && answer.outcome === 'not_found' ? outcome : answer;
  } catch {
    return outcome;
  }
}

/** Transaction B. Idempotent: a row that is no longer waiting is returned as it is. */
export async function recordOutcome(
  ctx: ProcessingContext,
  row: TransactionTable,
  outcome: AcquirerOutcome | InquiryOutcome,
  reservation: number,
  /** The async task this outcome answers (its result is stored in the same statement). */
  task?: TaskCompletion,
): Promise<TransactionTable> {
  const now = ctx.now();
  const nowText = now.toISOString();
  const changes: Partial<TransactionTable> = { updated_at: nowText };
  const operation = (status: TransactionStatus, message: string | null, fields: Record<string, unknown> = {}) =>
    JSON.stringify(operationBlock(row, status, message, fields));

  switch (outcome.outcome) {
    case 'approved':
      Object.assign(changes, {
        status: 'successful',
        ...results.successful,
        next_inquiry_at: null,
        paid_at: settlementStamp[row.type] === 'paid_at' ? nowText : null,
        closed_at: settlementStamp[row.type] === 'closed_at' ? nowText : null,
        acquirer_response: operation('successful', outcome.message, {
          auth_code: outcome.authCode,
          bank_code: outcome.bankCode,
          rrn: outcome.rrn,
          ref_id: outcome.refId,
          gateway_id: outcome.gatewayId,
          billing_descriptor: outcome.billingDescriptor,
        }),
      });
      break;
    case 'declined':
      Object.assign(changes, {
        status: 'failed',
        message: outcome.message,
        code: outcome.code,
        friendly_message: outcome.friendlyMessage,
        next_inquiry_at: null,
        acquirer_response: operation('failed', outcome.message, {
          bank_code: outcome.bankCode || null,
          ref_id: outcome.refId || null,
          gateway_id: outcome.gatewayId || null,
        }),
      });
      break;
    case 'challenge':
      Object.assign(changes, {
        status: 'incomplete',
        ...results.challenge,
        next_inquiry_at: null,
        three_d_secure: JSON.stringify(outcome.threeDSecure),
        acquirer_response: operation('incomplete', null),
      });
      break;
    case 'not_found':
      // The bank never saw the reference: nothing moved, the merchant may try again.
      Object.assign(changes, {
        status: 'failed',
        ...results.notReceived,
        next_inquiry_at: null,
        acquirer_response: operation('failed', results.notReceived.message),
      });
      break;
    case 'in_doubt': {
      const attempts = row.inquiry_attempts + 1;
      const delay = Math.min(ctx.inquiryDelayMs * 2 ** (attempts - 1), ctx.inquiryMaxDelayMs);
      Object.assign(changes, {
        status: 'pending',
        ...results.pending,
        inquiry_attempts: attempts,
        next_inquiry_at: new Date(now.getTime() + delay).toISOString(),
        acquirer_response: operation('pending', outcome.reason),
      });
      break;
    }
  }
  if (outcome.outcome === 'approved' || outcome.outcome === 'declined') {
    if (outcome.avsResult !== undefined || outcome.cvcResult !== undefined) {
      changes.avs_cvc = JSON.stringify({
        avs_verification: { result_code: outcome.avsResult ?? null },
        cvc_verification: { result_code: outcome.cvcResult ?? null },
      });
    }
    if (outcome.threeDSecure) changes.three_d_secure = JSON.stringify(outcome.threeDSecure);
  }

  const settledRow = settledView(row, changes);
  const effects = finalStatuses.includes(settledRow.status) ? await finalEffects(ctx, ctx.store.sql, settledRow, reservation) : {};
  const settlement: Settlement = {
    uid: row.uid,
    status: settledRow.status,
    message: settledRow.message,
    code: settledRow.code!,
    friendly_message: settledRow.friendly_message!,
    next_inquiry_at: settledRow.next_inquiry_at,
    paid_at: changes.paid_at ?? null,
    closed_at: changes.closed_at ?? null,
    three_d_secure: changes.three_d_secure ?? null,
    avs_cvc: changes.avs_cvc ?? null,
    inquiry_attempts: changes.inquiry_attempts ?? null,
    acquirer_response: settledRow.acquirer_response!,
    updated_at: nowText,
    ...effects,
    ...(task && {
      task: {
        id: task.id,
        owner: task.owner,
        response: JSON.stringify(inApiVersion(task.apiVersion ?? 2, transactionResponse(ctx, settledRow)).body),
      },
    }),
  };
  const settled = await ctx.store.write((tx) => settle(tx, settlement));
  if (!settled) return (await findTransactionByUid(ctx.store.sql, row.uid))!;
  if (task) task.completed = settled.taskCompleted;
  return settled.row;
}

/** The row as `settle` leaves it (the columns it sets only when given keep their value otherwise). */
function settledView(row: TransactionTable, changes: Partial<TransactionTable>): TransactionTable {
  return {
    ...row,
    ...changes,
    paid_at: changes.paid_at ?? row.paid_at,
    closed_at: changes.closed_at ?? row.closed_at,
    three_d_secure: changes.three_d_secure ?? row.three_d_secure,
    avs_cvc: changes.avs_cvc ?? row.avs_cvc,
    inquiry_attempts: changes.inquiry_attempts ?? row.inquiry_attempts,
  };
}

/**
 * Everything a final status brings, written in the same commit as the status: the parent's reservation
 * released (and its settled total moved), the ledger entry, the webhook outbox row. `db` reads what the
 * webhook of a chargeback shows of its parent.
 */
export async function finalEffects(
  ctx: ProcessingContext,
  db: Sql,
  row: TransactionTable,
  reservation: number,
): Promise<Pick<Settlement, 'parent' | 'ledger' | 'webhook'>> {
  const successful = row.status === 'successful';
  const amount = Number(row.amount);
  const effects: Pick<Settlement, 'parent' | 'ledger' | 'webhook'> = {};
  if (row.parent_uid && reservation) {
    effects.parent = {
      uid: row.parent_uid,
      reserved: reservation,
      settled: successful && !reservesWholeParent(row.type) ? amount : 0,
      voided: successful && reservesWholeParent(row.type),
    };
  }
  const sign = ledgerSign(row.type);
  if (successful && sign !== 0) effects.ledger = { shop_id: row.shop_id, currency: row.currency, amount: sign * amount };
  if (row.notification_url) effects.webhook = { shop_id: row.shop_id, url: row.notification_url, payload: await notificationPayload(ctx, db, row) };
  return effects;
}

/** Sends the writes of `effects` on `tx` without waiting for their answers. */
function issueEffects(tx: Tx, row: TransactionTable, effects: Pick<Settlement, 'parent' | 'ledger' | 'webhook'>): Promise<unknown>[] {
  const writes: Promise<unknown>[] = [];
  const { parent, ledger, webhook } = effects;
  if (parent)
    writes.push(adjustParent(tx, parent.uid, { reserved: -parent.reserved, settled: parent.settled, voided: parent.voided }, row.updated_at));
  if (ledger) writes.push(insertLedgerEntry(tx, { ...ledger, transaction_uid: row.uid, created_at: row.updated_at }));
  if (webhook) writes.push(insertWebhookDelivery(tx, { ...webhook, transaction_uid: row.uid, created_at: row.updated_at }));
  return writes;
}

/** Writes the final effects of a status set by another statement of `tx` (expiry). */
export async function writeFinalEffects(ctx: ProcessingContext, tx: Tx, row: TransactionTable, reservation: number): Promise<void> {
  await Promise.all(issueEffects(tx, row, await finalEffects(ctx, tx, row, reservation)));
}

/** The reservation a child holds on its parent, recomputed by the resolver after a crash. */
export function reservationOf(row: TransactionTable, parentAmount: number): number {
  if (!row.parent_uid) return 0;
  return reservesWholeParent(row.type) ? parentAmount : Number(row.amount);
}
