import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import { ApiError, recordNotFound } from '../domain/errors.js';
import { errorHandler } from './errors.js';
import { BODY_LIMIT } from './limits.js';
import { openapiDocument } from './openapi.js';
import { adminRoutes } from './routes/admin.js';
import { asyncRoutes } from './routes/async.js';
import { pageRoutes } from './routes/pages.js';
import { merchantRoutes } from './routes/merchant.js';
import { merchantComponents } from './routes/merchant.schema.js';
import { operationsRoutes } from './routes/operations.js';
import type { HttpServices } from './services.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Objects and arrays nested deeper than this in a request body are refused with 400. */
export const MAX_BODY_DEPTH = 64;

function nestedDeeperThan(value: unknown, max: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return false;
}

/** How long a client may take to send a request, and how many connections it may hold (config.ts). */
export interface ConnectionLimits {
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** 0: no cap. */
  maxConnections: number;
  /** Load balancers whose X-Forwarded-For names the client (config.ts). */
  trustedProxies: string[];
}

export async function buildServer(
  services: HttpServices,
  logger: Logger,
  readiness: () => Promise<boolean>,
  limits: ConnectionLimits,
  /** `--role worker` serves /healthz, /readyz and /metrics only (no merchant, page or admin routes). */
  options: { merchantRoutes?: boolean } = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    // A request whose headers or body stall is answered 408 (clientErrorHandler below) once its time is up,
    // instead of holding its socket forever. Node checks for expired requests on an interval (30 s by
    // default): keep it well under the shortest timeout so the 408 comes close to it.
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    trustProxy: limits.trustedProxies.length > 0 ? limits.trustedProxies : false,
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
    // Node caps the request line at 16 KB anyway; a longer cap lets the routes answer any uid or tracking id per spec.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 16 * 1024 },
    // Malformed or over-long URLs are refused by the router before any hook: answer them with the API's body too.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id).header('x-content-type-options', 'nosniff');
      errorHandler(error, request, reply);
    },
    // Errors Node's HTTP parser meets before any route (headers over 16 KB: 431, garbage: 400, slow: 408)
    // get the API's error body with its `response` mirror too (spec §2.3), not Fastify's own.
    clientErrorHandler(error: NodeJS.ErrnoException, socket) {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const [status, message] =
        error.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request headers are too large']
          : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? [408, 'Request timed out']
            : [400, 'Bad request'];
      const body = JSON.stringify(new ApiError(status, message).body());
      if (socket.writable) {
        socket.write(
          `HTTP/1.1 ${status} ${message}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
            `X-Request-Id: ${randomUUID()}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
        );
      }
      socket.destroy(error);
    },
  });
  // Past the cap Node closes a new connection at once: a flood of idle sockets cannot exhaust descriptors.
  if (limits.maxConnections > 0) app.server.maxConnections = limits.maxConnections;
  app.server.on('drop', () => services.metrics.connectionsDropped.inc());
  // Only JSON bodies (spec §1): without this, Fastify's built-in text/plain parser lets a string through.
  app.removeContentTypeParser('text/plain');
  // A body that is not UTF-8 is refused: decoding it leniently would store U+FFFD in place of the bytes
  // the merchant sent (a description, a holder name) without telling anyone.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = strictUtf8.decode(body as Buffer);
    } catch {
      done(new ApiError(400, 'Request body is not valid UTF-8'), undefined);
      return;
    }
    parseJson(request, text, done);
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((_request, reply) => {
    const error = recordNotFound();
    reply.code(404).send(error.body());
  });

  // Every answer is JSON or a page of ours, served as declared: no browser guesses another type.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id).header('x-content-type-options', 'nosniff');
  });
  // Graceful shutdown: a keep-alive connection busy when close() began would otherwise stay open (and
  // hold the process) for the whole keep-alive timeout after its answer; `Connection: close` ends it.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  // JSON nested deeper than any real request makes JSON.stringify (hashing, storage) overflow the stack.
  app.addHook('preValidation', async (request) => {
    if (nestedDeeperThan(request.body, MAX_BODY_DEPTH)) throw new ApiError(400, 'Request body is nested too deeply');
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    services.metrics.requests.inc({ route, method: request.method, status_code: String(reply.statusCode) });
    services.metrics.latency.observe({ route, method: request.method }, reply.elapsedTime / 1000);
    request.log.info({ method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
  });

  // The request readers validate, not AJV: the API's 422 wording is what clients match on. Routes hand
  // their documented schemas to this plugin alone (openapi.ts), so Fastify compiles no validator for them.
  await app.register(swagger, { openapi: openapiDocument(merchantComponents) });
  if (options.merchantRoutes !== false) {
    await app.register(async (scope) => merchantRoutes(scope, services));
    await app.register(async (scope) => asyncRoutes(scope, services));
    await app.register(async (scope) => pageRoutes(scope, services));
    await app.register(async (scope) => adminRoutes(scope, services));
  }
  await app.register(async (scope) => operationsRoutes(scope, services, readiness));
  return app;
}
