import { AsyncGateway } from './async.js';
import { errorFromAnswer } from './errors.js';
import { type CallOptions, Transport } from './http.js';
import { calls, type OperationCall, type ResultKind, type ResultOf, unwrap } from './operations.js';
import type {
  ApiVersion,
  AuthorizationRequest,
  Balance,
  BalanceRequest,
  CaptureRequest,
  CardToken,
  CardTokenCreateRequest,
  CardTokenUpdateRequest,
  ChargebackRequest,
  CheckupRequest,
  CreditRequest,
  PaymentRequest,
  PayoutRequest,
  RefundRequest,
  TokenizationRequest,
  TransactionOf,
  VoidRequest,
} from './types.js';

export interface GatewayOptions<V extends ApiVersion = 2> {
  /** The shop id (HTTP Basic user). */
  shopId: number | string;
  /** The shop's secret key (HTTP Basic password). */
  secretKey: string;
  /** e.g. `https://gateway.example.com` (no trailing path needed). */
  baseUrl: string;
  /** Per attempt; default 60000 (the gateway waits up to 30 s on a bank before settling by inquiry). */
  timeoutMs?: number;
  /** Retries of network failures and 429s (default 2); other answers are never retried. */
  retries?: number;
  /**
   * 3: every call sends `X-API-Version: 3` and resolves to the v3 transaction (flat, `payment_method`,
   * `transaction`; spec §10), async results included. Default 2.
   */
  apiVersion?: V;
}

/**
 * The processing API, one method per operation. Each resolves to the transaction (whatever its status:
 * a declined payment resolves with `status: "failed"`) and rejects with a typed error when the gateway
 * could not process the request at all.
 */
export class Gateway<V extends ApiVersion = 2> {
  /** The same operations in async mode (spec §4): each answers a handle to wait on. */
  readonly async: AsyncGateway<V>;
  private readonly transport: Transport;

  constructor(options: GatewayOptions<V>) {
    if (options.shopId === undefined || options.shopId === null || String(options.shopId) === '') throw new TypeError('shopId is required');
    if (!options.secretKey) throw new TypeError('secretKey is required');
    if (!options.baseUrl) throw new TypeError('baseUrl is required');
    new URL(options.baseUrl); // throws on a malformed base URL now rather than at the first call
    const timeoutMs = options.timeoutMs ?? 60_000;
    const retries = options.retries ?? 2;
    if (!(timeoutMs > 0)) throw new TypeError('timeoutMs must be a positive number');
    if (!Number.isInteger(retries) || retries < 0) throw new TypeError('retries must be a whole number');
    const apiVersion = options.apiVersion ?? 2;
    if (apiVersion !== 2 && apiVersion !== 3) throw new TypeError('apiVersion must be 2 or 3');
    const { shopId, secretKey, baseUrl } = options;
    this.transport = new Transport({ shopId, secretKey, baseUrl, timeoutMs, retries, apiVersion });
    this.async = new AsyncGateway<V>(this.transport);
  }

  /** Authorization and capture at once. */
  payment(request: PaymentRequest, options?: CallOptions): Promise<TransactionOf<V>> {
    return this.call(calls.transactionOperation('payment', request), options);
  }

  /** Holds funds; capture or void it later. */
  authorization(request: AuthorizationRequest, options?: CallOptions): Promise<TransactionOf<V>> {
    return this.call(calls.transactionOperation('authorization', request), options);
  }

  /** Captures (part of) an authorization. */
  capture(request: CaptureRequest, options?: CallOptions): Promise<TransactionOf<V>> {
    return this.call(calls.transactionOperation('capture', request), options);
  }

  /** Releases an authorization (only while nothing is captured). */
  void(request: VoidRequest, options?: CallOptions): Promise<TransactionOf<V>> {
    return this.call(calls.transactionOperation('void', request), options);
  }

  /** Refunds (part of) a payment or capture. */
  refund(request: RefundRequest, options?: CallOptions): Promise<TransactionOf<V>> {
    return this.call(calls.transactionOperation('refund', request), options);
  }

  /** Pushes funds to a recipient card. */
  payout(request: PayoutRequest, options?: CallOptions): Promise<TransactionOf<V>> {
    return this.call(calls.transactionOperation('payout', request), options);
  }

  /** The legacy payout to a stored card token. */
  credit(request: CreditRequest, options?: CallOptions): Promise<TransactionOf<V>> {
    return this.call(calls.transactionOperation('credit', request), options);
  }

  /** A card token with 3-D Secure data; no money moves. */
  tokenization(request: TokenizationRequest, options?: CallOptions): Promise<TransactionOf<V>> {
    return this.call(calls.transactionOperation('tokenization', request), options);
  }

  /** Risk rules only; no money moves. */
  checkup(request: CheckupRequest, options?: CallOptions): Promise<TransactionOf<V>> {
    return this.call(calls.transactionOperation('checkup', request), options);
  }

  /** Simulates the bank's dispute of a payment or capture (shops in test mode only). */
  chargeback(request: ChargebackRequest, options?: CallOptions): Promise<TransactionOf<V>> {
    return this.call(calls.transactionOperation('chargeback', request), options);
  }

  /** Status query by uid; NotFoundError when unknown (or another shop's). */
  transaction(uid: string, options?: CallOptions): Promise<TransactionOf<V>> {
    return this.call(calls.transaction(uid), options);
  }

  /** The 10 most recent transactions with this tracking id, newest first (`[]` when none). */
  byTrackingId(trackingId: string, options?: CallOptions): Promise<TransactionOf<V>[]> {
    return this.call(calls.byTrackingId(trackingId), options);
  }

  /** The merchant account's balance at the acquirer, in minor units. */
  balance(currency: string | BalanceRequest, options?: CallOptions): Promise<Balance> {
    return this.call(calls.balance(currency), options);
  }

  /** Stores a card in the vault and answers its token. */
  createCardToken(card: CardTokenCreateRequest, options?: CallOptions): Promise<CardToken> {
    return this.call(calls.cardToken(card), options);
  }

  /** Updates holder and/or expiry of a stored card; the token stays the same. */
  updateCardToken(update: CardTokenUpdateRequest, options?: CallOptions): Promise<CardToken> {
    return this.call(calls.cardToken(update), options);
  }

  private async call<K extends ResultKind>(call: OperationCall<K>, options?: CallOptions): Promise<ResultOf<V>[K]> {
    const answer = await this.transport.send(call, options);
    if (answer.status !== 200) throw errorFromAnswer(answer.status, answer.body, answer.headers);
    return unwrap(call.result, answer.body, this.transport.apiVersion as V);
  }
}
