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
  amountTooLarge,
  cannot,
  childCall,
  childRow,
  lockParentFor,
  type ParentRule,
  parentUidOf,
  readChild,
} from '../steps/parent.js';

const rule: ParentRule = { type: 'void', accepts: parentTypes.void, verb: 'voided' };

/**
 * Releases an authorization while nothing of it is captured (or being captured); no capture after it. A
 * void reserves the whole authorization, so no capture can start while it is in flight.
 */
export async function voidAuthorization(ctx: ProcessingContext, invocation: Invocation): Promise<ApiResponse> {
  const { shop } = invocation;
  const reader = unwrapRequest(invocation.body);
  const request = readChild(reader);
  reader.check();
  const parentUid = parentUidOf(request);

  const since = duplicateSince(ctx.now());
  const row = await execute(ctx, invocation, async (tx) => {
    const [locked, duplicated] = await lockParentFor(tx, shop.id, parentUid, request, since, rule);
    const parent = acceptedParent(locked, rule);
    if (parent.voided === 1 || Number(parent.child_amount) > 0 || Number(parent.reserved_amount) > 0) throw cannot(rule);
    const parentAmount = Number(parent.amount);
    if (request.amount > parentAmount) throw amountTooLarge(parentAmount);
    if (duplicated) throw duplicateTransaction();
    const row = childRow(ctx, invocation, rule, request, parent);
    const call = childCall(row, parent, shop);
    return { row, reservation: parentAmount, call: (connector: AcquirerConnector) => connector.void(call) };
  });
  return transactionResponse(ctx, row);
}
