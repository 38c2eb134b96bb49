/**
 * The documented bodies of the synchronous merchant routes (spec §2), beside merchant.ts. They describe
 * what the request readers accept (an optional field may also be `null` or "", an optional object `[]`;
 * unknown fields are ignored) and what the routes answer; test/openapi.test.ts holds them to both.
 */
import { MAX_AMOUNT } from '../../domain/request.js';
import { transactionTypes } from '../../domain/transaction.js';
import type { TransactionOperationName } from '../../processing/operations/index.js';
import { bodyErrors, component, errorAnswer, merchantErrors, type RouteDocumentation } from '../openapi.js';
import { apiVersionHeader, orV3, v3Answers, v3Components } from './v3.schema.js';

const text = { type: 'string' };
const membersOf = (members: readonly string[], schema: object) => Object.fromEntries(members.map((member) => [member, schema]));
const nullableText = { type: ['string', 'null'] };
const optionalText = (maxLength = 255) => ({ type: ['string', 'null'], maxLength });
const requiredText = (maxLength = 255) => ({ type: 'string', minLength: 1, maxLength });
/** Booleans also arrive as the strings "true" and "false". */
const flag = { enum: [true, false, 'true', 'false', null, ''] };
const amount = { type: 'integer', minimum: 1, maximum: MAX_AMOUNT, description: 'Minor units (`$32.45` is 3245)' };
const currency = { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217 alpha-3, known to the gateway' };
const url = { type: ['string', 'null'], maxLength: 2048, description: 'Absolute http(s) URL' };
/** A member of an object the readers treat as absent when it is null, "" or `[]`. */
const optionalObject = (properties: Record<string, object>, description?: string) => ({
  type: ['object', 'array', 'null'],
  maxItems: 0,
  properties,
  ...(description && { description }),
});
const freeObject = (description: string) => ({ type: ['object', 'array', 'null'], maxItems: 0, additionalProperties: true, description });
const month = {
  anyOf: [
    { type: 'integer', minimum: 1, maximum: 12 },
    { type: 'string', pattern: '^\\d{1,9}$' },
  ],
};
const year = {
  anyOf: [
    { type: 'integer', minimum: 1900, maximum: 2200 },
    { type: 'string', pattern: '^\\d{1,9}$' },
  ],
};

const cardByNumber = {
  number: { type: ['string', 'null'], description: 'Card number, 12 to 19 digits (Luhn); never stored in clear, never answered' },
  holder: optionalText(),
  exp_month: month,
  exp_year: year,
};
const cardByToken = { token: { type: ['string', 'null'], maxLength: 64, description: 'A card token of this shop, instead of the number' } };
/** The readers take the number when one is given, else the token. */
const numberOrToken = [
  { required: ['number', 'exp_month', 'exp_year'], properties: { number: { type: 'string', pattern: '^\\d{12,19}$' } } },
  { required: ['token'], properties: { number: { type: ['string', 'null'], maxLength: 0 }, token: { type: 'string', minLength: 1 } } },
];
const verificationValue = { type: ['string', 'null'], pattern: '^(\\d{3,4})?$', description: 'CVC; used for this call only, never stored' };

/** `credit_card`: the number and expiry, or a token (spec §2.1). */
const requestCard = {
  type: 'object',
  properties: { ...cardByNumber, ...cardByToken, verification_value: verificationValue, skip_three_d_secure_verification: flag },
  anyOf: numberOrToken,
};

const customer = optionalObject({ ip: optionalText(64), email: optionalText(), device_id: optionalText(), birth_date: optionalText(10) });
const addressMembers = ['first_name', 'last_name', 'country', 'city', 'state', 'zip', 'address', 'phone'];
const address = optionalObject(membersOf(addressMembers, optionalText()));
const additionalData = freeObject('Any JSON object (`receipt_text`, `contract`, `meta`, ...), stored and echoed');

/** Every body is wrapped: `{"request": {...}}`. */
const wrapped = (properties: Record<string, object>, required: string[], description: string, rules: object = {}) => ({
  type: 'object',
  required: ['request'],
  properties: { request: { type: 'object', ...(required.length > 0 && { required }), properties, ...rules } },
  description,
});

const purchaseFields = {
  amount,
  currency,
  description: requiredText(),
  tracking_id: { ...optionalText(), description: 'Not unique; may hold several ids joined by `;`' },
  test: flag,
  language: { ...optionalText(10), description: 'Default `en`' },
  notification_url: { ...url, description: 'Webhook target (spec §5); "" for none' },
  return_url: { ...url, description: "Where the customer's browser returns after 3-D Secure" },
  expired_at: { ...optionalText(64), description: 'ISO 8601, in the future: unpaid transactions expire then' },
  duplicate_check: flag,
  credit_card: requestCard,
  customer,
  billing_address: address,
  additional_data: additionalData,
};
const purchaseRequired = ['amount', 'currency', 'description', 'credit_card'];

const childFields = {
  parent_uid: { type: 'string', minLength: 1, description: 'The transaction acted on' },
  amount,
  notification_url: url,
  duplicate_check: flag,
};

const pushFields = {
  amount,
  currency,
  description: requiredText(),
  tracking_id: optionalText(),
  test: flag,
  notification_url: url,
  duplicate_check: flag,
  additional_data: additionalData,
};

const requestBodies = {
  purchase: wrapped(purchaseFields, purchaseRequired, 'Payment, authorization or tokenization'),
  checkup: wrapped({ ...purchaseFields, tracking_id: requiredText() }, [...purchaseRequired, 'tracking_id'], 'Check-up: the risk rules alone'),
  capture: wrapped(childFields, ['parent_uid', 'amount'], 'Capture or void of an authorization'),
  refund: wrapped({ ...childFields, reason: requiredText() }, ['parent_uid', 'amount', 'reason'], 'Refund or chargeback of a payment or capture'),
  payout: wrapped(
    {
      ...pushFields,
      recipient_credit_card: { type: 'object', properties: { ...cardByNumber, ...cardByToken }, anyOf: numberOrToken },
      recipient: freeObject('Echoed'),
      sender: freeObject('Echoed'),
      recipient_billing_address: address,
      sender_billing_address: address,
    },
    ['amount', 'currency', 'description', 'recipient_credit_card'],
    'Payout to a recipient card',
  ),
  credit: wrapped(
    { ...pushFields, credit_card: { type: 'object', required: ['token'], properties: { token: requiredText(64) } } },
    ['amount', 'currency', 'description', 'credit_card'],
    'Credit (legacy payout) to a stored card token',
  ),
  balance: wrapped(
    {
      currency: { ...currency, type: ['string', 'null'] },
      gateway_id: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: '^\\d{1,15}$' }, { type: 'null' }] },
      account: { ...optionalText(64), description: 'As a balance answered it before: `<connector>-<shop id>-<currency>`' },
    },
    [],
    'The currency, or the account, or the gateway id with a currency',
  ),
  creditCard: wrapped(
    { ...cardByNumber, ...cardByToken },
    [],
    'With `number`: stores the card and answers its token. With `token` (and no number): updates its holder and expiry',
    { anyOf: numberOrToken },
  ),
  creditCardUpdate: wrapped(
    {
      holder: optionalText(),
      exp_month: { anyOf: [...month.anyOf, { enum: [null, ''] }] },
      exp_year: { anyOf: [...year.anyOf, { enum: [null, ''] }] },
      number: { description: 'Not read: a token keeps its number' },
    },
    [],
    'The holder and expiry of the card the path names; what is not sent stays as it was',
  ),
  challengeReturn: wrapped(
    { result: { enum: ['authenticated', 'failed'], description: "The issuer's answer (sandbox): the page's Authenticate or Fail" } },
    ['result'],
    'The end of a 3-D Secure challenge, sent by the merchant server',
  ),
  /** Renotify carries nothing: `{"request":{}}`, or no body at all. */
  renotify: { type: 'object', properties: { request: { type: 'object' } } },
};

