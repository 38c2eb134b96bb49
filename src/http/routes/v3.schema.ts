/**
 * The documented API v3 answers (spec §10), rendered by processing/apiVersion.ts. A route of §2 documents
 * each as the alternative of its v2 answer, chosen by the request's `X-API-Version: 3`. The v3 transaction
 * is the v2 transaction object (the `Transaction` component) flat at the top level, its card as
 * `payment_method` and its `<type>` sub-object as `transaction`.
 */
import { invalidRequestParams } from '../../domain/codes.js';
import { acquirerMembers } from '../../processing/apiVersion.js';
import { component } from '../openapi.js';

const text = { type: 'string' };
const nullableText = { type: ['string', 'null'] };

const paymentMethod = {
  type: 'object',
  required: ['payment_method_type'],
  description: 'The masked card (never the number, never the CVC); on a child transaction (capture, refund, ...) the type alone',
  properties: {
    payment_method_type: { enum: ['credit_card'] },
    holder: nullableText,
    stamp: { type: 'string', description: 'Keyed hash of the number, stable per card' },
    brand: text,
    last_4: text,
    first_1: text,
    bin: text,
    exp_month: { type: 'integer' },
    exp_year: { type: 'integer' },
    token: text,
  },
};

const acquirerAnswer = {
  type: 'object',
  required: acquirerMembers,
  description: "The acquirer's answer (v2's `<type>` sub-object), null where the bank said nothing",
  properties: {
    ...Object.fromEntries(acquirerMembers.map((member) => [member, nullableText])),
    gateway_id: { type: ['integer', 'string', 'null'] },
    status: text,
  },
};

const transactionV3 = {
  allOf: [
    component('Transaction'),
    { type: 'object', required: ['payment_method', 'transaction'], properties: { payment_method: paymentMethod, transaction: acquirerAnswer } },
  ],
  description: 'v3: the transaction flat at the top level (no `credit_card`, no `<type>` sub-object)',
};

const validationErrorV3 = {
  type: 'object',
  required: ['code', 'friendly_message', 'message', 'errors', 'response'],
  properties: {
    code: { enum: [invalidRequestParams.code] },
    friendly_message: { enum: [invalidRequestParams.friendly_message] },
    message: { type: 'string', description: 'The same sentence as the v2 answer' },
    errors: { type: 'object', additionalProperties: true, description: 'The same field errors as the v2 answer, nested like the request' },
    response: { type: 'object', required: ['message'], description: 'The mirror every error body carries (spec §2.3)' },
  },
};

/** The shared v3 schemas, named in the document under components.schemas beside the v2 ones. */
export const v3Components = { TransactionV3: transactionV3, ValidationErrorV3: validationErrorV3 };

/** The v3 forms of the answers that have one; every other answer is the same in both versions. */
export const v3Answers = {
  transaction: component('TransactionV3'),
  transactions: {
    type: 'object',
    required: ['transactions'],
    properties: { transactions: { type: 'array', maxItems: 10, items: component('TransactionV3') } },
  },
  validation: component('ValidationErrorV3'),
};

/** An answer documented in both versions: v2 without `X-API-Version: 3`, v3 with it. */
export const orV3 = (v2: { description?: string }, v3: object) => ({
  anyOf: [v2, v3],
  description: `${v2.description ?? 'The answer'}; with X-API-Version: 3, its v3 form`,
});

/** `X-API-Version` (read by apiVersionOf in processing/apiVersion.ts). */
export const apiVersionHeader = {
  type: 'string',
  description: '`3`: the v3 response format (spec §10). Absent, `2` or any other value: v2',
};
