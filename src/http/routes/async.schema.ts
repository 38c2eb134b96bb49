/**
 * The documented bodies of async mode (spec §4), beside async.ts. The 200 answers of submit and status are
 * also Fastify's response schemas: fast-json-stringify writes them (the hot async routes), in the order
 * listed, dropping any property not listed, so they list every field src/async/queue.ts answers with.
 */
import { bodyErrors, errorAnswer, merchantErrors, type RouteDocumentation } from '../openapi.js';
import { merchantDocumentation, operationDocumentation, synchronousAnswers, versionHeaders } from './merchant.schema.js';
import { orV3, v3Answers } from './v3.schema.js';
import type { TransactionOperationName } from '../../processing/operations/index.js';

const text = { type: 'string' };

const accepted = {
  type: 'object',
  properties: { status: text, request_id: text, status_url: text, response_url: text },
  required: ['status', 'request_id'],
  description: 'The task is durably stored: `processing`, with where to ask for its status and its result',
};
const status = {
  type: 'object',
  properties: { status: text, request_id: text, response_url: text },
  required: ['status', 'request_id'],
  description: '`processing` while running; `completed`, with response_url, when done',
};
const unknown = {
  type: 'object',
  required: ['status'],
  properties: { status: { enum: ['unknown'] }, request_id: text },
  description: 'Unknown, foreign, expired or already read (a result that was not a 200 is served once)',
};

/** What Fastify serializes: the 200 of a submit and of a status poll. */
export const asyncSerialized = {
  accepted: { response: { 200: accepted } },
  status: { response: { 200: status } },
};

const wrapperMissing = errorAnswer('No `request` wrapper; every other check is answered in the result');

const submitted = (summary: string, body?: object, headers?: object): RouteDocumentation => {
  const bodyAnswers: Record<number, object> = body ? { 422: orV3(wrapperMissing, v3Answers.validation), ...bodyErrors } : {};
  return {
    summary,
    tags: ['async'],
    headers: headers ?? versionHeaders,
    ...(body && { body }),
    response: {
      ...bodyAnswers,
      ...merchantErrors,
      429: errorAnswer('Rate limit exceeded, or too many unfinished tasks; see Retry-After'),
    },
  };
};

const failed = errorAnswer('The error answer of the synchronous endpoint (served once)');

export const asyncDocumentation = {
  operation: (name: TransactionOperationName) => {
    const { body, headers } = operationDocumentation[name];
    return submitted(`Async ${name}: the same body and RequestID as POST /transactions/${name}`, body, headers);
  },
  transaction: submitted('Async status query by uid'),
  trackingV2: submitted('Async status query by tracking id'),
  tracking: submitted('Async status query by tracking id (legacy)'),
  balance: submitted('Async balance query', merchantDocumentation.balance.body),
  status: { summary: "A task's status", tags: ['async'], response: { 404: unknown, ...merchantErrors } },
  result: {
    summary: "A task's result: exactly the synchronous endpoint's answer, its status code and body",
    tags: ['async'],
    response: {
      200: { anyOf: synchronousAnswers, description: 'The synchronous 200 body' },
      425: { ...accepted, description: 'Still processing' },
      404: { anyOf: [unknown, failed], description: 'Unknown, or the synchronous 404 (served once)' },
      403: failed,
      409: failed,
      422: orV3(failed, v3Answers.validation),
      ...merchantErrors,
    },
  },
} satisfies Record<string, RouteDocumentation | ((name: TransactionOperationName) => RouteDocumentation)>;