/** The masked card: never the number, never the CVC. */
const cardView = {
  type: 'object',
  required: ['holder', 'stamp', 'brand', 'last_4', 'first_1', 'bin', 'exp_month', 'exp_year', 'token'],
  properties: {
    holder: nullableText,
    stamp: { type: 'string', description: 'Keyed hash of the number, stable per card' },
    brand: { enum: ['visa', 'master', 'maestro', 'amex', 'discover', 'jcb', 'diners', 'unionpay', 'mir', 'unknown'] },
    last_4: text,
    first_1: text,
    bin: text,
    bin_8: nullableText,
    exp_month: { type: 'integer' },
    exp_year: { type: 'integer' },
    token: text,
    issuer_country: nullableText,
    issuer_name: nullableText,
    product: nullableText,
    token_provider: nullableText,
  },
};

const { holder, stamp, brand, last_4, first_1, exp_month, exp_year, token, bin, issuer_country, issuer_name, product } = cardView.properties;
const tokenCard = {
  type: 'object',
  required: ['token', 'holder', 'brand', 'first_1', 'last_4', 'exp_month', 'exp_year', 'stamp', 'bin', 'issuer_country', 'issuer_name', 'product'],
  properties: {
    token,
    holder,
    brand,
    first_1,
    last_4,
    exp_month,
    exp_year,
    stamp,
    bin: { ...bin, description: 'Up to 6 leading digits: fewer for a number under 16 digits (the truncation rule)' },
    issuer_country: { ...issuer_country, description: 'null in the sandbox' },
    issuer_name: { ...issuer_name, description: 'null in the sandbox' },
    product: { ...product, description: 'null in the sandbox' },
  },
};

