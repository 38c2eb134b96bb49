/**
 * Errors are values with an HTTP status and the API's error body; the HTTP layer turns them into
 * responses in one place (src/http/errors.ts). Field errors follow the request's nesting.
 */

export type FieldErrors = { [field: string]: string[] | FieldErrors };

export interface FieldError {
  /** Path inside the request, e.g. ["credit_card", "number"]; ["base"] for errors not tied to a field. */
  path: string[];
  /** The short message stored under the field, e.g. "can't be blank". */
  message: string;
  /** The sentence used in the top-level message when it is not "<Field> <message>". */
  sentence?: string;
}

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly errors?: FieldErrors,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    const inner: Record<string, unknown> = { message: this.message };
    if (this.errors) inner.errors = this.errors;
    // Older clients read the message under `response`: every error body carries both.
    return { ...inner, response: { ...inner } };
  }
}

function humanize(field: string): string {
  const words = field.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function sentenceOf(error: FieldError): string {
  if (error.sentence) return error.sentence;
  const field = error.path[error.path.length - 1];
  if (field === 'base') return error.message;
  return `${humanize(field)} ${error.message}`;
}

export function fieldErrorsOf(list: FieldError[]): FieldErrors {
  const root: FieldErrors = {};
  for (const error of list) {
    let node = root;
    error.path.slice(0, -1).forEach((segment) => {
      const next = node[segment];
      if (!next || Array.isArray(next)) node[segment] = {};
      node = node[segment] as FieldErrors;
    });
    const leaf = error.path[error.path.length - 1];
    if (!Array.isArray(node[leaf])) node[leaf] = [];
    const messages = node[leaf] as string[];
    messages.push(error.message);
  }
  return root;
}

/** HTTP 422 with the API's "<Sentence>. <Sentence>." message and nested field errors. */
export function validationError(list: FieldError[]): ApiError {
  const message = list.map((e) => sentenceOf(e).replace(/\.$/, '') + '.').join(' ');
  return new ApiError(422, message, fieldErrorsOf(list));
}

export const invalidCredentials = () => new ApiError(401, 'Invalid shop_id/secret_key.', undefined, { 'www-authenticate': 'Basic realm="ecomgate"' });
export const recordNotFound = () => new ApiError(404, 'Record not found');
/** The first request with this RequestID has not finished: the retry must wait, not run it twice (spec §2.5). */
export const stillProcessing = () => new ApiError(409, 'A request with this RequestID is still being processed');

/** `Retry-After` in whole seconds, never 0: a client told 0 would retry at once into the same refusal. */
function retryAfter(seconds: number): Record<string, string> {
  return { 'retry-after': String(Math.max(1, Math.ceil(seconds))) };
}

export const rateLimitExceeded = (retryAfterSeconds: number) => new ApiError(429, 'Rate limit exceeded', undefined, retryAfter(retryAfterSeconds));
/** Async back-pressure (spec §4): the queue, or the shop's share of it, is full. */
export const asyncBacklogFull = () => new ApiError(429, 'Too many unfinished asynchronous requests, retry later', undefined, retryAfter(1));
export const tooManyFailedAuthentications = (retryAfterSeconds: number) =>
  new ApiError(429, 'Too many failed authentication attempts', undefined, retryAfter(retryAfterSeconds));
export const parentNotFound = () =>
  validationError([{ path: ['parent_uid'], message: 'Parent transaction is not found', sentence: 'Parent transaction is not found' }]);
export const duplicateTransaction = () => validationError([{ path: ['base'], message: 'Duplicate transaction' }]);
/** A shop sent too many different card numbers with the same shown digits: a number is being guessed from its mask. */
export const cardNumberRefused = (path: string[]) =>
  validationError([
    {
      path,
      message: 'is refused: too many different card numbers with the same first and last digits',
      sentence: 'Card number is refused: too many different card numbers with the same first and last digits were used recently',
    },
  ]);
export const internalError = () => new ApiError(500, "We're sorry, but something went wrong");
/** The gateway cannot reach its database for now; nothing was committed by the request. */
export const unavailableError = () =>
  new ApiError(503, 'Service is temporarily unavailable. Please try again later.', undefined, { 'retry-after': '1' });
