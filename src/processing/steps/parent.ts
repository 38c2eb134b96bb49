import type { AcquirerCall } from '../../acquirers/connector.js';
import { type ApiError, parentNotFound, validationError } from '../../domain/errors.js';
import type { RequestReader } from '../../domain/request.js';
import type { Shop } from '../../domain/shop.js';
import type { TransactionType } from '../../domain/transaction.js';
import { isUid } from '../../domain/uid.js';
import type { TransactionTable } from '../../store/schema.js';
import type { Tx } from '../../store/sql.js';
import { findRecentDuplicate, lockParent } from '../../store/transactions.js';
import type { Invocation, ProcessingContext } from '../context.js';
import { newTransactionRow } from '../pipeline.js';

/**
 * What capture, void, refund and chargeback share: operations on a parent transaction. Transaction A locks
 * the parent and reserves the amount, so concurrent children can never together exceed it (spec §2.4).
 */

/** A child operation's claim on its parent: the parent types it takes, and the verb of its refusal. */
export interface ParentRule {
  type: TransactionType;
  accepts: readonly TransactionType[];
  /** As in `transaction can't be refunded`. */
  verb: string;
}

/** The fields every child reads, in the order their errors are listed; `reason` where the operation takes one. */
export function readChild(reader: RequestReader, options: { reason?: boolean } = {}) {
  // Any parent_uid that is present but not one of our uids (wrong JSON type, any other shape) is a parent
  // that is not found (spec §2.3), answered after the request's own checks (parentUidOf).
  const parentUid = reader.raw('parent_uid');
  if (!reader.has('parent_uid')) reader.fail('parent_uid', "can't be blank");
  return {
    parentUid,
    amount: reader.amount(),
    reason: options.reason ? reader.required('reason') : null,
    notificationUrl: reader.url('notification_url'),
    duplicateCheck: reader.boolean('duplicate_check') ?? true,
  };
}

export type ChildRequest = ReturnType<typeof readChild>;

export function parentUidOf(request: ChildRequest): string {
  if (!isUid(request.parentUid)) throw parentNotFound();
  return request.parentUid;
}

/** `transaction can't be refunded` (and its siblings): wrong parent type or state. */
export function cannot(rule: ParentRule): ApiError {
  return validationError([{ path: ['base'], message: `transaction can't be ${rule.verb}` }]);
}

export function amountTooLarge(max: number): ApiError {
  return validationError([{ path: ['amount'], message: `can't be greater than ${max}` }]);
}

/**
 * The first round trip of A: the parent locked and the duplicate check beside it. A duplicate is refused
 * by the caller after its own rules on the parent (they are answered first).
 */
export function lockParentFor(tx: Tx, shopId: number, parentUid: string, request: ChildRequest, since: string, rule: ParentRule) {
  return Promise.all([
    lockParent(tx, shopId, parentUid),
    request.duplicateCheck ? findRecentDuplicate(tx, { shopId, type: rule.type, amount: request.amount, parentUid, since }) : false,
  ]);
}

/** The parent as this child may take it: present, of a type the rule accepts, and successful. */
export function acceptedParent(parent: TransactionTable | undefined, rule: ParentRule): TransactionTable {
  if (!parent) throw parentNotFound();
  if (!rule.accepts.includes(parent.type) || parent.status !== 'successful') throw cannot(rule);
  return parent;
}

/** remaining = parent.amount − settled children − children in flight. */
export function remainingOf(parent: TransactionTable): number {
  return Number(parent.amount) - Number(parent.child_amount) - Number(parent.reserved_amount);
}

/** Refuses an amount beyond what is left of the parent. */
export function checkWithinRemaining(parent: TransactionTable, amount: number): void {
  const remaining = remainingOf(parent);
  if (amount > remaining) throw amountTooLarge(remaining);
}

export function childRow(ctx: ProcessingContext, invocation: Invocation, rule: ParentRule, request: ChildRequest, parent: TransactionTable) {
  return newTransactionRow(ctx, invocation, {
    type: rule.type,
    amount: request.amount,
    currency: parent.currency,
    parent_uid: parent.uid,
    reason: request.reason,
    test: parent.test,
    language: parent.language,
    notification_url: request.notificationUrl ?? parent.notification_url,
  });
}

export function childCall(row: TransactionTable, parent: TransactionTable, shop: Shop): AcquirerCall {
  return {
    reference: row.acquirer_ref,
    parentReference: parent.acquirer_ref,
    shopId: shop.id,
    amount: row.amount,
    currency: parent.currency,
    settings: shop.acquirerSettings,
  };
}
