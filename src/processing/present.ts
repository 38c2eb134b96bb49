import type { TransactionTable } from '../store/schema.js';
import type { ProcessingContext } from './context.js';

const cardOperations = new Set(['payment', 'authorization', 'tokenization', 'checkup', 'credit']);
const riskChecked = new Set(['payment', 'authorization', 'checkup']);

function json(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}

/** Our internal states are shown as the API's: a transaction awaiting its acquirer answer is `pending`. */
function visibleStatus(status: string): string {
  return status === 'processing' ? 'pending' : status;
}

/** The `<type>` sub-object: the acquirer's answer, with nulls where the bank said nothing. */
export function operationBlock(row: TransactionTable, status: string, message: string | null, fields: Record<string, unknown> = {}) {
  return {
    status,
    message,
    auth_code: null,
    bank_code: null,
    rrn: null,
    ref_id: null,
    gateway_id: null,
    amount: Number(row.amount),
    currency: row.currency,
    billing_descriptor: null,
    ...fields,
  };
}

/** The API's transaction object. Child transactions stay lean as in the original (no card, no description). */
export function presentTransaction(ctx: Pick<ProcessingContext, 'publicUrl' | 'vault'>, row: TransactionTable): Record<string, unknown> {
  const isChild = row.parent_uid !== null;
  const status = visibleStatus(row.status);
  const view: Record<string, unknown> = {
    uid: row.uid,
    id: row.uid,
    type: row.type,
    status,
    message: row.message,
    code: row.code,
    friendly_message: row.friendly_message,
    amount: Number(row.amount),
    currency: row.currency,
    test: row.test === 1,
    language: row.language,
    payment_method_type: 'credit_card',
    created_at: row.created_at,
    updated_at: row.updated_at,
    paid_at: row.paid_at,
    expired_at: row.expired_at,
    closed_at: row.closed_at,
    settled_at: row.settled_at,
    manually_corrected_at: null,
    recurring_type: null,
    status_code: null,
    receipt_url: `${ctx.publicUrl}/receipts/${row.uid}?token=${ctx.vault.linkToken('receipt', row.uid)}`,
  };
  if (isChild) {
    view.parent_uid = row.parent_uid;
    if (row.reason !== null) view.reason = row.reason;
  } else {
    view.description = row.description;
    view.tracking_id = row.tracking_id;
  }
  if (cardOperations.has(row.type)) view.credit_card = json(row.credit_card);
  view[row.type] = json(row.acquirer_response) ?? operationBlock(row, status, null);
  if (row.status === 'incomplete') view.redirect_url = `${ctx.publicUrl}/process/${row.uid}`;
  if (row.three_d_secure !== null) view.three_d_secure_verification = json(row.three_d_secure);
  if (riskChecked.has(row.type)) view.be_protected_verification = json(row.be_protected);
  if (row.avs_cvc !== null) view.avs_cvc_verification = json(row.avs_cvc);
  if (!isChild) {
    view.customer = json(row.customer);
    view.billing_address = json(row.billing_address);
  }
  view.additional_data = json(row.additional_data) ?? {};
  if (row.extra !== null) Object.assign(view, json(row.extra));
  return view;
}
