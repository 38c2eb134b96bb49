import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import { ApiError } from '../domain/errors.js';
import { errorHandler } from './errors.js';
import { adminRoutes } from './routes/admin.js';
import { asyncRoutes } from './routes/async.js';
import { merchantRoutes } from './routes/merchant.js';
import { operationsRoutes } from './routes/operations.js';
import type { HttpServices } from './services.js';

/** Request bodies above this are refused with 413 (spec §2.3). */
export const BODY_LIMIT = 64 * 1024;

const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildServer(services: HttpServices, logger: Logger, readiness: () => Promise<boolean>): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    // One line per request is written by our onResponse hook (route, status, time), none by Fastify.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && WELL_FORMED_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1000 },
  });
  // Field rules live in the request readers (the API's exact wording); schemas document, they do not reject.
  app.setValidatorCompiler(() => () => true);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    const error = new ApiError(404, 'Record not found');
    reply.code(404).send(error.body());
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    services.metrics.requests.inc({ route, method: request.method, status_code: String(reply.statusCode) });
    services.metrics.latency.observe({ route, method: request.method }, reply.elapsedTime / 1000);
    request.log.info({ method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'ecomgate processing API', version: '1' },
      components: { securitySchemes: { basic: { type: 'http', scheme: 'basic' } } },
      security: [{ basic: [] }],
    },
  });
  await app.register(async (scope) => merchantRoutes(scope, services));
  await app.register(async (scope) => asyncRoutes(scope, services));
  await app.register(async (scope) => adminRoutes(scope, services));
  await app.register(async (scope) => operationsRoutes(scope, services, readiness));
  return app;
}
