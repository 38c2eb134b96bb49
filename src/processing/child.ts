import type { AcquirerCall, AcquirerConnector, AcquirerOutcome } from '../acquirers/connector.js';
import { ApiError, duplicateTransaction, parentNotFound, validationError } from '../domain/errors.js';
import { unwrapRequest } from '../domain/request.js';
import { parentTypes } from '../domain/transaction.js';
import { findRecentDuplicate, lockParent } from '../store/transactions.js';
import type { ApiResponse, Invocation, ProcessingContext } from './context.js';
import { execute, newTransactionRow } from './pipeline.js';
import { DUPLICATE_WINDOW_MS } from './purchase.js';
import { transactionResponse } from './respond.js';

type ChildType = keyof typeof parentTypes;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const verbs: Record<ChildType, string> = { capture: 'captured', void: 'voided', refund: 'refunded', chargeback: 'charged back' };

/** `transaction can't be refunded` (and its siblings): wrong parent type or state. */
function cannot(type: ChildType): ApiError {
  return validationError([{ path: ['base'], message: `transaction can't be ${verbs[type]}` }]);
}

function amountTooLarge(max: number): ApiError {
  return validationError([{ path: ['amount'], message: `can't be greater than ${max}` }]);
}

/**
 * Capture, void, refund and chargeback: operations on a parent transaction. Transaction A locks the parent
 * and reserves the amount, so concurrent children can never together exceed it (spec §2.4):
 *   remaining = parent.amount − settled children − children in flight.
 * A void reserves the whole authorization, so no capture can start while it is in flight.
 */
export async function childOperation(
  ctx: ProcessingContext,
  invocation: Invocation,
  type: ChildType,
  invoke: (connector: AcquirerConnector, call: AcquirerCall) => Promise<AcquirerOutcome>,
  options: { byOperator?: boolean } = {},
): Promise<ApiResponse> {
  const { shop } = invocation;
  const reader = unwrapRequest(invocation.body);
  // Any parent_uid that is present but not one of our uids (wrong JSON type, any other shape) is a parent
  // that is not found (spec §2.3), answered after the request's own checks.
  const rawParentUid = reader.raw('parent_uid');
  if (!reader.has('parent_uid')) reader.fail('parent_uid', "can't be blank");
  const amount = reader.amount();
  const reason = type === 'refund' || type === 'chargeback' ? reader.required('reason') : null;
  const notificationUrl = reader.url('notification_url');
  const duplicateCheck = reader.boolean('duplicate_check') ?? true;
  reader.check();
  if (type === 'chargeback' && !shop.test && !options.byOperator) {
    throw new ApiError(403, 'Chargebacks are raised by the bank; only shops in test mode may simulate one');
  }
  if (typeof rawParentUid !== 'string' || !UUID.test(rawParentUid)) throw parentNotFound();
  const parentUid = rawParentUid;

  const now = ctx.now();
  const since = new Date(now.getTime() - DUPLICATE_WINDOW_MS).toISOString();
  const row = await execute(ctx, invocation, async (tx) => {
    // One round trip: the parent locked and the duplicate check beside it.
    const [parent, duplicated] = await Promise.all([
      lockParent(tx, shop.id, parentUid),
      duplicateCheck ? findRecentDuplicate(tx, { shopId: shop.id, type, amount, parentUid, since }) : false,
    ]);
    if (!parent) throw parentNotFound();
    if (!parentTypes[type].includes(parent.type as never) || parent.status !== 'successful') throw cannot(type);
    const parentAmount = Number(parent.amount);
    const remaining = parentAmount - Number(parent.child_amount) - Number(parent.reserved_amount);
    if (type === 'capture' && parent.voided === 1) throw cannot(type);
    if (type === 'void') {
      if (parent.voided === 1 || Number(parent.child_amount) > 0 || Number(parent.reserved_amount) > 0) throw cannot(type);
      if (amount > parentAmount) throw amountTooLarge(parentAmount);
    } else if (amount > remaining) {
      throw amountTooLarge(remaining);
    }
    if (duplicated) throw duplicateTransaction();
    const row = newTransactionRow(ctx, invocation, {
      type,
      amount,
      currency: parent.currency,
      parent_uid: parent.uid,
      reason,
      test: parent.test,
      language: parent.language,
      notification_url: notificationUrl ?? parent.notification_url,
    });
    const call: AcquirerCall = {
      reference: row.acquirer_ref,
      parentReference: parent.acquirer_ref,
      shopId: shop.id,
      amount,
      currency: parent.currency,
      settings: shop.acquirerSettings,
    };
    return { row, reservation: type === 'void' ? parentAmount : amount, call: (connector: AcquirerConnector) => invoke(connector, call) };
  });
  return transactionResponse(ctx, row);
}
