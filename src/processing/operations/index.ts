/**
 * The registry of operations. Each operation's file in this folder holds its own request reading and its
 * own rules; the steps they share (card, parent, purchase and push fields) are in ../steps/ and are called
 * by name. A new operation is a new file and one line here.
 */
import type { ApiResponse, Invocation, ProcessingContext } from '../context.js';
import { payment } from './payment.js';
import { authorization } from './authorization.js';
import { tokenization } from './tokenization.js';
import { capture } from './capture.js';
import { voidAuthorization } from './void.js';
import { refund } from './refund.js';
import { payout } from './payout.js';
import { credit } from './credit.js';
import { checkup } from './checkup.js';
import { chargeback } from './chargeback.js';
import { balance } from './balance.js';
import { latestByTrackingId, transactionByUid, transactionsByTrackingId } from './query.js';

export type Operation = (ctx: ProcessingContext, invocation: Invocation) => Promise<ApiResponse>;

/**
 * Every operation of spec §2 by the name of its route, served the same way by the synchronous routes and
 * by async tasks (async mode is only another way to wait for the same function).
 */
export const transactionOperations = {
  payments: payment,
  authorizations: authorization,
  tokenizations: tokenization,
  captures: capture,
  voids: voidAuthorization,
  refunds: refund,
  payouts: payout,
  credits: credit,
  checkups: checkup,
  chargebacks: (ctx, invocation) => chargeback(ctx, invocation),
} satisfies Record<string, Operation>;

export type TransactionOperationName = keyof typeof transactionOperations;

export const queryOperations = {
  transaction: (ctx, { shop, params }) => transactionByUid(ctx, shop, params?.uid ?? ''),
  tracking_v2: (ctx, { shop, params }) => transactionsByTrackingId(ctx, shop, params?.tracking_id ?? ''),
  tracking: (ctx, { shop, params }) => latestByTrackingId(ctx, shop, params?.tracking_id ?? ''),
  balance,
} satisfies Record<string, Operation>;

export const operations: Record<string, Operation> = { ...transactionOperations, ...queryOperations };

/** Operations that may move money or create records: a retried task must not run them twice. */
export function isMutating(name: string): boolean {
  return name in transactionOperations;
}