/** The `<type>` sub-object: the acquirer's answer, null where the bank said nothing. */
const acquirerAnswer = {
  type: 'object',
  required: ['status', 'message'],
  properties: {
    status: text,
    message: nullableText,
    auth_code: nullableText,
    bank_code: nullableText,
    rrn: nullableText,
    ref_id: nullableText,
    gateway_id: { type: ['integer', 'string', 'null'] },
    amount: { type: 'integer' },
    currency: text,
    billing_descriptor: nullableText,
  },
};

const threeDSecureMembers = [
  'message',
  've_status',
  'pa_status',
  'eci',
  'xid',
  'cavv',
  'cavv_algorithm',
  'fail_reason',
  'acs_url',
  'pa_req',
  'md',
  'pa_res_url',
  'method_process_url',
  'creq',
];
const echoedRecord = (members: readonly string[]) => ({ type: ['object', 'null'], properties: membersOf(members, nullableText) });
const timestamp = { type: ['string', 'null'], format: 'date-time' };

/** The API's transaction object (spec §2.2). Its `<type>` member (`payment`, `refund`, ...) is the acquirer's answer. */
const transaction = {
  type: 'object',
  required: ['uid', 'id', 'type', 'status', 'message', 'code', 'amount', 'currency', 'test', 'created_at', 'updated_at', 'receipt_url'],
  properties: {
    uid: { type: 'string', format: 'uuid' },
    id: { type: 'string', format: 'uuid', description: 'Same as uid' },
    type: { enum: transactionTypes },
    status: { enum: ['successful', 'failed', 'incomplete', 'expired', 'pending'], description: '`pending`: the acquirer answer is in doubt' },
    message: { type: ['string', 'null'], description: 'null while incomplete' },
    code: { type: ['string', 'null'], description: '`S.0000`, `F.0xxx` or `P.xxxx`' },
    friendly_message: nullableText,
    amount: { type: 'integer' },
    currency: text,
    description: nullableText,
    tracking_id: nullableText,
    test: { type: 'boolean' },
    language: nullableText,
    parent_uid: { type: 'string', description: 'On capture, void, refund and chargeback' },
    reason: { type: 'string', description: 'On refund and chargeback' },
    payment_method_type: { enum: ['credit_card'] },
    created_at: timestamp,
    updated_at: timestamp,
    paid_at: timestamp,
    expired_at: timestamp,
    closed_at: timestamp,
    settled_at: timestamp,
    manually_corrected_at: timestamp,
    recurring_type: nullableText,
    status_code: { type: ['integer', 'string', 'null'] },
    receipt_url: text,
    redirect_url: {
      type: 'string',
      description:
        "Where to send the customer's browser: while incomplete the 3-D Secure page; on a payment or authorization that needs " +
        'no redirect, its `return_url` with `uid` and `status` added, or else its receipt',
    },
    gateway: {
      type: 'object',
      required: ['iframe'],
      properties: { iframe: { type: 'boolean', description: 'Whether the 3-D Secure page may be shown in a frame (it may not)' } },
      description: 'On payment and authorization',
    },
    smart_routing_verification: {
      type: 'object',
      required: ['status'],
      properties: { status: { enum: ['successful', 'failed'] } },
      description: 'On capture, and while incomplete',
    },
    mute_notifications: { type: 'boolean', description: 'On capture: false (no request mutes the webhook)' },
    credit_card: { ...cardView, description: 'On payment, authorization, tokenization, check-up and credit' },
    recipient_credit_card: { ...cardView, description: 'On payout' },
    ...Object.fromEntries(transactionTypes.map((type) => [type, acquirerAnswer])),
    three_d_secure_verification: {
      type: 'object',
      required: ['status'],
      properties: { ...echoedRecord(threeDSecureMembers).properties, status: text },
      description: 'When 3-D Secure ran',
    },
    be_protected_verification: {
      type: ['object', 'null'],
      description:
        'The risk rules: on payment, authorization and check-up; on capture, void and refund, which no rule judges, ' +
        '`{"status":"successful","message":null,"rules":{}}`',
      properties: {
        status: text,
        message: nullableText,
        white_black_list: { type: 'object', properties: membersOf(['email', 'ip', 'card_number'], { enum: ['absent', 'white', 'black'] }) },
        rules: { type: 'object', additionalProperties: true },
        limit: {
          type: 'object',
          properties: membersOf(['volume', 'count', 'max', 'current_volume', 'current_count'], { type: ['integer', 'null'] }),
        },
      },
    },
    avs_cvc_verification: {
      type: 'object',
      properties: {
        avs_verification: { type: 'object', properties: { result_code: nullableText } },
        cvc_verification: { type: 'object', properties: { result_code: nullableText } },
      },
    },
    customer: echoedRecord(['ip', 'email', 'device_id', 'birth_date']),
    billing_address: echoedRecord(addressMembers),
    recipient: { type: 'object', additionalProperties: true },
    sender: { type: 'object', additionalProperties: true },
    recipient_billing_address: echoedRecord(addressMembers),
    sender_billing_address: echoedRecord(addressMembers),
    additional_data: { type: 'object', additionalProperties: true },
  },
};

