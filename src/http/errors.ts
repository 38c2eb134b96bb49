import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, internalError, unavailableError } from '../domain/errors.js';
import { isStoreUnavailable } from '../domain/faults.js';
import { BODY_LIMIT } from './limits.js';

/**
 * The one place errors become HTTP answers. Every answer is JSON with the API's error body; a fault is
 * logged with its stack and answered with the spec's 500 sentence, never the stack.
 */
export function toApiError(error: unknown, bodyLimit = BODY_LIMIT): ApiError | undefined {
  if (error instanceof ApiError) return error;
  const fastifyError = error as FastifyError;
  switch (fastifyError?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      // The limit of the route that refused it: 64 KB for the API, 1 KB for the 3-D Secure form.
      return new ApiError(413, `Request body is too large (${Math.round(bodyLimit / 1024)} KB at most)`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'Content-Type must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'Request body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError(400, 'Request body is not valid JSON');
    case 'FST_ERR_BAD_URL':
      return new ApiError(400, 'The URL is malformed');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError(414, 'The URL is too long');
  }
  if (isStoreUnavailable(error)) return unavailableError();
  if (error instanceof SyntaxError || fastifyError?.statusCode === 400) return new ApiError(400, 'Request body is not valid JSON');
  if (typeof fastifyError?.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new ApiError(fastifyError.statusCode, 'Bad request');
  }
  return undefined;
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  // The request stream's own error: the client reset or closed its connection mid-upload (or was cut off
  // by the request timeout). Its code is ECONNRESET, like a lost database connection's, but nothing is
  // wrong with the store: an info line, never the "database unavailable" warning operators alert on.
  if (request.raw.errored === error) {
    request.log.info({ reason: error instanceof Error ? error.message : String(error) }, 'client aborted the request');
    reply.code(400).send(new ApiError(400, 'The request was aborted by the client').body());
    return;
  }
  const apiError = toApiError(error, request.routeOptions?.bodyLimit);
  if (apiError) {
    if (apiError.statusCode === 503) request.log.warn({ reason: error instanceof Error ? error.message : String(error) }, 'database unavailable');
    reply.headers(apiError.headers).code(apiError.statusCode).send(apiError.body());
    return;
  }
  request.log.error({ err: error }, 'unexpected fault');
  reply.code(500).send(internalError().body());
}
