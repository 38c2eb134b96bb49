import { GatewayError } from './errors.js';
import type { HttpCall } from './http.js';
import type { ApiVersion, Balance, BalanceRequest, CardToken, TransactionOf } from './types.js';

/** What a successful answer holds, and so how it is unwrapped. */
export type ResultKind = 'transaction' | 'transactions' | 'balance' | 'card';

export interface ResultOf<V extends ApiVersion = 2> {
  transaction: TransactionOf<V>;
  transactions: TransactionOf<V>[];
  balance: Balance;
  card: CardToken;
}

export interface OperationCall<K extends ResultKind> extends HttpCall {
  result: K;
}

/** The operations of spec §2 that create a transaction, by client method and route name. */
export const transactionRoutes = {
  payment: 'payments',
  authorization: 'authorizations',
  tokenization: 'tokenizations',
  capture: 'captures',
  void: 'voids',
  refund: 'refunds',
  payout: 'payouts',
  credit: 'credits',
  checkup: 'checkups',
  chargeback: 'chargebacks',
} as const;

export type TransactionOperation = keyof typeof transactionRoutes;

function segment(name: string, value: string): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string`);
  return encodeURIComponent(value);
}

/**
 * Each operation as an HTTP call, the same for sync and async mode (async prefixes the path with
 * `/async`). Request bodies are wrapped in {"request": ...} here, and only here.
 */
export const calls = {
  transactionOperation(operation: TransactionOperation, request: object): OperationCall<'transaction'> {
    return { method: 'POST', path: `/transactions/${transactionRoutes[operation]}`, body: { request }, mutating: true, result: 'transaction' };
  },
  transaction(uid: string): OperationCall<'transaction'> {
    return { method: 'GET', path: `/transactions/${segment('uid', uid)}`, mutating: false, result: 'transaction' };
  },
  byTrackingId(trackingId: string): OperationCall<'transactions'> {
    return { method: 'GET', path: `/v2/transactions/tracking_id/${segment('trackingId', trackingId)}`, mutating: false, result: 'transactions' };
  },
  balance(request: string | BalanceRequest): OperationCall<'balance'> {
    const fields = typeof request === 'string' ? { currency: request } : request;
    // Clients of the original API send X-API-Version: 2 on /balance.
    return { method: 'POST', path: '/balance', body: { request: fields }, mutating: false, result: 'balance', headers: { 'x-api-version': '2' } };
  },
  cardToken(request: object): OperationCall<'card'> {
    return { method: 'POST', path: '/credit_cards', body: { request }, mutating: true, result: 'card' };
  },
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A v3 transaction is the answer itself, flat (its `transaction` member is the acquirer's answer). */
function isFlatTransaction(body: unknown): body is Record<string, unknown> {
  return isObject(body) && typeof body.uid === 'string';
}

/** A 200 answer's payload: the transaction (v2 unwrapped, v3 as it is), the list, the balance's `result`, the bare card object. */
export function unwrap<K extends ResultKind, V extends ApiVersion = 2>(kind: K, body: unknown, version: V = 2 as V): ResultOf<V>[K] {
  const value =
    kind === 'transaction'
      ? version === 3
        ? isFlatTransaction(body)
          ? body
          : undefined
        : isObject(body)
          ? body.transaction
          : undefined
      : kind === 'transactions'
        ? isObject(body)
          ? body.transactions
          : undefined
        : kind === 'balance'
          ? isObject(body)
            ? body.result
            : undefined
          : body;
  const fits = kind === 'transactions' ? Array.isArray(value) : isObject(value);
  if (!fits) throw new GatewayError(`The gateway answered 200 without the expected ${kind}`, { statusCode: 200, body });
  return value as ResultOf<V>[K];
}

/** For a handle whose operation is not known (resumed by request id): unwrap by the answer's shape. */
export function unwrapAny(body: unknown): unknown {
  if (isFlatTransaction(body)) return body;
  if (isObject(body)) {
    if (isObject(body.transaction)) return body.transaction;
    if (Array.isArray(body.transactions)) return body.transactions;
    if (isObject(body.result) && 'status' in body) return body.result;
  }
  return body;
}
