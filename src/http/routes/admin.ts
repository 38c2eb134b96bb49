import type { FastifyInstance } from 'fastify';
import { readAcquirerSettings } from '../../acquirers/sandboxSettings.js';
import { recordNotFound, validationError } from '../../domain/errors.js';
import { characterCount, isPlainObject, RequestReader } from '../../domain/request.js';
import { parseShopId, type RiskRules } from '../../domain/shop.js';
import { shopView } from '../../operator/shops.js';
import { chargeback } from '../../processing/operations/chargeback.js';
import { listInDoubt } from '../../processing/inDoubt.js';
import { retryDelivery, transactionDeliveries } from '../../webhooks/history.js';
import { authenticateOperator } from '../auth.js';
import type { HttpServices } from '../services.js';
import { shopAlerts } from '../../operator/alerts.js';

function bodyOf(body: unknown): RequestReader {
  if (!isPlainObject(body)) throw validationError([{ path: ['base'], message: 'Request body must be a JSON object' }]);
  return new RequestReader(body);
}

/** Risk rules as the operator sends them: lists of strings and non-negative integer limits. */
function readRiskRules(reader: RequestReader): RiskRules | undefined {
  const rules = reader.object('risk_rules');
  if (!rules) return undefined;
  const result: RiskRules = {};
  for (const listName of ['white_list', 'black_list'] as const) {
    const list = rules.object(listName);
    if (!list) continue;
    result[listName] = {};
    for (const member of ['card_stamps', 'emails', 'ips'] as const) {
      const values = list.raw(member);
      if (values === undefined || values === null) continue;
      if (!Array.isArray(values) || values.some((v) => typeof v !== 'string' || characterCount(v) > 255)) list.fail(member, 'is invalid');
      else result[listName]![member] = values as string[];
    }
  }
  for (const limit of ['max_amount', 'daily_count', 'daily_volume'] as const) {
    const value = rules.integer(limit, 0, Number.MAX_SAFE_INTEGER);
    if (value !== undefined) result[limit] = value;
  }
  return result;
}

/** `return_hosts`: a list of host names, or null for any host; absent, unchanged (or the default). */
function readReturnHosts(reader: RequestReader): string[] | null | undefined {
  const hosts = reader.raw('return_hosts');
  if (hosts === undefined || hosts === null) return hosts;
  if (!Array.isArray(hosts) || hosts.some((host) => typeof host !== 'string')) return reader.fail('return_hosts', 'is invalid');
  return hosts as string[];
}

/** The operator's API (spec §7), behind `Authorization: Bearer $ECOMGATE_ADMIN_TOKEN`. */
export async function adminRoutes(app: FastifyInstance, services: HttpServices) {
  const { shops } = services;
  app.addHook('onRequest', async (request) => authenticateOperator(services.adminToken, request));

  const findShop = async (raw: string) => {
    const shop = await shops.find(parseShopId(raw) ?? NaN);
    if (!shop) throw recordNotFound();
    return shop;
  };

  app.post('/admin/shops', async (request, reply) => {
    const reader = bodyOf(request.body);
    const id = reader.integer('id', 1, Number.MAX_SAFE_INTEGER, { required: true });
    const secret = reader.string('secret_key');
    const name = reader.string('name');
    const test = reader.boolean('test');
    const threeDSecure = reader.boolean('three_d_secure');
    const acquirer = reader.string('acquirer');
    const riskRules = readRiskRules(reader);
    const acquirerSettings = readAcquirerSettings(reader);
    const returnHosts = readReturnHosts(reader);
    reader.check();
    const created = { id: id!, secret, name, test, threeDSecure, acquirer, riskRules, acquirerSettings, returnHosts };
    const { shop, secret: secretKey } = await shops.create(created);
    // The secret key is shown once, to the operator who created the shop.
    return reply.code(201).send({ ...shopView(shop), secret_key: secretKey });
  });

  app.get('/admin/shops', async () => ({ shops: (await shops.list()).map(shopView) }));

  app.get<{ Params: { id: string } }>('/admin/shops/:id', async (request) => shopView(await findShop(request.params.id)));

  app.patch<{ Params: { id: string } }>('/admin/shops/:id', async (request) => {
    const shop = await findShop(request.params.id);
    const reader = bodyOf(request.body);
    const changes = {
      name: reader.string('name'),
      test: reader.boolean('test'),
      threeDSecure: reader.boolean('three_d_secure'),
      acquirer: reader.string('acquirer'),
      riskRules: readRiskRules(reader),
      acquirerSettings: readAcquirerSettings(reader),
      returnHosts: readReturnHosts(reader),
    };
    reader.check();
    return shopView(await shops.update(shop.id, changes));
  });

  app.post<{ Params: { id: string } }>('/admin/shops/:id/rotate_secret', async (request) => {
    const shop = await findShop(request.params.id);
    const reader = isPlainObject(request.body) ? new RequestReader(request.body) : new RequestReader({});
    const secret = reader.string('secret_key');
    reader.check();
    const rotated = await shops.rotateSecret(shop.id, secret);
    return { ...shopView(rotated.shop), secret_key: rotated.secret };
  });

  /** The operator records a chargeback the bank raised, for any shop (test mode or not). */
  app.post<{ Params: { id: string } }>('/admin/shops/:id/chargebacks', async (request, reply) => {
    const shop = await findShop(request.params.id);
    const response = await chargeback(services.ctx, { shop, body: request.body }, { byOperator: true });
    return reply.code(response.statusCode).send(response.body);
  });

  /** A transaction's webhook deliveries with every attempt (time, status code, latency, error). */
  app.get<{ Params: { uid: string } }>('/admin/transactions/:uid/deliveries', async (request) =>
    transactionDeliveries(services.ctx.store, request.params.uid),
  );

  /** Unknown outcomes past ECOMGATE_IN_DOUBT_DEADLINE, oldest first: the operator settles them with the bank. */
  app.get('/admin/in-doubt', async () => {
    const deadlineMs = services.inDoubtDeadlineMs ?? 24 * 3_600_000;
    const transactions = await listInDoubt(services.ctx.store, services.ctx.now(), deadlineMs);
    return { deadline_seconds: Math.round(deadlineMs / 1000), transactions };
  });

  /** What the gateway flagged (the card guard's refusals), newest first; `?shop_id=` narrows to one shop. */
  app.get<{ Querystring: { shop_id?: string } }>('/admin/alerts', async (request) => {
    const raw = request.query.shop_id;
    const shopId = raw === undefined || raw === '' ? undefined : (parseShopId(raw) ?? NaN);
    if (Number.isNaN(shopId)) throw validationError([{ path: ['shop_id'], message: 'is invalid' }]);
    return { alerts: await shopAlerts(services.ctx.store, shopId) };
  });

  /** Puts a dead delivery back in line, due now (the merchant fixed their endpoint). */
  app.post<{ Params: { id: string } }>('/admin/deliveries/:id/retry', async (request) => {
    const id = /^\d{1,15}$/.test(request.params.id) ? Number(request.params.id) : NaN;
    const delivery = await retryDelivery(services.ctx.store, id, services.ctx.now());
    services.webhooks.wake();
    return delivery;
  });
}