const responseBodies = {
  transaction: {
    type: 'object',
    required: ['transaction'],
    properties: { transaction: component('Transaction') },
    description: 'The transaction, whatever its status (a declined payment too)',
  },
  transactions: {
    type: 'object',
    required: ['transactions'],
    properties: { transactions: { type: 'array', maxItems: 10, items: component('Transaction') } },
    description: 'The 10 newest matches, newest first; `[]` when none',
  },
  balance: {
    type: 'object',
    required: ['status', 'result'],
    properties: {
      status: { enum: ['successful'] },
      result: {
        type: 'object',
        required: ['gatewayId', 'account', 'amount', 'currency'],
        properties: {
          gatewayId: { type: 'integer' },
          account: text,
          amount: { type: ['integer', 'string'], description: 'Minor units; beyond 2^53 - 1 the exact digits as a string' },
          currency: text,
          bankInfo: { type: 'object', additionalProperties: true },
        },
      },
    },
    description: "The merchant account's balance at the acquirer",
  },
  creditCard: { ...tokenCard, description: 'The bare card object (no wrapper)' },
  renotified: { type: 'object', required: ['message'], properties: { message: { enum: ['Transaction was renotified'] } } },
};

const invalid = errorAnswer('Validation: the message and field errors of spec §2.3');
const notFound = errorAnswer('`Record not found`: unknown, foreign or malformed');
const conflict = errorAnswer('The same RequestID is still being processed');

/** The shared schemas of the merchant routes, named in the document under components.schemas. */
export const merchantComponents = { Transaction: transaction, ...v3Components };

/** The synchronous answers of the operations async mode also runs: what /async/result serves. */
export const synchronousAnswers = [
  responseBodies.transaction,
  responseBodies.transactions,
  responseBodies.balance,
  v3Answers.transaction,
  v3Answers.transactions,
];

