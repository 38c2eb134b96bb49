/**
 * The OpenAPI document at /docs/json against the gateway's real behaviour (issue 14). The request readers,
 * not AJV, validate requests (the API's 422 wording), so the document is held to them here instead: for
 * every merchant route a real valid request, sent through real HTTP, must validate against the route's
 * documented request schema, and the real answer against the documented schema of its status code. Every
 * route the server registers for merchants must be in the document and exercised here, so a new route
 * without a schema, or without a request in this file, fails.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { it } from './support/deadline.js';
import { card, DEMO_3DS_SHOP, paymentRequest, startGateway, testStores } from './support/gateway.js';
import type { HttpAnswer, RequestOptions, TestGateway } from './support/gateway.js';

/**
 * Routes that are not the merchant API: the operator's, the customer's pages, health, metrics and the
 * document itself. The merchant's 3-D Secure return (`/process/{uid}/return`) is merchant API.
 */
const NOT_MERCHANT = /^\/(admin|receipts|healthz|readyz|metrics|docs)(\/|$)|^\/process\/\{uid\}$/;

/** Every route the server registers, `METHOD /path/{param}` (Fastify's own HEAD twins of GET routes left out). */
function registeredRoutes(server: FastifyInstance): string[] {
  const routes: string[] = [];
  const prefixes: string[] = [];
  for (const line of server.printRoutes({ commonPrefix: false }).split('\n')) {
    const node = /^([│ ]*)[├└]── (\S+)(?: \(([^)]+)\))?$/.exec(line);
    if (!node) continue;
    const depth = node[1].length / 4;
    const path = (prefixes[depth - 1] ?? '') + node[2];
    prefixes[depth] = path;
    for (const method of node[3]?.split(', ') ?? []) {
      if (method !== 'HEAD') routes.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return routes;
}

type Content = Record<string, { schema: object }>;
type Parameter = { in: string; name: string; schema: object };
type Operation = { parameters?: Parameter[]; requestBody?: { content: Content }; responses: Record<string, { content?: Content }> };

for (const kind of testStores()) {
  describe(`the OpenAPI document holds to real requests and answers [${kind}]`, () => {
    let gw: TestGateway;
    let paths: Record<string, Record<string, Operation>>;
    let components: object;
    const ajv = addFormats.default(new Ajv({ strict: false, allErrors: true }));
    const compiled = new Map<object, ValidateFunction>();
    const exercised = new Set<string>();

    before(async () => {
      gw = await startGateway(kind);
      const docs = await gw.get('/docs/json', { auth: null });
      assert.equal(docs.status, 200, docs.text);
      ({ paths, components } = docs.body);
    });
    after(() => gw.close());

    /** The document's schema compiled with its components beside it, so its `#/components/...` references resolve. */
    function validator(schema: object): ValidateFunction {
      let check = compiled.get(schema);
      if (!check) {
        check = ajv.compile({ ...schema, components });
        compiled.set(schema, check);
      }
      return check;
    }

    function validate(schema: object, value: unknown, what: string) {
      const check = validator(schema);
      assert.ok(check(value), `${what}: ${ajv.errorsText(check.errors)}\n${JSON.stringify(value)}`);
    }

    function documentedOperation(method: string, route: string): Operation {
      const operation = paths[route]?.[method.toLowerCase()];
      assert.ok(operation, `${method} ${route} is not in the document`);
      return operation;
    }

    /**
     * Sends `body` to `path` (documented as `route`): a valid body is checked against the documented
     * request schema first, and the answer against the documented schema of its status code.
     */
    async function call(method: string, route: string, path: string, body?: unknown, options: RequestOptions & { invalid?: boolean } = {}) {
      const operation = documentedOperation(method, route);
      const what = `${method} ${path}`;
      for (const [name, value] of Object.entries(options.headers ?? {})) {
        const parameter = operation.parameters?.find((p) => p.in === 'header' && p.name.toLowerCase() === name.toLowerCase());
        assert.ok(parameter, `${method} ${route} does not document the header ${name}`);
        validate(parameter.schema, value, `${what} header ${name}`);
      }
      if (body !== undefined) {
        const schema = operation.requestBody?.content['application/json']?.schema;
        assert.ok(schema, `${method} ${route} documents no request body`);
        if (options.invalid) {
          assert.ok(!validator(schema)(body), `${what}: the documented request schema takes a body the readers refuse`);
        } else {
          validate(schema, body, `${what} request`);
        }
      }
      const answer = await gw.request(method, path, body, options);
      const schema = operation.responses[String(answer.status)]?.content?.['application/json']?.schema;
      assert.ok(schema, `${what} answered ${answer.status}, which ${method} ${route} does not document: ${answer.text}`);
      validate(schema, answer.body, `${what} answer ${answer.status}`);
      exercised.add(`${method} ${route}`);
      return answer;
    }

    const post = (route: string, fields: unknown, options?: RequestOptions) => call('POST', route, route, { request: fields }, options);
    const ok = (answer: HttpAnswer) => {
      assert.equal(answer.status, 200, answer.text);
      return answer.body;
    };

    it('documents every merchant route the server registers, each with its answers', () => {
      const merchantRoutes = registeredRoutes(gw.app.server).filter((route) => !NOT_MERCHANT.test(route.split(' ')[1]));
      assert.ok(merchantRoutes.length >= 30, merchantRoutes.join(', '));
      for (const route of merchantRoutes) {
        const [method, path] = route.split(' ');
        const operation = documentedOperation(method, path);
        assert.ok(operation.responses['200']?.content?.['application/json']?.schema, `${route} documents no 200 answer`);
        if (method === 'POST') assert.ok(operation.requestBody, `${route} documents no request body`);
      }
    });

    it('sync operations: each real request and answer fits its documented schemas', async () => {
      const payment = ok(
        await post(
          '/transactions/payments',
          paymentRequest({
            test: 'true',
            language: '',
            return_url: null,
            notification_url: 'http://127.0.0.1:9/webhook',
            expired_at: new Date(Date.now() + 3_600_000).toISOString(),
            customer: { ip: '203.0.113.7', email: 'buyer@example.com', device_id: null, birth_date: '1990-01-31' },
            billing_address: { first_name: 'John', zip: '1', address: '1 Main St', phone: '' },
            additional_data: { receipt_text: ['Thank you'], meta: [], platform_data: null },
          }),
        ),
      ).transaction;
      const retried = paymentRequest();
      const retryKey = { headers: { RequestID: `order-${randomUUID()}` } };
      const first = ok(await post('/transactions/payments', retried, retryKey)).transaction;
      assert.equal(ok(await post('/transactions/payments', retried, retryKey)).transaction.uid, first.uid);
      const declined = ok(await post('/transactions/payments', paymentRequest({ credit_card: card('4005550000000019') }))).transaction;
      assert.equal(declined.status, 'failed');
      const challenged = ok(await post('/transactions/payments', paymentRequest({ credit_card: card('4012000000003010') }), { auth: DEMO_3DS_SHOP }));
      assert.equal(challenged.transaction.status, 'incomplete');
      ok(await post('/transactions/payments', paymentRequest({ credit_card: card('4012000000001006') }), { auth: DEMO_3DS_SHOP }));
      const authorization = ok(await post('/transactions/authorizations', paymentRequest())).transaction;
      const toVoid = ok(await post('/transactions/authorizations', paymentRequest())).transaction;
      ok(await post('/transactions/tokenizations', paymentRequest()));
      ok(await post('/transactions/checkups', paymentRequest()));
      ok(await post('/transactions/captures', { parent_uid: authorization.uid, amount: 500, duplicate_check: false }));
      ok(await post('/transactions/voids', { parent_uid: toVoid.uid, amount: toVoid.amount }));
      ok(await post('/transactions/refunds', { parent_uid: payment.uid, amount: 100, reason: 'Returned goods' }));
      ok(await post('/transactions/chargebacks', { parent_uid: payment.uid, amount: 100, reason: 'Disputed' }));
      const token = ok(await post('/credit_cards', card('5555555555554444'))).token;
      ok(await post('/credit_cards', { token, holder: 'Jane Doe', number: null }));
      ok(await post('/v2/credit_cards', card('4111111111111111')));
      ok(await call('POST', '/credit_cards/{token}', `/credit_cards/${token}`, { request: { holder: 'Jane Roe', exp_month: '', number: null } }));
      const expiry = { exp_month: 12, exp_year: String(new Date().getUTCFullYear() + 2) };
      ok(await call('PUT', '/v2/credit_cards/{token}', `/v2/credit_cards/${token}`, { request: expiry }));
      const returned = await call(
        'POST',
        '/process/{uid}/return',
        `/process/${challenged.transaction.uid}/return`,
        { request: { result: 'authenticated' } },
        {
          auth: DEMO_3DS_SHOP,
        },
      );
      assert.equal(ok(returned).transaction.status, 'successful');
      ok(await post('/transactions/credits', { amount: 300, currency: 'EUR', description: 'Credit', credit_card: { token } }));
      ok(
        await post('/transactions/payouts', {
          amount: 400,
          currency: 'EUR',
          description: 'Payout',
          tracking_id: 'payout-1',
          recipient_credit_card: { number: '4200000000000000', holder: 'Jane Doe', exp_month: 12, exp_year: String(new Date().getUTCFullYear() + 2) },
          recipient: { first_name: 'Jane' },
          sender_billing_address: { country: 'DE', city: 'Berlin' },
        }),
      );
      ok(await post('/balance', { currency: 'EUR' }));

      ok(await call('GET', '/transactions/{uid}', `/transactions/${payment.uid}`));
      ok(await call('POST', '/transactions/{uid}/renotify', `/transactions/${payment.uid}/renotify`, { request: {} }));
      const tracked = ok(await call('GET', '/v2/transactions/tracking_id/{id}', `/v2/transactions/tracking_id/${payment.tracking_id}`));
      assert.equal(tracked.transactions[0].uid, payment.uid);
      ok(await call('GET', '/transactions/tracking_id/{id}', `/transactions/tracking_id/${payment.tracking_id}`));
    });

    it('error answers fit the documented error schemas, and the request schema refuses what the readers refuse', async () => {
      const refusedBody = { request: { amount: 0, currency: 'EUR' } };
      const refused = await call('POST', '/transactions/payments', '/transactions/payments', refusedBody, { invalid: true });
      assert.equal(refused.status, 422);
      assert.equal((await call('GET', '/transactions/{uid}', `/transactions/${randomUUID()}`)).status, 404);
      assert.equal((await call('GET', '/transactions/{uid}', `/transactions/${randomUUID()}`, undefined, { auth: null })).status, 401);
      assert.equal((await call('POST', '/credit_cards/{token}', `/credit_cards/${randomUUID()}`, { request: { holder: 'Nobody' } })).status, 404);
      assert.equal(
        (await call('PUT', '/v2/credit_cards/{token}', `/v2/credit_cards/${randomUUID()}`, { request: { exp_month: 13 } }, { invalid: true })).status,
        422,
      );
      const finished = { request: { result: 'failed' } };
      assert.equal((await call('POST', '/process/{uid}/return', `/process/${randomUUID()}/return`, finished, { auth: DEMO_3DS_SHOP })).status, 404);
      assert.equal((await call('GET', '/async/status/{id}', `/async/status/${randomUUID()}`)).status, 404);
      assert.equal((await call('GET', '/async/result/{id}', `/async/result/${randomUUID()}`)).status, 404);
    });

    it('async mode: each submit, status and result fits its documented schemas', async () => {
      const submit = async (name: string, fields: unknown) =>
        ok(await post(`/async/transactions/${name}`, fields, { headers: { 'Idempotency-Key': randomUUID() } })).request_id as string;
      const payment = ok(await post('/transactions/payments', paymentRequest())).transaction;
      const authorization = ok(await post('/transactions/authorizations', paymentRequest())).transaction;
      const toVoid = ok(await post('/transactions/authorizations', paymentRequest())).transaction;
      const token = ok(await post('/credit_cards', card())).token;

      const submitted = [
        await submit('payments', paymentRequest()),
        await submit('authorizations', paymentRequest()),
        await submit('tokenizations', paymentRequest()),
        await submit('checkups', paymentRequest()),
        await submit('captures', { parent_uid: authorization.uid, amount: 201 }),
        await submit('voids', { parent_uid: toVoid.uid, amount: toVoid.amount }),
        await submit('refunds', { parent_uid: payment.uid, amount: 202, reason: 'Returned goods' }),
        await submit('chargebacks', { parent_uid: payment.uid, amount: 203, reason: 'Disputed' }),
        await submit('credits', { amount: 204, currency: 'EUR', description: 'Credit', credit_card: { token } }),
        await submit('payouts', { amount: 205, currency: 'EUR', description: 'Payout', recipient_credit_card: { token } }),
        ok(await post('/async/balance', { currency: 'EUR' })).request_id,
        ok(await call('GET', '/async/transactions/{uid}', `/async/transactions/${payment.uid}`)).request_id,
        ok(await call('GET', '/async/v2/transactions/tracking_id/{id}', `/async/v2/transactions/tracking_id/${payment.tracking_id}`)).request_id,
        ok(await call('GET', '/async/transactions/tracking_id/{id}', `/async/transactions/tracking_id/${payment.tracking_id}`)).request_id,
      ];
      const first = submitted[0];
      assert.equal(ok(await call('GET', '/async/status/{id}', `/async/status/${first}`)).status, 'processing');
      assert.equal((await call('GET', '/async/result/{id}', `/async/result/${first}`)).status, 425);

      await gw.app.workers.drain();
      for (const requestId of submitted) {
        assert.equal(ok(await call('GET', '/async/status/{id}', `/async/status/${requestId}`)).status, 'completed');
        ok(await call('GET', '/async/result/{id}', `/async/result/${requestId}`));
      }
    });

    it('API v3 answers (X-API-Version: 3) fit the documented v3 alternatives', async () => {
      const v3 = { headers: { 'X-API-Version': '3' } };
      const payment = ok(await post('/transactions/payments', paymentRequest(), v3));
      assert.equal(payment.code, 'S.0000');
      assert.equal(ok(await post('/transactions/payments', paymentRequest({ credit_card: card('4005550000000019') }), v3)).code, 'F.0105');
      const authorization = ok(await post('/transactions/authorizations', paymentRequest(), v3));
      ok(await post('/transactions/captures', { parent_uid: authorization.uid, amount: 300 }, v3));
      ok(await post('/transactions/refunds', { parent_uid: payment.uid, amount: 100, reason: 'Returned goods' }, v3));
      ok(await post('/transactions/payouts', { amount: 407, currency: 'EUR', description: 'Payout', recipient_credit_card: card() }, v3));
      ok(await call('GET', '/transactions/{uid}', `/transactions/${payment.uid}`, undefined, v3));
      ok(await call('GET', '/v2/transactions/tracking_id/{id}', `/v2/transactions/tracking_id/${payment.tracking_id}`, undefined, v3));
      ok(await call('GET', '/transactions/tracking_id/{id}', `/transactions/tracking_id/${payment.tracking_id}`, undefined, v3));
      ok(await post('/balance', { currency: 'EUR' }, v3));
      const refused = await call(
        'POST',
        '/transactions/payments',
        '/transactions/payments',
        { request: { amount: 0, currency: 'EUR' } },
        { ...v3, invalid: true },
      );
      assert.equal(refused.status, 422);
      assert.equal(refused.body.code, 'E.1025');
      assert.equal((await post('/balance', {}, v3)).status, 422);
      assert.equal(
        (await call('POST', '/async/transactions/payments', '/async/transactions/payments', { amount: 1 }, { ...v3, invalid: true })).status,
        422,
      );

      const submitted = [
        ok(await post('/async/transactions/payments', paymentRequest(), v3)).request_id,
        ok(await post('/async/transactions/refunds', { parent_uid: randomUUID(), amount: 100, reason: 'Returned goods' }, v3)).request_id,
        ok(await call('GET', '/async/v2/transactions/tracking_id/{id}', `/async/v2/transactions/tracking_id/${payment.tracking_id}`, undefined, v3))
          .request_id,
      ];
      await gw.app.workers.drain();
      assert.equal(ok(await call('GET', '/async/result/{id}', `/async/result/${submitted[0]}`)).status, 'successful');
      assert.equal((await call('GET', '/async/result/{id}', `/async/result/${submitted[1]}`)).body.code, 'E.1025');
      assert.equal(ok(await call('GET', '/async/result/{id}', `/async/result/${submitted[2]}`)).transactions[0].uid, payment.uid);
    });

    it('every documented merchant route was exercised above', () => {
      const documented = Object.entries(paths).flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
      );
      const missing = documented.filter((route) => !NOT_MERCHANT.test(route.split(' ')[1]) && !exercised.has(route));
      assert.deepEqual(missing, []);
    });
  });
}
