import { returnUrlWithOutcome } from '../domain/shop.js';
import type { TransactionTable } from '../store/schema.js';
import type { ProcessingContext } from './context.js';

const cardOperations = new Set(['payment', 'authorization', 'tokenization', 'checkup', 'credit']);
const riskChecked = new Set(['payment', 'authorization', 'checkup']);
/** The purchases: the platform answers them with `redirect_url` whatever their status, and with `gateway`. */
const purchases = new Set(['payment', 'authorization']);
/** Children the platform answers with a be_protected_verification although the shop's rules judge their parent only. */
const unjudgedChildren = new Set(['capture', 'void', 'refund']);

/**
 * be_protected_verification of a capture, void or refund: no rule of the shop runs on a child (its parent
 * was judged), so nothing refused it and no rule has a result. Not the parent's block: its `limit` and
 * lists describe the parent's card and customer at the parent's time, which a child does not have.
 */
const UNJUDGED_CHILD = { status: 'successful', message: null, rules: {} } as const;

/**
 * smart_routing_verification: the platform's routing check picks the gateway. A shop here has exactly one
 * connector and no routing rules, so the check never refuses; shown where the platform's recorded answers
 * show it (captures, and a 3-D Secure answer waiting for its customer).
 */
const ROUTED = { status: 'successful' } as const;

/**
 * `gateway.iframe`: whether the 3-D Secure challenge may be shown inside the merchant's frame. The
 * challenge page refuses framing (X-Frame-Options DENY, frame-ancestors 'none': a framed issuer page
 * lends itself to clickjacking), so it is false; the merchant opens `redirect_url` in the top window.
 */
const GATEWAY = { iframe: false } as const;

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
  const receiptUrl = `${ctx.publicUrl}/receipts/${row.uid}?token=${ctx.vault.linkToken('receipt', row.uid)}`;
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
    receipt_url: receiptUrl,
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
  const redirectUrl = redirectUrlOf(ctx, row, status, receiptUrl);
  if (redirectUrl !== undefined) view.redirect_url = redirectUrl;
  if (purchases.has(row.type)) view.gateway = { ...GATEWAY };
  if (row.three_d_secure !== null) view.three_d_secure_verification = json(row.three_d_secure);
  if (riskChecked.has(row.type)) view.be_protected_verification = json(row.be_protected);
  if (unjudgedChildren.has(row.type)) view.be_protected_verification = json(row.be_protected) ?? structuredClone(UNJUDGED_CHILD);
  if (row.type === 'capture' || row.status === 'incomplete') view.smart_routing_verification = { ...ROUTED };
  // The platform's capture request has no parameter that mutes the merchant's notifications (its documented
  // members are parent_uid, amount, duplicate_check, tracking_id, additional_data), so nothing asks for it.
  if (row.type === 'capture') view.mute_notifications = false;
  if (row.avs_cvc !== null) view.avs_cvc_verification = json(row.avs_cvc);
  if (!isChild) {
    view.customer = json(row.customer);
    view.billing_address = json(row.billing_address);
  }
  view.additional_data = json(row.additional_data) ?? {};
  if (row.extra !== null) Object.assign(view, json(row.extra));
  return view;
}

/**
 * Where to send the customer's browser. While `incomplete`: the 3-D Secure page. A payment or authorization
 * that needs no redirect still carries one, as on the platform (its own page of the finished payment): here
 * the merchant's `return_url` with `uid` and `status`, as the 3-D Secure page would send the customer, and
 * without one the receipt. Never the 3-D Secure page of a finished transaction: it only exists while waiting.
 */
function redirectUrlOf(ctx: Pick<ProcessingContext, 'publicUrl'>, row: TransactionTable, status: string, receiptUrl: string): string | undefined {
  if (row.status === 'incomplete') return `${ctx.publicUrl}/process/${row.uid}`;
  if (!purchases.has(row.type)) return undefined;
  return row.return_url ? returnUrlWithOutcome(row.return_url, row.uid, status) : receiptUrl;
}
