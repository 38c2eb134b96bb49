/**
 * Typed errors a caller can `instanceof`. A request that produced a transaction is never an error, even
 * when the transaction failed (a declined payment is HTTP 200 with `status: "failed"`).
 */

/** Field errors, nested like the request: `{"credit_card": {"number": ["is invalid"]}}`; `base` for the rest. */
export type FieldErrors = { [field: string]: string[] | FieldErrors };

export interface GatewayErrorOptions {
  statusCode?: number;
  body?: unknown;
  requestId?: string;
  cause?: unknown;
}

/** The base of every error of this package; thrown as is for 5xx and statuses without a class of their own. */
export class GatewayError extends Error {
  /** The HTTP status; undefined when no answer came (network failure, timeout) or for webhooks. */
  readonly statusCode: number | undefined;
  /** The answer's body (parsed JSON, or the text when it was not JSON). */
  readonly body: unknown;
  /** The gateway's `X-Request-Id` of the answer: quote it to the operator. */
  readonly requestId: string | undefined;
  /** The API v3 code of the answer (`E.1025` for a validation refusal); undefined in v2. */
  readonly code: string | undefined;

  constructor(message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.statusCode = options.statusCode;
    this.body = options.body;
    this.requestId = options.requestId;
    const code = isObject(options.body) ? options.body.code : undefined;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

/** 422: the request was refused (`.errors` has the field errors, `.message` the API's sentence). */
export class ValidationError extends GatewayError {
  readonly errors: FieldErrors;

  constructor(message: string, errors: FieldErrors, options: GatewayErrorOptions = {}) {
    super(message, options);
    this.errors = errors;
  }
}

/** 401: wrong shop id or secret key. */
export class AuthenticationError extends GatewayError {}

/** 404: unknown uid (another shop's included), or an async request id that is unknown, expired or already read. */
export class NotFoundError extends GatewayError {}

/** 409: a request with the same `RequestID` is still being processed. */
export class ConflictError extends GatewayError {}

/** 429: too many requests for the shop (or too many unfinished async tasks). */
export class RateLimitError extends GatewayError {
  /** Seconds to wait before trying again, from `Retry-After`. */
  readonly retryAfter: number | undefined;

  constructor(message: string, retryAfter: number | undefined, options: GatewayErrorOptions = {}) {
    super(message, options);
    this.retryAfter = retryAfter;
  }
}

/**
 * No usable answer from the gateway: the connection failed, no answer came within `timeoutMs`, or the
 * answer was not JSON (a proxy's error page: the gateway itself always answers JSON).
 */
export class ConnectionError extends GatewayError {}

/** 425 from an async result: the task is still running (also what `wait()` throws when its time is up). */
export class StillProcessingError extends GatewayError {}

/** A webhook whose signature or credentials do not check out, or whose body is not a transaction. */
export class WebhookVerificationError extends GatewayError {}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The API's message: top level, or under `response` where older gateways put it. */
function messageOf(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  if (typeof body.message === 'string') return body.message;
  if (isObject(body.response) && typeof body.response.message === 'string') return body.response.message;
  return undefined;
}

function fieldErrorsOf(body: unknown): FieldErrors {
  if (!isObject(body)) return {};
  if (isObject(body.errors)) return body.errors as FieldErrors;
  if (isObject(body.response) && isObject(body.response.errors)) return body.response.errors as FieldErrors;
  return {};
}

/** `Retry-After` is seconds or an HTTP date. */
export function retryAfterSeconds(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** The one place an HTTP answer that is not a result becomes an error. */
export function errorFromAnswer(statusCode: number, body: unknown, headers: Headers): GatewayError {
  const requestId = headers.get('x-request-id') ?? undefined;
  const options = { statusCode, body, requestId };
  const message = messageOf(body) ?? `The gateway answered HTTP ${statusCode}`;
  switch (statusCode) {
    case 401:
      return new AuthenticationError(message, options);
    case 404:
      return new NotFoundError(message, options);
    case 409:
      return new ConflictError(message, options);
    case 422:
      return new ValidationError(message, fieldErrorsOf(body), options);
    case 425:
      return new StillProcessingError('The async request is still processing', options);
    case 429:
      return new RateLimitError(message, retryAfterSeconds(headers.get('retry-after')), options);
    default:
      return new GatewayError(message, options);
  }
}
