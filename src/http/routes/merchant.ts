import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import { authenticateShop } from '../auth.js';
import type { HttpServices } from '../services.js';
import { documented } from '../openapi.js';
import { merchantDocumentation as documentation, operationDocumentation } from './merchant.schema.js';
import { type ApiVersion, apiVersionOf, inApiVersion } from '../../processing/apiVersion.js';
import type { ApiResponse } from '../../processing/context.js';
import { idempotent } from '../../processing/idempotency.js';
import { queryOperations, transactionOperations, type TransactionOperationName } from '../../processing/operations/index.js';
import { saveCreditCard, updateCreditCard } from '../../processing/creditCards.js';
import { renotify } from '../../processing/renotify.js';
import { returnFromChallenge } from '../../processing/threeDSecure.js';

/** `RequestID` (alias `Idempotency-Key`): up to 255 visible characters. */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers['requestid'] ?? request.headers['request-id'] ?? request.headers['idempotency-key'];
  return typeof value === 'string' && /^[\x21-\x7e]{1,255}$/.test(value) ? value : undefined;
}

/** The response format the request asks for with `X-API-Version` (spec §10). */
export function apiVersionOfRequest(request: FastifyRequest): ApiVersion {
  return apiVersionOf(request.headers['x-api-version']);
}

/**
 * A §2 route's options, answering in the version its request asks for. Rendered as the last step before
 * serialization, so the 422s that the readers throw (answered by the error handler) are rendered too.
 */
export function versioned(options: RouteShorthandOptions): RouteShorthandOptions {
  return {
    ...options,
    preSerialization: async (request: FastifyRequest, reply: FastifyReply, payload: unknown) =>
      inApiVersion(apiVersionOfRequest(request), { statusCode: reply.statusCode, body: payload }).body,
  };
}

/** HTTP Basic per shop (failures throttled) and the per-shop rate limit, for every merchant route (sync and async). */
export function requireShop(app: FastifyInstance, services: HttpServices) {
  app.addHook('onRequest', async (request) => {
    const shop = await authenticateShop(services.shops, services.authThrottle, request);
    await services.rateLimiter.take(shop.id);
    request.shop = shop;
  });
}

/** The synchronous merchant routes of spec §2. */
export async function merchantRoutes(app: FastifyInstance, services: HttpServices) {
  const { ctx } = services;
  requireShop(app, services);
  const send = (reply: FastifyReply, response: ApiResponse) => {
    services.metrics.countAnswer(response.statusCode, response.body);
    return reply.code(response.statusCode).send(response.body);
  };

  for (const [name, operation] of Object.entries(transactionOperations)) {
    app.post(`/transactions/${name}`, versioned(documented(operationDocumentation[name as TransactionOperationName])), async (request, reply) => {
      const invocation = { shop: request.shop!, body: request.body, idempotencyKey: idempotencyKeyOf(request) };
      return send(reply, await idempotent(ctx, invocation, name, operation));
    });
  }
  app.get<{ Params: { uid: string } }>('/transactions/:uid', versioned(documented(documentation.transaction)), async (request, reply) =>
    send(reply, await queryOperations.transaction(ctx, { shop: request.shop!, body: null, params: { uid: request.params.uid } })),
  );
  app.post<{ Params: { uid: string } }>('/transactions/:uid/renotify', documented(documentation.renotify), async (request, reply) => {
    // The body, `{"request":{}}` or none, carries nothing.
    const response = await renotify(ctx, request.shop!, request.params.uid);
    services.webhooks.wake();
    return reply.code(response.statusCode).send(response.body);
  });
  app.get<{ Params: { id: string } }>('/v2/transactions/tracking_id/:id', versioned(documented(documentation.trackingV2)), async (request, reply) =>
    send(reply, await queryOperations.tracking_v2(ctx, { shop: request.shop!, body: null, params: { tracking_id: request.params.id } })),
  );
  app.get<{ Params: { id: string } }>('/transactions/tracking_id/:id', versioned(documented(documentation.tracking)), async (request, reply) =>
    send(reply, await queryOperations.tracking(ctx, { shop: request.shop!, body: null, params: { tracking_id: request.params.id } })),
  );
  app.post('/balance', versioned(documented(documentation.balance)), async (request, reply) =>
    send(reply, await queryOperations.balance(ctx, { shop: request.shop!, body: request.body })),
  );
  const saveCard = async (request: FastifyRequest, reply: FastifyReply) => {
    const invocation = { shop: request.shop!, body: request.body, idempotencyKey: idempotencyKeyOf(request) };
    return send(reply, await idempotent(ctx, invocation, 'credit_cards', saveCreditCard));
  };
  app.post('/credit_cards', versioned(documented(documentation.creditCards)), saveCard);
  // The v2 paths of the card routes (the Ruby client's v2_*_card methods) are the same operations.
  app.post('/v2/credit_cards', versioned(documented(documentation.creditCardsV2)), saveCard);
  const updateCard = async (request: FastifyRequest<{ Params: { token: string } }>, reply: FastifyReply) => {
    const { token } = request.params;
    const invocation = { shop: request.shop!, body: request.body, idempotencyKey: idempotencyKeyOf(request), params: { token } };
    // The token is part of what a RequestID stands for: the same body for another card is another request.
    return send(reply, await idempotent(ctx, invocation, `credit_cards/${token}`, updateCreditCard));
  };
  app.post<{ Params: { token: string } }>('/credit_cards/:token', versioned(documented(documentation.creditCardUpdate)), updateCard);
  app.put<{ Params: { token: string } }>('/v2/credit_cards/:token', versioned(documented(documentation.creditCardUpdateV2)), updateCard);
  // Not under `idempotent`: it creates no transaction for a RequestID to name, and a repeat is refused anyway.
  app.post<{ Params: { uid: string } }>('/process/:uid/return', versioned(documented(documentation.challengeReturn)), async (request, reply) =>
    send(reply, await returnFromChallenge(ctx, request.shop!, request.params.uid, request.body)),
  );
}
