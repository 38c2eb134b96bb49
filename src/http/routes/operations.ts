import type { FastifyInstance } from 'fastify';
import type { HttpServices } from '../services.js';

/** Health, readiness, metrics and the OpenAPI document: no authentication, nothing secret. */
export async function operationsRoutes(app: FastifyInstance, services: HttpServices, readiness: () => Promise<boolean>) {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const ready = await readiness().catch(() => false);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable' });
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', services.metrics.registry.contentType);
    return services.metrics.registry.metrics();
  });
  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());
}
