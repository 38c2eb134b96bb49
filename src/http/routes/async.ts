import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { validationError } from '../../domain/errors.js';
import { isPlainObject } from '../../domain/request.js';
import type { ApiResponse } from '../../processing/context.js';
import { transactionOperations, type TransactionOperationName } from '../../processing/operations/index.js';
import { documented, type RouteDocumentation } from '../openapi.js';
import type { HttpServices } from '../services.js';
import { asyncDocumentation as documentation, asyncSerialized as serialized } from './async.schema.js';
import { apiVersionOfRequest, idempotencyKeyOf, requireShop, versioned } from './merchant.js';

/**
 * Async mode (spec §4): every operation of §2 under /async, same authentication and body. The submit
 * answers 200 with the task's URLs once the task is committed; workers run the same processing function
 * as the synchronous route, whose exact response is what /async/result serves.
 */
export async function asyncRoutes(app: FastifyInstance, services: HttpServices) {
  const queue = services.asyncQueue;
  requireShop(app, services);
  const send = (reply: FastifyReply, response: ApiResponse) => reply.code(response.statusCode).send(response.body);
  // The task keeps the version its submit asked for: its stored result is in that version (spec §10).
  // A v2 task's sealed request stays exactly as before.
  const version = (request: FastifyRequest) => (apiVersionOfRequest(request) === 3 ? { apiVersion: 3 as const } : {});

  for (const name of Object.keys(transactionOperations) as TransactionOperationName[]) {
    app.post(`/async/transactions/${name}`, versioned(documented(documentation.operation(name), serialized.accepted)), async (request, reply) => {
      // The one check that needs no state and no field rules: the request wrapper. The rest is the
      // operation's, answered in the result exactly as the synchronous route would.
      if (!isPlainObject(request.body) || !isPlainObject(request.body.request)) {
        throw validationError([{ path: ['request'], message: "can't be blank" }]);
      }
      return send(reply, await queue.submit(request.shop!, name, { body: request.body, ...version(request) }, idempotencyKeyOf(request)));
    });
  }
  const accepted = (about: RouteDocumentation) => versioned(documented(about, serialized.accepted));
  app.get<{ Params: { uid: string } }>('/async/transactions/:uid', accepted(documentation.transaction), async (request, reply) =>
    send(reply, await queue.submit(request.shop!, 'transaction', { body: null, params: { uid: request.params.uid }, ...version(request) })),
  );
  app.get<{ Params: { id: string } }>('/async/v2/transactions/tracking_id/:id', accepted(documentation.trackingV2), async (request, reply) =>
    send(reply, await queue.submit(request.shop!, 'tracking_v2', { body: null, params: { tracking_id: request.params.id }, ...version(request) })),
  );
  app.get<{ Params: { id: string } }>('/async/transactions/tracking_id/:id', accepted(documentation.tracking), async (request, reply) =>
    send(reply, await queue.submit(request.shop!, 'tracking', { body: null, params: { tracking_id: request.params.id }, ...version(request) })),
  );
  app.post('/async/balance', accepted(documentation.balance), async (request, reply) =>
    send(reply, await queue.submit(request.shop!, 'balance', { body: request.body, ...version(request) })),
  );
  app.get<{ Params: { id: string } }>('/async/status/:id', documented(documentation.status, serialized.status), async (request, reply) =>
    send(reply, await queue.status(request.shop!, request.params.id)),
  );
  app.get<{ Params: { id: string } }>('/async/result/:id', documented(documentation.result), async (request, reply) =>
    send(reply, await queue.result(request.shop!, request.params.id)),
  );
}
