import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticateShop } from '../auth.js';
import type { HttpServices } from '../services.js';
import { requestSchemas } from '../schemas.js';
import type { ApiResponse } from '../../processing/context.js';
import { idempotent } from '../../processing/idempotency.js';
import { queryOperations, transactionOperations, type TransactionOperationName } from '../../processing/operations/index.js';
import { saveCreditCard } from '../../processing/creditCards.js';
import { renotify } from '../../processing/renotify.js';

/** The documented body of each mutating operation. */
export const operationSchemas: Record<TransactionOperationName, object> = {
  payments: requestSchemas.purchase,
  authorizations: requestSchemas.purchase,
  tokenizations: requestSchemas.purchase,
  captures: requestSchemas.child,
  voids: requestSchemas.child,
  refunds: requestSchemas.child,
  payouts: requestSchemas.payout,
  credits: requestSchemas.credit,
  checkups: requestSchemas.purchase,
  chargebacks: requestSchemas.child,
};

/** `RequestID` (alias `Idempotency-Key`): up to 255 visible characters. */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers['requestid'] ?? request.headers['request-id'] ?? request.headers['idempotency-key'];
  return typeof value === 'string' && /^[\x21-\x7e]{1,255}$/.test(value) ? value : undefined;
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
    const body = operationSchemas[name as TransactionOperationName];
    app.post(`/transactions/${name}`, { schema: { body, tags: ['transactions'] } }, async (request, reply) => {
      const invocation = { shop: request.shop!, body: request.body, idempotencyKey: idempotencyKeyOf(request) };
      return send(reply, await idempotent(ctx, invocation, name, operation));
    });
  }
  app.get<{ Params: { uid: string } }>('/transactions/:uid', async (request, reply) =>
    send(reply, await queryOperations.transaction(ctx, { shop: request.shop!, body: null, params: { uid: request.params.uid } })),
  );
  app.post<{ Params: { uid: string } }>('/transactions/:uid/renotify', async (request, reply) => {
    // The body, `{"request":{}}` or none, carries nothing.
    const response = await renotify(ctx, request.shop!, request.params.uid);
    services.webhooks.wake();
    return reply.code(response.statusCode).send(response.body);
  });
  app.get<{ Params: { id: string } }>('/v2/transactions/tracking_id/:id', async (request, reply) =>
    send(reply, await queryOperations.tracking_v2(ctx, { shop: request.shop!, body: null, params: { tracking_id: request.params.id } })),
  );
  app.get<{ Params: { id: string } }>('/transactions/tracking_id/:id', async (request, reply) =>
    send(reply, await queryOperations.tracking(ctx, { shop: request.shop!, body: null, params: { tracking_id: request.params.id } })),
  );
  app.post('/balance', { schema: { body: requestSchemas.balance } }, async (request, reply) =>
    send(reply, await queryOperations.balance(ctx, { shop: request.shop!, body: request.body })),
  );
  app.post('/credit_cards', { schema: { body: requestSchemas.creditCard } }, async (request, reply) => {
    const invocation = { shop: request.shop!, body: request.body, idempotencyKey: idempotencyKeyOf(request) };
    return send(reply, await idempotent(ctx, invocation, 'credit_cards', saveCreditCard));
  });
}
