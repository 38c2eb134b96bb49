import { backoffMs, sleep } from './delay.js';
import { errorFromAnswer, GatewayError, NotFoundError, RateLimitError, StillProcessingError } from './errors.js';
import type { CallOptions, HttpAnswer, Transport } from './http.js';
import { calls, type OperationCall, type ResultKind, type ResultOf, type TransactionOperation, unwrap, unwrapAny } from './operations.js';
import type {
  ApiVersion,
  AuthorizationRequest,
  Balance,
  BalanceRequest,
  CaptureRequest,
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

/** `GET /async/status/{request_id}`. */
export interface AsyncStatus {
  status: 'processing' | 'completed' | 'unknown';
  request_id: string;
  response_url?: string;
}

export interface WaitOptions {
  /** Give up (StillProcessingError) after this long; default 60000. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Polling: the first wait is 100–200 ms, doubling up to 2 s (each with jitter). */
const POLL_FIRST_MS = 200;
const POLL_MAX_MS = 2_000;
const DEFAULT_WAIT_MS = 60_000;

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

function isUnknownTask(answer: HttpAnswer, requestId: string): boolean {
  const body = answer.body as { status?: unknown; request_id?: unknown } | null;
  return answer.status === 404 && body?.status === 'unknown' && body?.request_id === requestId;
}

/**
 * One submitted async request. The gateway serves a result that is not a 200 (a 422, a 404, a 500 ...)
 * exactly once; the handle keeps whatever it read, so `result()` and `wait()` answer the same thing on
 * every call, and concurrent calls on one handle share one read instead of racing each other for it.
 */
export class AsyncHandle<T> {
  private outcome: Outcome<T> | undefined;
  private reading: Promise<T> | undefined;

  constructor(
    private readonly transport: Transport,
    /** The gateway's id of the task. */
    readonly requestId: string,
    /** As the gateway announced them (built on its public URL). */
    readonly statusUrl: string,
    readonly responseUrl: string,
    private readonly unwrapResult: (body: unknown) => T,
  ) {}

  /** Whether the task is done. After the handle has read the result, `completed` without asking. */
  async status(options: Pick<CallOptions, 'signal' | 'timeoutMs'> = {}): Promise<AsyncStatus> {
    if (this.outcome) return { status: 'completed', request_id: this.requestId, response_url: this.responseUrl };
    // Polled through the client's own base URL: the announced URLs carry the gateway's public address,
    // and the shop's credentials go only where the client was told to send them.
    const answer = await this.transport.send(
      { method: 'GET', path: `/async/status/${encodeURIComponent(this.requestId)}`, mutating: false },
      options,
    );
    if (answer.status === 200 || isUnknownTask(answer, this.requestId)) return answer.body as AsyncStatus;
    throw errorFromAnswer(answer.status, answer.body, answer.headers);
  }

  /**
   * The operation's outcome, as the synchronous call would have given it: resolves with the result of a
   * 200, rejects with the typed error of any other stored answer. Rejects with StillProcessingError while
   * the task runs, and NotFoundError when the gateway does not know the request (expired, never
   * submitted, or its one-time result was read by someone else).
   */
  result(options: Pick<CallOptions, 'signal' | 'timeoutMs'> = {}): Promise<T> {
    if (this.outcome) return this.outcome.ok ? Promise.resolve(this.outcome.value) : Promise.reject(this.outcome.error);
    this.reading ??= this.read(options).finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** Polls `result()` with exponential back-off and jitter until the task is done. */
  async wait(options: WaitOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
    const deadline = Date.now() + timeoutMs;
    for (let poll = 0; ; poll++) {
      try {
        return await this.result({ signal: options.signal });
      } catch (error) {
        let pauseMs: number;
        if (error instanceof StillProcessingError) pauseMs = backoffMs(poll, POLL_FIRST_MS, POLL_MAX_MS);
        else if (error instanceof RateLimitError) pauseMs = (error.retryAfter ?? 1) * 1000;
        else throw error;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new StillProcessingError(`The async request ${this.requestId} is still processing after ${timeoutMs} ms`, {
            statusCode: error.statusCode,
            body: error.body,
            requestId: error.requestId,
          });
        }
        await sleep(Math.min(pauseMs, left), options.signal);
      }
    }
  }

  private async read(options: Pick<CallOptions, 'signal' | 'timeoutMs'>): Promise<T> {
    const answer = await this.transport.send(
      { method: 'GET', path: `/async/result/${encodeURIComponent(this.requestId)}`, mutating: false },
      options,
    );
    if (answer.status === 425) throw errorFromAnswer(425, answer.body, answer.headers);
    if (isUnknownTask(answer, this.requestId)) {
      throw new NotFoundError(
        `The gateway does not know the async request ${this.requestId}: never submitted, expired, or its one-time result was already read`,
        {
          statusCode: 404,
          body: answer.body,
          requestId: answer.headers.get('x-request-id') ?? undefined,
        },
      );
    }
    // Answers of the result endpoint itself, not of the task: nothing was consumed, so nothing is kept.
    if (answer.status === 401 || answer.status === 429) throw errorFromAnswer(answer.status, answer.body, answer.headers);
    let outcome: Outcome<T>;
    if (answer.status === 200) {
      try {
        outcome = { ok: true, value: this.unwrapResult(answer.body) };
      } catch (error) {
        outcome = { ok: false, error };
      }
    } else {
      outcome = { ok: false, error: errorFromAnswer(answer.status, answer.body, answer.headers) };
    }
    this.outcome = outcome;
    if (outcome.ok) return outcome.value;
    throw outcome.error;
  }
}

interface SubmitAnswer {
  status: 'processing';
  request_id: string;
  status_url: string;
  response_url: string;
}

/**
 * Async mode (spec §4): every operation answers at once with a handle, before the bank is asked
 * anything. Mutating submits carry a `RequestID` like the synchronous calls, so a retried submit answers
 * its first task instead of queuing another.
 */
export class AsyncGateway<V extends ApiVersion = 2> {
  constructor(private readonly transport: Transport) {}

  payment(request: PaymentRequest, options?: CallOptions): Promise<AsyncHandle<TransactionOf<V>>> {
    return this.transactionOperation('payment', request, options);
  }

  authorization(request: AuthorizationRequest, options?: CallOptions): Promise<AsyncHandle<TransactionOf<V>>> {
    return this.transactionOperation('authorization', request, options);
  }

  capture(request: CaptureRequest, options?: CallOptions): Promise<AsyncHandle<TransactionOf<V>>> {
    return this.transactionOperation('capture', request, options);
  }

  void(request: VoidRequest, options?: CallOptions): Promise<AsyncHandle<TransactionOf<V>>> {
    return this.transactionOperation('void', request, options);
  }

  refund(request: RefundRequest, options?: CallOptions): Promise<AsyncHandle<TransactionOf<V>>> {
    return this.transactionOperation('refund', request, options);
  }

  payout(request: PayoutRequest, options?: CallOptions): Promise<AsyncHandle<TransactionOf<V>>> {
    return this.transactionOperation('payout', request, options);
  }

  credit(request: CreditRequest, options?: CallOptions): Promise<AsyncHandle<TransactionOf<V>>> {
    return this.transactionOperation('credit', request, options);
  }

  tokenization(request: TokenizationRequest, options?: CallOptions): Promise<AsyncHandle<TransactionOf<V>>> {
    return this.transactionOperation('tokenization', request, options);
  }

  checkup(request: CheckupRequest, options?: CallOptions): Promise<AsyncHandle<TransactionOf<V>>> {
    return this.transactionOperation('checkup', request, options);
  }

  chargeback(request: ChargebackRequest, options?: CallOptions): Promise<AsyncHandle<TransactionOf<V>>> {
    return this.transactionOperation('chargeback', request, options);
  }

  transaction(uid: string, options?: CallOptions): Promise<AsyncHandle<TransactionOf<V>>> {
    return this.submit(calls.transaction(uid), options);
  }

  byTrackingId(trackingId: string, options?: CallOptions): Promise<AsyncHandle<TransactionOf<V>[]>> {
    return this.submit(calls.byTrackingId(trackingId), options);
  }

  balance(currency: string | BalanceRequest, options?: CallOptions): Promise<AsyncHandle<Balance>> {
    return this.submit(calls.balance(currency), options);
  }

  /**
   * A handle for a request submitted earlier (by another process, before a restart ...). Its result is
   * unwrapped by shape: a transaction, a list of transactions, or a balance.
   */
  handle(requestId: string): AsyncHandle<unknown> {
    if (typeof requestId !== 'string' || requestId === '') throw new TypeError('requestId must be a non-empty string');
    const base = this.transport.baseUrl;
    const id = encodeURIComponent(requestId);
    return new AsyncHandle(this.transport, requestId, `${base}/async/status/${id}`, `${base}/async/result/${id}`, unwrapAny);
  }

  private transactionOperation(operation: TransactionOperation, request: object, options?: CallOptions): Promise<AsyncHandle<TransactionOf<V>>> {
    return this.submit(calls.transactionOperation(operation, request), options);
  }

  private async submit<K extends ResultKind>(call: OperationCall<K>, options?: CallOptions): Promise<AsyncHandle<ResultOf<V>[K]>> {
    const answer = await this.transport.send({ ...call, path: `/async${call.path}` }, options);
    if (answer.status !== 200) throw errorFromAnswer(answer.status, answer.body, answer.headers);
    const body = answer.body as Partial<SubmitAnswer>;
    if (typeof body?.request_id !== 'string') {
      throw new GatewayError('The gateway accepted the async request without a request_id', {
        statusCode: 200,
        body,
        requestId: answer.headers.get('x-request-id') ?? undefined,
      });
    }
    return new AsyncHandle(this.transport, body.request_id, body.status_url ?? '', body.response_url ?? '', (result) =>
      unwrap(call.result, result, this.transport.apiVersion as V),
    );
  }
}
