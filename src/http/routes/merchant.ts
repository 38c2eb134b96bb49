import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticateShop } from '../auth.js';
import type { HttpServices } from '../services.js';
import { requestSchemas } from '../schemas.js';
import type { ApiResponse, Invocation, ProcessingContext } from '../../processing/context.js';
import { idempotent } from '../../processing/idempotency.js';
import { payment } from '../../processing/payment.js';
import { authorization } from '../../processing/authorization.js';
import { tokenization } from '../../processing/tokenization.js';
import { capture } from '../../processing/capture.js';
import { voidAuthorization } from '../../processing/void.js';
import { refund } from '../../processing/refund.js';
import { payout } from '../../processing/payout.js';
import { credit } from '../../processing/credit.js';
import { checkup } from '../../processing/checkup.js';
import { chargeback } from '../../processing/chargeback.js';
import { balance } from '../../processing/balance.js';
import { saveCreditCard } from '../../processing/creditCards.js';
import { latestByTrackingId, transactionByUid, transactionsByTrackingId } from '../../processing/query.js';

type Operation = (ctx: ProcessingContext, invocation: Invocation) => Promise<ApiResponse>;

/** The mutating operations of spec §2: path under /transactions, the operation, its documented body. */
export const transactionOperations: [string, Operation, object][] = [
  ['payments', payment, requestSchemas.purchase],
  ['authorizations', authorization, requestSchemas.purchase],
  ['tokenizations', tokenization, requestSchemas.purchase],
  ['captures', capture, requestSchemas.child],
  ['voids', voidAuthorization, requestSchemas.child],
  ['refunds', refund, requestSchemas.child],
  ['payouts', payout, requestSchemas.payout],
  ['credits', credit, requestSchemas.credit],
  ['checkups', checkup, requestSchemas.purchase],
  ['chargebacks', (ctx, invocation) => chargeback(ctx, invocation), requestSchemas.child],
];

/** `RequestID` (alias `Idempotency-Key`): up to 255 visible characters. */
function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers['requestid'] ?? request.headers['request-id'] ?? request.headers['idempotency-key'];
  return typeof value === 'string' && /^[\x21-\x7e]{1,255}$/.test(value) ? value : undefined;
}

/** Merchant routes: HTTP Basic per shop, per-shop rate limit, then the operation. */
export async function merchantRoutes(app: FastifyInstance, services: HttpServices) {
  const { ctx } = services;
  app.addHook('onRequest', async (request) => {
    const shop = await authenticateShop(services.shops, request);
    services.rateLimiter.take(shop.id);
    request.shop = shop;
  });
  const send = (reply: FastifyReply, response: ApiResponse) => {
    const transaction = (response.body as { transaction?: { type: string; status: string } }).transaction;
    if (transaction && response.statusCode === 200) services.metrics.transactions.inc({ type: transaction.type, status: transaction.status });
    return reply.code(response.statusCode).send(response.body);
  };

  for (const [path, operation, body] of transactionOperations) {
    app.post(`/transactions/${path}`, { schema: { body, tags: ['transactions'] } }, async (request, reply) => {
      const invocation = { shop: request.shop!, body: request.body, idempotencyKey: idempotencyKeyOf(request) };
      return send(reply, await idempotent(ctx, invocation, operation));
    });
  }
  app.get<{ Params: { uid: string } }>('/transactions/:uid', async (request, reply) =>
    send(reply, await transactionByUid(ctx, request.shop!, request.params.uid)),
  );
  app.get<{ Params: { id: string } }>('/v2/transactions/tracking_id/:id', async (request, reply) =>
    send(reply, await transactionsByTrackingId(ctx, request.shop!, request.params.id)),
  );
  app.get<{ Params: { id: string } }>('/transactions/tracking_id/:id', async (request, reply) =>
    send(reply, await latestByTrackingId(ctx, request.shop!, request.params.id)),
  );
  app.post('/balance', { schema: { body: requestSchemas.balance } }, async (request, reply) =>
    send(reply, await balance(ctx, { shop: request.shop!, body: request.body })),
  );
  app.post('/credit_cards', { schema: { body: requestSchemas.creditCard } }, async (request, reply) => {
    const invocation = { shop: request.shop!, body: request.body, idempotencyKey: idempotencyKeyOf(request) };
    return send(reply, await idempotent(ctx, invocation, saveCreditCard));
  });
}
