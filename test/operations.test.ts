/**
 * Operations: health and readiness, Prometheus metrics, the OpenAPI document, X-Request-Id, the per-shop
 * rate limit, log redaction and the 500 answer that never leaks a stack trace.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { sql } from 'kysely';
import { readConfig } from '../src/config.js';
import { ApiError } from '../src/domain/errors.js';
import { RateLimiter } from '../src/limits/rateLimit.js';
import { createLogger } from '../src/logger.js';
import {
  ADMIN_TOKEN,
  AS_OPERATOR,
  card,
  DEMO_3DS_SHOP,
  DEMO_SHOP,
  paymentRequest,
  refusedByClient,
  startGateway,
  type TestGateway,
  testStores,
} from './support/gateway.js';
import { basicAuth, type HttpAnswer } from './support/http.js';
import { logCapture } from './support/logCapture.js';
import { DECLINED_CARD } from './support/cards.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PAN = '4200000000000000';
const CVC = '123';

/** The value of one sample of a Prometheus text exposition, or 0 when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    const labelText = line.slice(name.length + 1, line.lastIndexOf('}'));
    const found = Object.fromEntries([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v) && Object.keys(found).length === Object.keys(labels).length) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return 0;
}

for (const kind of testStores()) {
  describe(`operations [${kind}]`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(kind);
    });
    after(() => gw.close());

    it('/healthz and /readyz answer 200 without authentication', async () => {
      const health = await gw.get('/healthz', { auth: null });
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { status: 'ok' });
      const ready = await gw.get('/readyz', { auth: null });
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { status: 'ready' });
    });

    it('/metrics is Prometheus text counting requests and transactions by type and status', async () => {
      const before = (await gw.get('/metrics', { auth: null })).text;
      const paid = await gw.post('/transactions/payments', paymentRequest());
      assert.equal(paid.body.transaction.status, 'successful');
      const declined = await gw.post('/transactions/payments', paymentRequest({ credit_card: card(DECLINED_CARD) }));
      assert.equal(declined.body.transaction.status, 'failed');
      assert.equal((await gw.post('/transactions/payments', paymentRequest(), { auth: null })).status, 401);

      const metrics = await gw.get('/metrics', { auth: null });
      assert.equal(metrics.status, 200);
      assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(metrics.text, /^# TYPE ecomgate_http_requests_total counter$/m);
      assert.match(metrics.text, /^# TYPE ecomgate_transactions_total counter$/m);
      assert.match(metrics.text, /^ecomgate_transactions_total\{type="payment",status="successful"\} \d+$/m);
      assert.match(metrics.text, /^ecomgate_http_request_duration_seconds_bucket\{/m);
      const delta = (name: string, labels: Record<string, string>) => sample(metrics.text, name, labels) - sample(before, name, labels);
      assert.equal(delta('ecomgate_transactions_total', { type: 'payment', status: 'successful' }), 1);
      assert.equal(delta('ecomgate_transactions_total', { type: 'payment', status: 'failed' }), 1);
      assert.equal(delta('ecomgate_http_requests_total', { route: '/transactions/payments', method: 'POST', status_code: '200' }), 2);
      assert.equal(delta('ecomgate_http_requests_total', { route: '/transactions/payments', method: 'POST', status_code: '401' }), 1);
      // Metrics never carry card data or credentials.
      assert.ok(!metrics.text.includes(PAN) && !metrics.text.includes(DEMO_SHOP.secret));
    });

    it('/metrics counts the statements and round trips the store sent, the same for every like payment', async () => {
      const counts = gw.app.store.queryCounts;
      const pay = async () => {
        const before = { ...counts };
        assert.equal((await gw.post('/transactions/payments', paymentRequest())).body.transaction.status, 'successful');
        return { statements: counts.statements - before.statements, roundTrips: counts.roundTrips - before.roundTrips };
      };
      await pay(); // the first payment may read what later ones find cached
      const one = await pay();
      assert.deepEqual(await pay(), one);
      assert.ok(one.statements >= 2, JSON.stringify(one));
      if (kind === 'postgres') {
        // A transaction's statements are pipelined: fewer round trips than statements, at most 6 in all.
        assert.ok(one.roundTrips >= 1 && one.roundTrips < one.statements && one.roundTrips <= 6, JSON.stringify(one));
      } else {
        assert.equal(counts.roundTrips, 0);
      }
      // The scrape reports the counts as they stood when it began (its own gauges' queries come after).
      const expected = { ...counts };
      const metrics = (await gw.get('/metrics', { auth: null })).text;
      assert.match(metrics, /^# TYPE ecomgate_store_round_trips_total counter$/m);
      assert.match(metrics, new RegExp(`^ecomgate_store_statements_total ${expected.statements}$`, 'm'));
      assert.match(metrics, new RegExp(`^ecomgate_store_round_trips_total ${expected.roundTrips}$`, 'm'));
    });

    it('/docs/json is an OpenAPI document listing the transaction endpoints', async () => {
      const docs = await gw.get('/docs/json', { auth: null });
      assert.equal(docs.status, 200);
      assert.match(docs.body.openapi, /^3\./);
      assert.ok(docs.body.info?.title);
      assert.ok(docs.body.paths['/transactions/payments']?.post, Object.keys(docs.body.paths).join(', '));
      for (const path of ['/transactions/refunds', '/transactions/captures', '/transactions/payouts', '/balance'])
        assert.ok(docs.body.paths[path]?.post, path);
      assert.ok(!docs.text.includes(ADMIN_TOKEN));
    });

    it('echoes a well-formed X-Request-Id and generates one otherwise, on every answer', async () => {
      const id = 'req-' + randomBytes(4).toString('hex') + '.A_b:9';
      for (const [path, auth, status] of [
        ['/healthz', null, 200],
        ['/transactions/' + randomUUID(), undefined, 404],
        ['/transactions/' + randomUUID(), { id: DEMO_SHOP.id, secret: 'wrong-secret' }, 401],
        ['/no/such/route', undefined, 404],
      ] as const) {
        const answer = await gw.get(path, { auth, headers: { 'x-request-id': id } });
        assert.equal(answer.status, status, path);
        assert.equal(answer.headers.get('x-request-id'), id, path);
      }
      assert.ok(
        gw.logs.some((line) => line.includes(`"reqId":"${id}"`)),
        'the request log line carries the id',
      );

      for (const bad of ['has space', 'x'.repeat(129), '<script>', 'a/b', 'é']) {
        let answer: Response;
        try {
          answer = await fetch(gw.url + '/healthz', { headers: { 'x-request-id': bad } });
        } catch (error) {
          if (refusedByClient(error)) continue; // a header value fetch itself refuses to send
          throw error;
        }
        const echoed = answer.headers.get('x-request-id') ?? '';
        assert.match(echoed, UUID, bad);
        assert.notEqual(echoed, bad);
      }
      const first = (await gw.get('/healthz', { auth: null })).headers.get('x-request-id') ?? '';
      const second = (await gw.get('/healthz', { auth: null })).headers.get('x-request-id') ?? '';
      assert.match(first, UUID);
      assert.match(second, UUID);
      assert.notEqual(first, second);
    });
  });

  describe(`rate limit [${kind}]`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(kind, { rateLimit: 5 });
    });
    after(() => gw.close());

    it('a burst beyond the shop limit answers 429 with Retry-After and the API error body; other shops are unaffected', async () => {
      const burst = await Promise.all(Array.from({ length: 20 }, () => gw.get('/transactions/' + randomUUID())));
      const statuses = burst.map((a) => a.status);
      assert.ok(
        statuses.every((s) => s === 404 || s === 429),
        statuses.join(','),
      );
      const passed = statuses.filter((s) => s === 404).length;
      const limited = burst.filter((a) => a.status === 429);
      assert.ok(passed >= 5, `the bucket starts full: ${statuses.join(',')}`);
      assert.ok(limited.length >= 1, `a burst of 20 at 5/s is limited: ${statuses.join(',')}`);
      for (const answer of limited) {
        assert.match(answer.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
        assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
        assert.deepEqual(answer.body, { message: 'Rate limit exceeded', response: { message: 'Rate limit exceeded' } });
        assert.match(answer.headers.get('x-request-id') ?? '', UUID);
      }
      // Right after the burst: the other shop has its own bucket; health and metrics are not limited.
      assert.equal((await gw.get('/transactions/' + randomUUID(), { auth: DEMO_3DS_SHOP })).status, 404);
      assert.equal((await gw.post('/transactions/payments', paymentRequest(), { auth: DEMO_3DS_SHOP })).status, 200);
      assert.equal((await gw.get('/healthz', { auth: null })).status, 200);
      assert.equal((await gw.get('/metrics', { auth: null })).status, 200);
      // Bad credentials are refused as such, not counted against the shop.
      assert.equal((await gw.get('/transactions/' + randomUUID(), { auth: { id: DEMO_SHOP.id, secret: 'wrong-secret' } })).status, 401);
      const metrics = (await gw.get('/metrics', { auth: null })).text;
      assert.equal(
        sample(metrics, 'ecomgate_http_requests_total', { route: '/transactions/:uid', method: 'GET', status_code: '429' }),
        limited.length,
      );
    });

    it('the token bucket refills at the configured rate, per shop (injected clock)', () => {
      let now = 0;
      const limiter = new RateLimiter(5, () => now);
      for (let i = 0; i < 5; i++) limiter.take(1);
      const refused = (() => {
        try {
          limiter.take(1);
        } catch (error) {
          return error;
        }
      })();
      assert.ok(refused instanceof ApiError);
      assert.equal(refused.statusCode, 429);
      assert.equal(refused.headers['retry-after'], '1');
      limiter.take(2);
      now += 199;
      assert.throws(() => limiter.take(1), ApiError);
      now += 1;
      limiter.take(1);
      assert.throws(() => limiter.take(1), ApiError);
      now += 10_000;
      for (let i = 0; i < 5; i++) limiter.take(1);
      assert.throws(() => limiter.take(1), ApiError);
      const off = new RateLimiter(0, () => 0);
      for (let i = 0; i < 1000; i++) off.take(1);
      assert.equal(readConfig({}).rateLimit, 1000);
      assert.equal(readConfig({ ECOMGATE_RATE_LIMIT: '0' }).rateLimit, 0);
    });
  });

  describe(`log redaction and faults [${kind}]`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(kind);
    });
    after(() => gw.close());

    const basicHeader = basicAuth(DEMO_SHOP);
    const shopSecret = 'log-shop-secret-' + randomBytes(8).toString('hex');

    function assertCleanLogs() {
      assert.ok(gw.logs.length > 0);
      for (const line of gw.logs) {
        assert.ok(!line.includes(PAN), `log line holds the card number: ${line}`);
        assert.ok(!line.includes('4200000000000001'), `log line holds a card number: ${line}`);
        assert.ok(!line.includes(`"${CVC}"`), `log line holds the CVC: ${line}`);
        assert.ok(!/"verification_value":"(?!\[redacted\])/.test(line), `log line holds a CVC field: ${line}`);
        assert.ok(!line.includes(DEMO_SHOP.secret), `log line holds the secret key: ${line}`);
        assert.ok(!line.includes(shopSecret), `log line holds a secret key: ${line}`);
        assert.ok(!line.includes(basicHeader.slice(6)), `log line holds the Authorization value: ${line}`);
        assert.ok(!line.includes(ADMIN_TOKEN), `log line holds the admin token: ${line}`);
      }
    }

    it('payments and bad requests carrying a card number leave no card data or credentials in the log', async () => {
      const paid = await gw.post('/transactions/payments', paymentRequest({ credit_card: card(PAN, { verification_value: CVC }) }));
      assert.equal(paid.body.transaction.status, 'successful');
      const token = paid.body.transaction.credit_card.token;
      assert.equal(
        (await gw.post('/transactions/authorizations', paymentRequest({ credit_card: card(PAN, { verification_value: CVC }) }))).status,
        200,
      );
      assert.equal((await gw.post('/transactions/payments', paymentRequest({ credit_card: { token, verification_value: CVC } }))).status, 200);
      assert.equal((await gw.request('POST', '/credit_cards', { request: card(PAN, { verification_value: CVC }) })).status, 200);

      const cardJson = `{"number":"${PAN}","verification_value":"${CVC}","holder":"John Doe","exp_month":"05","exp_year":2040}`;
      // [what, headers, body, expected status (0: any 4xx)]
      const bad: [string, Record<string, string>, string, number][] = [
        ['malformed JSON', {}, `{"request":{"amount":100,"currency":"EUR","credit_card":${cardJson}`, 400],
        ['trailing garbage', {}, `{"request":{"credit_card":${cardJson}}} ${PAN}`, 400],
        ['plain text', { 'content-type': 'text/plain' }, `number=${PAN}&cvc=${CVC}`, 0],
        ['oversize body', {}, `{"request":{"description":"${'x'.repeat(70_000)}","credit_card":${cardJson}}}`, 413],
        [
          'bad Luhn',
          {},
          JSON.stringify({ request: { ...paymentRequest(), credit_card: card('4200000000000001', { verification_value: CVC }) } }),
          422,
        ],
        [
          'expired card',
          {},
          JSON.stringify({ request: { ...paymentRequest(), credit_card: card(PAN, { verification_value: CVC, exp_year: 2020 }) } }),
          422,
        ],
        ['CVC too long', {}, JSON.stringify({ request: { ...paymentRequest(), credit_card: card(PAN, { verification_value: '12345' }) } }), 422],
        ['no request wrapper', {}, JSON.stringify({ credit_card: card(PAN, { verification_value: CVC }) }), 422],
        ['deep nesting', {}, '{"request":' + '['.repeat(200) + `"${PAN}"` + ']'.repeat(200) + '}', 0],
      ];
      for (const [what, headers, raw, status] of bad) {
        const answer = await gw.request('POST', '/transactions/payments', undefined, { raw, headers });
        if (status === 0) assert.ok(answer.status >= 400 && answer.status < 500, `${what}: ${answer.status} ${answer.text.slice(0, 300)}`);
        else assert.equal(answer.status, status, `${what}: ${answer.text.slice(0, 300)}`);
        assert.ok(answer.body?.message, `${what}: JSON error body`);
        assert.ok(!answer.text.includes(PAN), `${what}: the answer echoes the card number`);
        assert.ok(!/\bat .+\.js:\d+/.test(answer.text), `${what}: stack trace in the answer`);
      }
      // A card number in the URL and query string of an unknown route.
      assert.equal((await gw.get(`/transactions/payments/${PAN}?number=${PAN}&verification_value=${CVC}`)).status, 404);
      // The operator's secret and token.
      const created = await gw.request('POST', '/admin/shops', { id: 6001, secret_key: shopSecret }, AS_OPERATOR);
      assert.equal(created.status, 201);

      const requestLines = gw.logs.filter((line) => line.includes('"msg":"request"'));
      assert.ok(requestLines.length >= bad.length + 6, 'every request is logged');
      assertCleanLogs();
    });

    it('the pino configuration redacts card fields, secrets and the Authorization header', () => {
      const { lines, destination } = logCapture();
      const log = createLogger('info', destination);
      log.info({ req: { headers: { authorization: basicHeader } }, headers: { authorization: basicHeader } }, 'headers');
      log.info({ request: { credit_card: { number: PAN, verification_value: CVC } }, secret_key: DEMO_SHOP.secret }, 'body');
      log.info({ body: { request: { credit_card: { number: PAN, verification_value: CVC } } } }, 'wrapped body');
      log.info({ number: PAN, verification_value: CVC, shop: { secret_key: DEMO_SHOP.secret } }, 'flat');
      assert.equal(lines.length, 4);
      for (const line of lines) {
        assert.ok(
          !line.includes(PAN) && !line.includes(`"${CVC}"`) && !line.includes(DEMO_SHOP.secret) && !line.includes(basicHeader.slice(6)),
          line,
        );
        assert.match(line, /\[redacted\]/);
      }
    });

    it('an unexpected fault answers the 500 sentence: no stack trace, nothing stored, card data kept out of the log', async () => {
      const transactionsBefore = await gw.count('transactions');
      const cardsBefore = await gw.count('cards');
      const vault = gw.app.vault as unknown as { stamp: (pan: string) => string };
      vault.stamp = () => {
        throw new TypeError('simulated fault in the vault');
      };
      let answer: HttpAnswer | undefined;
      try {
        answer = await gw.post('/transactions/payments', paymentRequest({ credit_card: card('5555555555554444', { verification_value: CVC }) }), {
          headers: { 'x-request-id': 'fault-1' },
        });
      } finally {
        delete (vault as { stamp?: unknown }).stamp;
      }
      assert.equal(answer.status, 500);
      assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(answer.body, {
        message: "We're sorry, but something went wrong",
        response: { message: "We're sorry, but something went wrong" },
      });
      assert.ok(!/simulated|TypeError|\.js|stack/.test(answer.text), answer.text);
      assert.equal(await gw.count('transactions'), transactionsBefore);
      assert.equal(await gw.count('cards'), cardsBefore);

      // The operator gets the stack, tied to the request id; the card number stays out.
      const fault = gw.logs.find((line) => line.includes('"reqId":"fault-1"') && line.includes('simulated fault'));
      assert.ok(fault, 'the fault is logged with its request id');
      assert.match(fault, /"stack":/);
      assert.ok(!fault.includes('5555555555554444'));
      assertCleanLogs();

      // And the gateway carries on.
      assert.equal((await gw.post('/transactions/payments', paymentRequest())).status, 200);
    });

    /** Makes every write of `kind` on `table` fail inside the database (a real fault in a real store). */
    async function failWrites(kind: 'insert' | 'update', table: string) {
      if (gw.app.store.dialect === 'sqlite') {
        await sql
          .raw(`create trigger injected_fault before ${kind} on ${table} begin select raise(abort, 'simulated fault in transaction B'); end`)
          .execute(gw.app.store.db);
      } else {
        await sql
          .raw(
            `create function injected_fault() returns trigger language plpgsql as $$ begin raise exception 'simulated fault in transaction B'; end $$`,
          )
          .execute(gw.app.store.db);
        await sql
          .raw(`create trigger injected_fault before ${kind} on ${table} for each row execute function injected_fault()`)
          .execute(gw.app.store.db);
      }
      return async () => {
        await sql
          .raw(gw.app.store.dialect === 'sqlite' ? 'drop trigger injected_fault' : `drop trigger injected_fault on ${table}`)
          .execute(gw.app.store.db);
        if (gw.app.store.dialect === 'postgres') await sql.raw('drop function injected_fault()').execute(gw.app.store.db);
      };
    }

    for (const [where, kind, table] of [
      ['recording the outcome (after the bank approved)', 'update', 'transactions'],
      ['writing the ledger entry', 'insert', 'ledger_entries'],
      ['writing the webhook outbox row', 'insert', 'webhook_deliveries'],
    ] as const) {
      it(`a fault in transaction B while ${where}: nothing half-written, and the resolver settles it from the bank's answer`, async () => {
        const request = paymentRequest({ notification_url: 'http://127.0.0.1:9/hooks/fault' });
        const restore = await failWrites(kind, table);
        let answer: HttpAnswer | undefined;
        try {
          answer = await gw.post('/transactions/payments', request);
        } finally {
          await restore();
        }
        assert.equal(answer.status, 500, answer.text);
        assert.deepEqual(answer.body, {
          message: "We're sorry, but something went wrong",
          response: { message: "We're sorry, but something went wrong" },
        });

        // The bank charged once; B left nothing behind: still `processing`, no ledger entry, no webhook.
        const row = await gw.app.store.db
          .selectFrom('transactions')
          .selectAll()
          .where('tracking_id', '=', request.tracking_id)
          .executeTakeFirstOrThrow();
        const bankCalls = () => gw.app.store.db.selectFrom('sandbox_operations').selectAll().where('reference', '=', row.acquirer_ref).execute();
        const ledger = () => gw.app.store.db.selectFrom('ledger_entries').selectAll().where('transaction_uid', '=', row.uid).execute();
        const webhooks = () => gw.app.store.db.selectFrom('webhook_deliveries').selectAll().where('transaction_uid', '=', row.uid).execute();
        assert.equal(row.status, 'processing');
        assert.equal((await bankCalls()).length, 1);
        assert.deepEqual(await ledger(), []);
        assert.deepEqual(await webhooks(), []);

        // Once the call could no longer be in flight, the resolver asks the bank and finishes B, once.
        gw.clock.advance(Date.parse(row.next_inquiry_at!) - gw.clock.now().getTime() + 1);
        await gw.app.resolveInDoubt();
        const settled = await gw.get(`/transactions/${row.uid}`);
        assert.equal(settled.body.transaction.status, 'successful', settled.text);
        assert.equal((await bankCalls()).length, 1, 'the resolver never charges again');
        assert.deepEqual(
          (await ledger()).map((entry) => Number(entry.amount)),
          [request.amount],
        );
        assert.equal((await webhooks()).length, 1);
        await gw.app.resolveInDoubt();
        assert.equal((await ledger()).length, 1, 'a second pass changes nothing');
      });
    }
  });
}
