import type { AcquirerConnector } from '../../acquirers/connector.js';
import { duplicateTransaction } from '../../domain/errors.js';
import { unwrapRequest } from '../../domain/request.js';
import { parentTypes } from '../../domain/transaction.js';
import type { ApiResponse, Invocation, ProcessingContext } from '../context.js';
import { duplicateSince } from '../duplicates.js';
import { execute } from '../pipeline.js';
import { transactionResponse } from '../respond.js';
import {
  acceptedParent,
  checkWithinRemaining,
  childCall,
  childRow,
  lockParentFor,
  type ParentRule,
  parentUidOf,
  readChild,
} from '../steps/parent.js';

const rule: ParentRule = { type: 'refund', accepts: parentTypes.refund, verb: 'refunded' };

/** Returns (part of) a payment or capture, for a stated reason; refunds and chargebacks together never exceed it. */
export async function refund(ctx: ProcessingContext, invocation: Invocation): Promise<ApiResponse> {
  const { shop } = invocation;
  const reader = unwrapRequest(invocation.body);
  const request = readChild(reader, { reason: true });
  reader.check();
  const parentUid = parentUidOf(request);

  const since = duplicateSince(ctx.now());
  const row = await execute(ctx, invocation, async (tx) => {
    const [locked, duplicated] = await lockParentFor(tx, shop.id, parentUid, request, since, rule);
    const parent = acceptedParent(locked, rule);
    checkWithinRemaining(parent, request.amount);
    if (duplicated) throw duplicateTransaction();
    const row = childRow(ctx, invocation, rule, request, parent);
    const call = childCall(row, parent, shop);
    return { row, reservation: request.amount, call: (connector: AcquirerConnector) => connector.refund(call) };
  });
  return transactionResponse(ctx, row);
}
