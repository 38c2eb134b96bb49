import type { AcquirerConnector } from '../../acquirers/connector.js';
import { ApiError, duplicateTransaction } from '../../domain/errors.js';
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

const rule: ParentRule = { type: 'chargeback', accepts: parentTypes.chargeback, verb: 'charged back' };

/**
 * Simulates the bank's dispute of a payment or capture, for a stated reason: test shops may, the operator
 * may for any shop. Together with refunds it never exceeds the parent.
 */
export async function chargeback(ctx: ProcessingContext, invocation: Invocation, options: { byOperator?: boolean } = {}): Promise<ApiResponse> {
  const { shop } = invocation;
  const reader = unwrapRequest(invocation.body);
  const request = readChild(reader, { reason: true });
  reader.check();
  if (!shop.test && !options.byOperator) {
    throw new ApiError(403, 'Chargebacks are raised by the bank; only shops in test mode may simulate one');
  }
  const parentUid = parentUidOf(request);

  const since = duplicateSince(ctx.now());
  const row = await execute(ctx, invocation, async (tx) => {
    const [locked, duplicated] = await lockParentFor(tx, shop.id, parentUid, request, since, rule);
    const parent = acceptedParent(locked, rule);
    checkWithinRemaining(parent, request.amount);
    if (duplicated) throw duplicateTransaction();
    const row = childRow(ctx, invocation, rule, request, parent);
    const call = childCall(row, parent, shop);
    return { row, reservation: request.amount, call: (connector: AcquirerConnector) => connector.chargeback(call) };
  });
  return transactionResponse(ctx, row);
}