/** `RequestID` (alias `Idempotency-Key`, read by idempotencyKeyOf in merchant.ts): safe retries for 24 h (spec §2.5). */
const retryKey = { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$', description: 'A repeat with the same key and body answers the first response' };
const idempotencyHeaders = { type: 'object', properties: { RequestID: retryKey, 'Idempotency-Key': retryKey, 'X-API-Version': apiVersionHeader } };
/** The routes of spec §2 answer in the format `X-API-Version` asks for (spec §10). */
export const versionHeaders = { type: 'object', properties: { 'X-API-Version': apiVersionHeader } };
/** A transaction answer, and a validation refusal, in v2 or v3. */
const versionedTransaction = orV3(responseBodies.transaction, v3Answers.transaction);
const versionedInvalid = orV3(invalid, v3Answers.validation);

const operation = (summary: string, body: object, extra: Record<number, object> = {}): RouteDocumentation => ({
  summary,
  tags: ['transactions'],
  headers: idempotencyHeaders,
  body,
  response: { 200: versionedTransaction, 422: versionedInvalid, 409: conflict, ...extra, ...bodyErrors, ...merchantErrors },
});

/** Each mutating operation of spec §2, by the name of its route. */
export const operationDocumentation: Record<TransactionOperationName, RouteDocumentation> = {
  payments: operation('Payment: authorization and capture at once', requestBodies.purchase),
  authorizations: operation('Authorization: hold funds', requestBodies.purchase),
  tokenizations: operation('Tokenization: a card token with 3-D Secure data, no money moves', requestBodies.purchase),
  captures: operation('Capture of an authorization, partial allowed', requestBodies.capture),
  voids: operation('Void of an authorization', requestBodies.capture),
  refunds: operation('Refund of a payment or capture', requestBodies.refund),
  payouts: operation('Payout: push funds to a recipient card', requestBodies.payout),
  credits: operation('Credit: legacy payout to a stored card token', requestBodies.credit),
  checkups: operation('Check-up: risk rules only, no money moves', requestBodies.checkup),
  chargebacks: operation('Chargeback (test shops only: it simulates the bank)', requestBodies.refund, {
    403: errorAnswer('The shop is not in test mode'),
  }),
};

/** The update of a card named by its token in the path: both paths of the Ruby client. */
function cardUpdate(summary: string): RouteDocumentation {
  return {
    summary,
    tags: ['cards'],
    headers: idempotencyHeaders,
    body: requestBodies.creditCardUpdate,
    response: { 200: responseBodies.creditCard, 404: notFound, 422: versionedInvalid, 409: conflict, ...bodyErrors, ...merchantErrors },
  };
}

/** `/credit_cards` and its v2 path (the Ruby client's v2_create_card), one operation. */
const creditCards: RouteDocumentation = {
  summary: 'Card token: create, or update holder and expiry',
  tags: ['cards'],
  headers: idempotencyHeaders,
  body: requestBodies.creditCard,
  response: { 200: responseBodies.creditCard, 422: versionedInvalid, 409: conflict, ...bodyErrors, ...merchantErrors },
};

export const merchantDocumentation = {
  transaction: {
    summary: 'Status query by uid',
    tags: ['queries'],
    headers: versionHeaders,
    response: { 200: versionedTransaction, 404: notFound, ...merchantErrors },
  },
  renotify: {
    summary: 'Queue a fresh webhook delivery of the transaction as it is now',
    tags: ['queries'],
    body: requestBodies.renotify,
    response: {
      200: responseBodies.renotified,
      404: notFound,
      422: { ...invalid, description: 'The transaction has no notification_url' },
      ...bodyErrors,
      ...merchantErrors,
    },
  },
  trackingV2: {
    summary: 'Status query by tracking id',
    tags: ['queries'],
    headers: versionHeaders,
    response: { 200: orV3(responseBodies.transactions, v3Answers.transactions), ...merchantErrors },
  },
  tracking: {
    summary: 'Status query by tracking id (legacy): the newest match alone',
    tags: ['queries'],
    headers: versionHeaders,
    response: { 200: versionedTransaction, 404: notFound, ...merchantErrors },
  },
  balance: {
    summary: 'Balance query',
    tags: ['queries'],
    headers: versionHeaders,
    body: requestBodies.balance,
    response: { 200: responseBodies.balance, 422: versionedInvalid, ...bodyErrors, ...merchantErrors },
  },
  creditCards,
  creditCardsV2: { ...creditCards, summary: 'Card token (v2 path): create, or update holder and expiry, as POST /credit_cards' },
  creditCardUpdate: cardUpdate('Card token: update holder and expiry of the card the path names'),
  creditCardUpdateV2: cardUpdate('Card token (v2 path): update holder and expiry, as POST /credit_cards/{token}'),
  challengeReturn: {
    summary: "3-D Secure: finish an incomplete transaction's challenge server-side, with the issuer's answer",
    tags: ['transactions'],
    body: requestBodies.challengeReturn,
    response: {
      200: versionedTransaction,
      404: notFound,
      422: orV3(
        { ...invalid, description: 'Validation, or the transaction is not waiting for 3-D Secure (finished, expired, or never challenged)' },
        v3Answers.validation,
      ),
      ...bodyErrors,
      ...merchantErrors,
    },
  },
} satisfies Record<string, RouteDocumentation>;
