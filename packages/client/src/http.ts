import { randomUUID } from 'node:crypto';
import { backoffMs, sleep } from './delay.js';
import { ConnectionError, retryAfterSeconds } from './errors.js';

export const VERSION = '0.1.0';

/** Per-call options of every operation. */
export interface CallOptions {
  /**
   * The `RequestID` (idempotency key) of a mutating call; a random UUID when not given. Pass your own to
   * make a retry safe across processes (a repeat with the same key and body answers the first result).
   */
  requestId?: string;
  /** Aborts the call (and its retries); the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Overrides the client's `timeoutMs` for each attempt of this call. */
  timeoutMs?: number;
}

export interface HttpCall {
  method: 'GET' | 'POST';
  /** Path under the base URL, already encoded. */
  path: string;
  /** The JSON body, sent as is (the caller wraps it in {"request": ...}). */
  body?: unknown;
  /** Sends a `RequestID`, the same on every retry of this call, so the gateway runs it at most once. */
  mutating: boolean;
  headers?: Record<string, string>;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** The parsed JSON body. */
  body: unknown;
}

export interface TransportOptions {
  shopId: number | string;
  secretKey: string;
  baseUrl: string;
  timeoutMs: number;
  retries: number;
  /** 3 sends `X-API-Version: 3` on every call (spec §10); 2 leaves each call's own header. */
  apiVersion: 2 | 3;
}

/** A proxy's answer for a gateway it could not reach; the request may not have arrived, so it is retried. */
const UNREACHABLE = new Set([502, 503, 504]);
/** Network failures: the first retry waits 0.25–0.5 s, then twice as long each time, up to 5 s. */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 5_000;
/** A `Retry-After` beyond this is not waited out inside one call: the RateLimitError goes to the caller. */
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * HTTP to the gateway: Basic authentication, JSON, a per-attempt timeout, and retries of what is safe to
 * retry — network failures (a mutating call keeps its `RequestID`, so a request that did arrive is not
 * run twice) and 429 (refused before anything ran). Any other answer goes back to the caller as it is.
 */
export class Transport {
  readonly baseUrl: string;
  readonly apiVersion: 2 | 3;
  private readonly authorization: string;

  constructor(private readonly options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiVersion = options.apiVersion;
    this.authorization = 'Basic ' + Buffer.from(`${options.shopId}:${options.secretKey}`).toString('base64');
  }

  async send(call: HttpCall, options: CallOptions = {}): Promise<HttpAnswer> {
    const headers: Record<string, string> = {
      authorization: this.authorization,
      accept: 'application/json',
      'user-agent': `ecomgate-client/${VERSION} node/${process.versions.node}`,
      ...call.headers,
      ...(this.options.apiVersion === 3 && { 'x-api-version': '3' }),
    };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    if (call.mutating) headers['RequestID'] = options.requestId ?? randomUUID();
    const payload = call.body === undefined ? undefined : JSON.stringify(call.body);

    for (let attempt = 0; ; attempt++) {
      const retriesLeft = attempt < this.options.retries;
      let answer: HttpAnswer;
      try {
        answer = await this.attempt(call, headers, payload, options);
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        const retryable = error instanceof ConnectionError && (error.statusCode === undefined || UNREACHABLE.has(error.statusCode));
        if (!retryable || !retriesLeft) throw error;
        await sleep(backoffMs(attempt, RETRY_FIRST_MS, RETRY_MAX_MS), options.signal);
        continue;
      }
      if (answer.status === 429 && retriesLeft) {
        const retryAfter = retryAfterSeconds(answer.headers.get('retry-after'));
        const waitMs = retryAfter === undefined ? backoffMs(attempt, RETRY_FIRST_MS, RETRY_MAX_MS) : retryAfter * 1000;
        if (waitMs <= MAX_RETRY_AFTER_MS) {
          await sleep(waitMs, options.signal);
          continue;
        }
      }
      return answer;
    }
  }

  private async attempt(call: HttpCall, headers: Record<string, string>, payload: string | undefined, options: CallOptions): Promise<HttpAnswer> {
    const url = this.baseUrl + call.path;
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new ConnectionError(`No answer from the gateway within ${timeoutMs} ms (${call.method} ${call.path})`)),
      timeoutMs,
    );
    const onAbort = () => controller.abort(options.signal!.reason);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      let response: Response;
      let text: string;
      try {
        response = await fetch(url, { method: call.method, headers, body: payload, signal: controller.signal, redirect: 'manual' });
        text = await response.text();
      } catch (error) {
        if (controller.signal.aborted) throw controller.signal.reason;
        throw new ConnectionError(`Could not reach the gateway at ${this.baseUrl}: ${describe(error)}`, { cause: error });
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        // The gateway answers JSON on every route; anything else comes from something in between.
        throw new ConnectionError(
          `The gateway is unavailable: HTTP ${response.status} answered ${response.headers.get('content-type') ?? 'no content type'}, not JSON`,
          {
            statusCode: response.status,
            body: text,
            requestId: response.headers.get('x-request-id') ?? undefined,
          },
        );
      }
      return { status: response.status, headers: response.headers, body };
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** fetch's "fetch failed" hides the reason in its cause (ECONNREFUSED, ECONNRESET, ...). */
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
}
