/**
 * Request shapes for the OpenAPI document. The field rules themselves (with the API's exact wording, null
 * and "" as absent, strings or integers for expiry) are applied by the request readers of `processing/`;
 * these schemas document them and are not used to reject requests.
 */
const card = {
  type: 'object',
  properties: {
    number: { type: 'string', description: 'Card number (12–19 digits, Luhn)' },
    verification_value: { type: 'string', description: 'CVC; used for this call only, never stored' },
    holder: { type: 'string' },
    exp_month: { type: ['string', 'integer'] },
    exp_year: { type: ['string', 'integer'] },
    token: { type: 'string', description: 'A card token instead of the number' },
    skip_three_d_secure_verification: { type: 'boolean' },
  },
};

const purchase = {
  amount: { type: 'integer', minimum: 1, description: 'Minor units' },
  currency: { type: 'string', description: 'ISO 4217 alpha-3' },
  description: { type: 'string', maxLength: 255 },
  tracking_id: { type: 'string', maxLength: 255 },
  test: { type: 'boolean' },
  language: { type: 'string' },
  notification_url: { type: 'string' },
  return_url: { type: 'string' },
  expired_at: { type: 'string', format: 'date-time' },
  duplicate_check: { type: 'boolean' },
  credit_card: card,
  customer: { type: 'object' },
  billing_address: { type: 'object' },
  additional_data: { type: 'object' },
};

const child = {
  parent_uid: { type: 'string' },
  amount: { type: 'integer', minimum: 1 },
  reason: { type: 'string', maxLength: 255 },
  duplicate_check: { type: 'boolean' },
};

const wrap = (properties: Record<string, unknown>) => ({
  type: 'object',
  required: ['request'],
  properties: { request: { type: 'object', properties } },
});

// Payouts take `recipient_credit_card` instead: leave the member out (an `undefined` property breaks the
// OpenAPI generator, and /docs/json answered 500).
const { credit_card: _card, ...purchaseWithoutCard } = purchase;

export const requestSchemas = {
  purchase: wrap(purchase),
  child: wrap(child),
  payout: wrap({ ...purchaseWithoutCard, recipient_credit_card: card, recipient: { type: 'object' }, sender: { type: 'object' } }),
  credit: wrap({ ...purchase, credit_card: { type: 'object', properties: { token: { type: 'string' } } } }),
  balance: wrap({ currency: { type: 'string' }, gateway_id: { type: ['string', 'integer'] }, account: { type: 'string' } }),
  creditCard: wrap({ number: { type: 'string' }, holder: { type: 'string' }, exp_month: { type: ['string', 'integer'] }, exp_year: { type: ['string', 'integer'] }, token: { type: 'string' } }),
};

const text = { type: 'string' };

/**
 * Answers of the hot async routes, written by fast-json-stringify instead of JSON.stringify. Only the 200
 * has a schema (errors keep the generic serialiser). A schema writes its properties in the order listed
 * and drops any it does not list, so these list every field src/async/queue.ts answers with, in its order.
 */
export const responseSchemas = {
  asyncAccepted: {
    200: { type: 'object', properties: { status: text, request_id: text, status_url: text, response_url: text }, required: ['status', 'request_id'] },
  },
  asyncStatus: {
    200: { type: 'object', properties: { status: text, request_id: text, response_url: text }, required: ['status', 'request_id'] },
  },
};
