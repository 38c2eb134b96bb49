/**
 * The response formats of the processing API (spec §10). v2 is what presentTransaction and the error
 * bodies give; v3 is a presentation of that same answer, derived here and nowhere else, so both formats
 * always say the same thing about a transaction.
 */
import { invalidRequestParams } from '../domain/codes.js';
import type { ApiResponse, ApiVersion } from './context.js';

export type { ApiVersion };

/** `X-API-Version`: `3` selects v3; absent, `2` or any other value is v2, as the spec says other values are ignored (§1). */
export function apiVersionOf(header: unknown): ApiVersion {
  return typeof header === 'string' && header.trim() === '3' ? 3 : 2;
}

type View = Record<string, unknown>;

function isView(value: unknown): value is View {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pick(view: View, members: readonly string[]): View {
  return Object.fromEntries(members.map((member) => [member, view[member] ?? null]));
}

/** `payment_method` shows exactly these of the masked card view: never more of the number than v2 shows. */
const paymentMethodMembers = ['holder', 'stamp', 'brand', 'last_4', 'first_1', 'bin', 'exp_month', 'exp_year', 'token'] as const;
/** `transaction` is the acquirer's answer, the v2 `<type>` sub-object. */
export const acquirerMembers = ['auth_code', 'bank_code', 'rrn', 'ref_id', 'message', 'gateway_id', 'billing_descriptor', 'status'] as const;

/**
 * A v2 transaction object, flat in v3: the card (`credit_card`, or a payout's `recipient_credit_card`) becomes
 * `payment_method`, the `<type>` sub-object becomes `transaction`; every other member stays as v2 has it. A
 * child transaction (capture, refund, ...) has no card of its own, so its `payment_method` names the type alone.
 */
export function presentTransactionV3(view: View): View {
  const type = String(view.type);
  const { credit_card, recipient_credit_card, payment_method_type, [type]: acquirer, ...rest } = view;
  const card = isView(credit_card) ? credit_card : isView(recipient_credit_card) ? recipient_credit_card : undefined;
  return {
    ...rest,
    payment_method: { payment_method_type: payment_method_type ?? 'credit_card', ...(card && pick(card, paymentMethodMembers)) },
    transaction: isView(acquirer) ? pick(acquirer, acquirerMembers) : null,
  };
}

/**
 * A v2 422 body as v3's E.1025: the same `message` and `errors`, and still their `response` mirror, which
 * every error body of the API carries (spec §2.3), so the v3 body only adds to the v2 one.
 */
function validationErrorV3(body: View): View {
  const errors = isView(body.errors) ? body.errors : {};
  return { ...invalidRequestParams, message: body.message, errors, response: body.response ?? { message: body.message, errors } };
}

/**
 * An answer of a §2 route in the version asked for. v3 changes the transaction answers and the 422s;
 * balance and card-token answers, and every other error (401, 404, 409, 429, 5xx), are the same in both,
 * as no v3 form of them is documented.
 */
export function inApiVersion(version: ApiVersion, response: ApiResponse): ApiResponse {
  const { statusCode, body } = response;
  if (version === 2 || !isView(body)) return response;
  if (statusCode === 422) return { statusCode, body: validationErrorV3(body) };
  if (statusCode !== 200) return response;
  if (isView(body.transaction)) return { statusCode, body: presentTransactionV3(body.transaction) };
  if (Array.isArray(body.transactions)) return { statusCode, body: { transactions: body.transactions.filter(isView).map(presentTransactionV3) } };
  return response;
}
