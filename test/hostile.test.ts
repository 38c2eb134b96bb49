import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import fc from 'fast-check';
import {
  card,
  DEMO_3DS_SHOP,
  DEMO_SHOP,
  paymentRequest,
  refusedByClient,
  startGateway,
  testStores,
  type HttpAnswer,
  type TestGateway,
} from './support/gateway.js';
import { basicAuth } from './support/http.js';

/**
 * Hostile input, property-based (issue "Reliability and security suite", item 5). Random JSON bodies,
 * random `request` objects built from the real field names, random headers and random path parameters on
 * every merchant route (sync and async): the answer is always a 4xx with the spec's error body (§2.3:
 * `message` and its `response` mirror) or, when the random input happens to be valid, a well-formed 200;
 * never a 5xx; the gateway keeps answering /healthz; a refused request stores nothing. And shop isolation
 * (§1): on every read route another shop's uid, tracking id or async request id answers exactly like an
 * unknown one. bad-input.test.ts holds the example-based cases; this file does not repeat them.
 *
 * Seed: ECOMGATE_FC_SEED (default fixed below), printed at start; ECOMGATE_FC_RUNS scales the runs.
 */

const SEED = Number(process.env.ECOMGATE_FC_SEED ?? 20260611);
const RUNS = Number(process.env.ECOMGATE_FC_RUNS ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * RUNS));
console.log(`# hostile.test: fast-check seed ${SEED} (set ECOMGATE_FC_SEED to replay, ECOMGATE_FC_RUNS to scale)`);

/** Tables a refused request must leave alone (idempotency_keys left out: a refused keyed request stores its answer). */
const STORED = ['transactions', 'cards', 'ledger_entries', 'async_tasks', 'webhook_deliveries'] as const;
const OPERATIONS = [
  'payments',
  'authorizations',
  'tokenizations',
  'captures',
  'voids',
  'refunds',
  'payouts',
  'credits',
  'checkups',
  'chargebacks',
] as const;
const STATUSES = ['successful', 'failed', 'incomplete', 'expired', 'pending'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LEAKS: RegExp[] = [/\n\s*at\s/, /FST_/, /node_modules/, /\.(js|ts):\d+/, /[A-Z]\w*Error\b/, /\bstack\b/i, /\[object /];

const yearNow = new Date().getUTCFullYear();

type Route = { method: 'POST'; path: string; kind: 'operation' | 'balance' | 'credit_cards' | 'renotify' | 'async' | 'async_balance' };

function assertNoInternals(answer: HttpAnswer, label: string) {
  for (const leak of LEAKS) assert.doesNotMatch(answer.text, leak, `${label}: no internals in ${answer.text.slice(0, 300)}`);
}

/** §2.3: JSON, a 4xx, `message` with its `response` mirror (and `errors` mirrored when present). */
function assertErrorBody(answer: HttpAnswer, label: string) {
  assert.ok(answer.status >= 400 && answer.status < 500, `${label}: a 4xx, got ${answer.status} ${answer.text.slice(0, 300)}`);
  assert.match(
    answer.headers.get('content-type') ?? '',
    /^application\/json\b/,
    `${label}: JSON content type (${answer.status} ${answer.text.slice(0, 100)})`,
  );
  const body = answer.body;
  assert.ok(body && typeof body === 'object' && !Array.isArray(body), `${label}: a JSON object: ${answer.text.slice(0, 200)}`);
  assert.equal(typeof body.message, 'string', `${label}: message in ${answer.text.slice(0, 200)}`);
  assert.ok(body.message.length > 0, `${label}: message not empty`);
  assert.ok(body.response && typeof body.response === 'object', `${label}: response mirror in ${answer.text.slice(0, 200)}`);
  assert.equal(body.response.message, body.message, `${label}: response.message`);
  assert.deepEqual(body.response.errors, body.errors, `${label}: response.errors`);
  if (answer.status === 422) assert.ok(body.errors && typeof body.errors === 'object', `${label}: 422 carries errors`);
  if (answer.status === 401) assert.match(answer.headers.get('www-authenticate') ?? '', /^Basic\b/, `${label}: WWW-Authenticate`);
  assertNoInternals(answer, label);
}

/** A transaction object as §2.2 describes it, with no full card number and no CVC. */
function assertTransaction(transaction: any, label: string) {
  assert.ok(transaction && typeof transaction === 'object', `${label}: transaction object`);
  assert.match(String(transaction.uid), UUID, `${label}: uid`);
  assert.equal(transaction.id, transaction.uid, `${label}: id = uid`);
  assert.ok(STATUSES.includes(transaction.status), `${label}: status ${transaction.status}`);
  assert.equal(typeof transaction.type, 'string', `${label}: type`);
  assert.ok(Number.isSafeInteger(transaction.amount) && transaction.amount > 0, `${label}: amount ${transaction.amount}`);
  assert.match(String(transaction.currency), /^[A-Z]{3}$/, `${label}: currency`);
  assert.ok('message' in transaction, `${label}: message present`);
  if (transaction.credit_card) {
    assert.equal(transaction.credit_card.number, undefined, `${label}: no card number`);
    assert.equal(transaction.credit_card.verification_value, undefined, `${label}: no CVC`);
  }
}

/** A 200 of `route`: the shape that route answers. */
function assertSuccess(route: Route, answer: HttpAnswer, label: string) {
  assert.match(answer.headers.get('content-type') ?? '', /^application\/json\b/, `${label}: JSON`);
  const body = answer.body;
  switch (route.kind) {
    case 'operation':
      assertTransaction(body?.transaction, label);
      assert.equal(body.transaction.type, route.path.endsWith('checkups') ? 'checkup' : body.transaction.type);
      break;
    case 'credit_cards':
      assert.match(String(body?.token), /\S/, `${label}: token`);
      assert.match(String(body?.last_4), /^\d{4}$/, `${label}: last_4`);
      assert.equal(body.number, undefined, `${label}: no number`);
      break;
    case 'balance':
      assert.equal(body?.status, 'successful', `${label}: balance status`);
      assert.ok(body.result && typeof body.result === 'object', `${label}: balance result`);
      break;
    case 'renotify':
      assert.deepEqual(body, { message: 'Transaction was renotified' }, label);
      break;
    case 'async':
    case 'async_balance':
      assert.equal(body?.status, 'processing', `${label}: submit status`);
      assert.match(String(body.request_id), UUID, `${label}: request_id`);
      assert.ok(String(body.status_url).endsWith(`/async/status/${body.request_id}`), `${label}: status_url`);
      assert.ok(String(body.response_url).endsWith(`/async/result/${body.request_id}`), `${label}: response_url`);
      break;
  }
}

// ---- arbitraries ------------------------------------------------------------------------------------

/** Strings that hurt: unicode, NUL bytes, control characters, lone surrogates, very long ones. */
const nastyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\u202e',
    '💳',
    'null',
    'undefined',
    '__proto__',
    'constructor',
    '0',
    '-1',
    '1e309',
    'NaN',
    '%00',
    '../..',
    '<script>',
  ),
  fc.string({ minLength: 250, maxLength: 300 }),
  fc.nat({ max: 70_000 }).map((n) => 'x'.repeat(n)),
);
/** Numbers that hurt: huge, negative, fractional, beyond 2^53, ±0, exponents. */
const nastyNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1, -1, 0.5, 2 ** 53, 2 ** 53 + 2, 1e21, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 999_999_999_999_999, 1_000_000_000_000_000),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map((n) => Number(n)),
);
/** Any JSON value, deep and wide. */
const anyJson = fc.oneof(
  { depthSize: 'medium' },
  fc.jsonValue({ maxDepth: 6 }),
  nastyString,
  nastyNumber,
  fc.constantFrom(null, true, false, [], {}),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
);

function fieldValue(valid: fc.Arbitrary<unknown>[]) {
  return fc.oneof({ weight: 3, arbitrary: fc.oneof(...valid) }, { weight: 2, arbitrary: anyJson });
}

/** A `request` object drawn from the real field names of every operation, with valid or hostile values. */
function requestObject(fixtures: { parents: string[]; tokens: string[] }) {
  const cardNumber = fc.constantFrom(
    '4200000000000000',
    '5555555555554444',
    '4005550000000019',
    '4111111111111112',
    '42000000000000001',
    '4200 0000 0000 0000',
  );
  const cardObject = fc.record(
    {
      number: fieldValue([cardNumber]),
      verification_value: fieldValue([fc.constantFrom('123', '737', '1234', '')]),
      holder: fieldValue([fc.constantFrom('John Doe', '')]),
      exp_month: fieldValue([fc.integer({ min: 0, max: 13 }), fc.constantFrom('05', '12', '1')]),
      exp_year: fieldValue([fc.integer({ min: yearNow - 2, max: yearNow + 30 }), fc.constant(String(yearNow + 3))]),
      token: fieldValue([fc.constantFrom(...fixtures.tokens, 'no-such-token')]),
      skip_three_d_secure_verification: fieldValue([fc.boolean()]),
    },
    { requiredKeys: [] },
  );
  const parent = fc.constantFrom(...fixtures.parents, randomUUID(), '1234567890qwerty');
  return fc.record(
    {
      amount: fieldValue([fc.integer({ min: 1, max: 100_000 }), fc.constantFrom(0, -1, '100')]),
      currency: fieldValue([fc.constantFrom('EUR', 'USD', 'JPY', 'KWD', 'XXX', 'eur', 'EURO')]),
      description: fieldValue([fc.constantFrom('Order', '')]),
      tracking_id: fieldValue([fc.constantFrom('hostile-order', 'a;b;c')]),
      test: fieldValue([fc.boolean()]),
      language: fieldValue([fc.constantFrom('en', 'de', 'zz')]),
      notification_url: fieldValue([fc.constantFrom('', 'http://127.0.0.1:9/hook', 'not a url', 'javascript:alert(1)')]),
      return_url: fieldValue([fc.constantFrom('https://shop.example/return', 'ftp://x')]),
      expired_at: fieldValue([fc.constantFrom('2030-01-01T00:00:00Z', 'yesterday', '1970-01-01T00:00:00.000Z')]),
      duplicate_check: fieldValue([fc.constant(false)]),
      credit_card: fc.oneof({ weight: 3, arbitrary: cardObject }, { weight: 1, arbitrary: anyJson }),
      recipient_credit_card: fc.oneof(cardObject, anyJson),
      customer: fieldValue([
        fc.record({ ip: fc.constantFrom('127.0.0.1', '::1', '999.1.1.1'), email: fc.constantFrom('a@b.c', 'nope') }, { requiredKeys: [] }),
      ]),
      billing_address: fieldValue([
        fc.record({ country: fc.constantFrom('DE', 'ZZ'), zip: nastyString, address: nastyString }, { requiredKeys: [] }),
      ]),
      additional_data: anyJson,
      parent_uid: fieldValue([parent]),
      reason: fieldValue([fc.constantFrom('Customer request', '')]),
      gateway_id: anyJson,
      account: anyJson,
      number: fieldValue([cardNumber]),
      holder: fieldValue([fc.constant('John Doe')]),
      exp_month: fieldValue([fc.integer({ min: 1, max: 12 })]),
      exp_year: fieldValue([fc.integer({ min: yearNow, max: yearNow + 5 })]),
      token: fieldValue([fc.constantFrom(...fixtures.tokens)]),
      recipient: anyJson,
      sender: anyJson,
    },
    { requiredKeys: [] },
  );
}

/** An arbitrary path segment, percent-encoded so it reaches the route. */
const pathSegment = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
    fc.uuid(),
    fc.uuid().map((u) => u.toUpperCase()),
    fc.constantFrom('0', '-1', 'null', '%00', '\u0000', ' ', '*', "' or 1=1 --", '%', '..%2f', 'ä', '💳'),
    fc.nat({ max: 6000 }).map((n) => 'u'.repeat(n + 1)),
  )
  .filter((s) => s !== '.' && s !== '..');
const encodeSegment = (s: string) =>
  encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')).replace(/\./g, '%2E');

/** Header values fetch can carry (latin-1 without CR, LF, NUL); leading/trailing whitespace is trimmed by HTTP. */
const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 80 }),
  fc.string({ unit: fc.constantFrom('A', 'b', '0', '-', '_', ':', '.', '/', '='), minLength: 1, maxLength: 300 }),
  fc.nat({ max: 12_000 }).map((n) => 'k'.repeat(n + 1)),
  fc.constantFrom('', ' ', '\t', 'é', 'ÿÿÿ', '" OR 1=1', '../../etc/passwd', '%00', '0', '-1'),
);
const basic = (raw: string) => 'Basic ' + Buffer.from(raw, 'latin1').toString('base64');
const badAuthorization = fc.oneof(
  headerValue,
  headerValue.map((v) => 'Basic ' + v),
  headerValue.map((v) => basic(`${DEMO_SHOP.id}:${v}`)),
  headerValue.map((v) => basic(`${v}:${DEMO_SHOP.secret}`)),
  fc.constantFrom(
    basic(`${DEMO_SHOP.id}:${DEMO_3DS_SHOP.secret}`),
    basic(`0${DEMO_SHOP.id}:${DEMO_SHOP.secret}x`),
    basic(`${DEMO_SHOP.id}:${DEMO_SHOP.secret.toUpperCase()}`),
    basic(`${DEMO_SHOP.id}:${DEMO_SHOP.secret} `),
    basic(`${DEMO_SHOP.id}0:${DEMO_SHOP.secret}`),
    basic(`99999999999999999999:${DEMO_SHOP.secret}`),
    'basic ' + Buffer.from(`${DEMO_SHOP.id}:${DEMO_SHOP.secret.slice(1)}`).toString('base64'),
    basicAuth(DEMO_SHOP).slice(0, -2),
  ),
);

for (const store of testStores()) {
  describe(`hostile input, property-based [${store}]`, () => {
    let gw: TestGateway;
    const fx = {
      payment: '',
      authorization: '',
      token: '',
      trackingId: `hostile-own-${randomUUID()}`,
      foreignPayment: '',
      foreignIncomplete: '',
      foreignTrackingId: `hostile-foreign-${randomUUID()}`,
      foreignToken: '',
      foreignAsyncOk: '',
      foreignAsyncRefused: '',
      foreignAsyncQueued: '',
      ownReceiptToken: '',
      foreignReceiptToken: '',
    };
    let routes: Route[];
    /** Async request ids answered 200 by the properties: their results are checked at the end. */
    const submitted: { id: string; label: string }[] = [];

    before(async () => {
      gw = await startGateway(store);
      const ok = (answer: HttpAnswer) => {
        assert.equal(answer.status, 200, answer.text);
        return answer.body.transaction ?? answer.body;
      };
      const payment = ok(await gw.post('/transactions/payments', paymentRequest({ tracking_id: fx.trackingId })));
      fx.payment = payment.uid;
      fx.ownReceiptToken = new URL(payment.receipt_url).searchParams.get('token')!;
      fx.authorization = ok(await gw.post('/transactions/authorizations', paymentRequest())).uid;
      fx.token = ok(await gw.post('/credit_cards', { number: '4200000000000000', holder: 'John Doe', exp_month: 5, exp_year: yearNow + 3 })).token;
      const foreign = { auth: DEMO_3DS_SHOP };
      const foreignPayment = ok(
        await gw.post(
          '/transactions/payments',
          paymentRequest({ credit_card: card('4012000000001006'), tracking_id: fx.foreignTrackingId, notification_url: 'http://127.0.0.1:9/hook' }),
          foreign,
        ),
      );
      fx.foreignPayment = foreignPayment.uid;
      fx.foreignReceiptToken = new URL(foreignPayment.receipt_url).searchParams.get('token')!;
      const incomplete = ok(await gw.post('/transactions/payments', paymentRequest({ credit_card: card('4012000000003010') }), foreign));
      assert.equal(incomplete.status, 'incomplete');
      fx.foreignIncomplete = incomplete.uid;
      fx.foreignToken = ok(
        await gw.post('/credit_cards', { number: '5555555555554444', holder: 'Jane Roe', exp_month: 7, exp_year: yearNow + 2 }, foreign),
      ).token;
      // Shop 362's async requests: one with a 200 result, one refused (a result served once), one still queued.
      fx.foreignAsyncOk = (
        await gw.request('POST', '/async/transactions/payments', { request: paymentRequest({ credit_card: card('4012000000001006') }) }, foreign)
      ).body.request_id;
      fx.foreignAsyncRefused = (await gw.request('POST', '/async/transactions/payments', { request: { amount: 1 } }, foreign)).body.request_id;
      await gw.app.workers.drain();
      for (const id of [fx.foreignAsyncOk, fx.foreignAsyncRefused]) assert.match(String(id), UUID);

      routes = [
        ...OPERATIONS.map((name) => ({ method: 'POST' as const, path: `/transactions/${name}`, kind: 'operation' as const })),
        { method: 'POST', path: '/balance', kind: 'balance' },
        { method: 'POST', path: '/credit_cards', kind: 'credit_cards' },
        { method: 'POST', path: `/transactions/${fx.payment}/renotify`, kind: 'renotify' },
        { method: 'POST', path: `/transactions/${fx.foreignPayment}/renotify`, kind: 'renotify' },
        ...OPERATIONS.map((name) => ({ method: 'POST' as const, path: `/async/transactions/${name}`, kind: 'async' as const })),
        { method: 'POST', path: '/async/balance', kind: 'async_balance' },
      ];
    });
    const tally = new Map<string, number>();
    after(async () => {
      console.log(`# [${store}] answers seen by the properties: ${JSON.stringify(Object.fromEntries([...tally].sort()))}`);
      await gw.close();
    });

    async function counts(): Promise<number[]> {
      return Promise.all(STORED.map((table) => gw.count(table)));
    }

    async function healthy(label: string) {
      const health = await gw.request('GET', '/healthz', undefined, { auth: null });
      assert.equal(health.status, 200, `${label}: /healthz after it`);
    }

    /**
     * Sends one request and checks the invariant: a 4xx error body with nothing stored, or a well-formed
     * 200 of that route. Never a 5xx.
     */
    async function check(route: Route, label: string, send: () => Promise<HttpAnswer | undefined>, storedNothingOnRefusal = true) {
      const before = await counts();
      const answer = await send();
      if (!answer) return; // the HTTP client itself refused to send it
      const key = `${route.kind} ${answer.status}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
      assert.ok(answer.status < 500, `${label}: never a 5xx, got ${answer.status} ${answer.text.slice(0, 300)}`);
      if (answer.status === 200) {
        assertSuccess(route, answer, label);
        if (route.kind === 'async' || route.kind === 'async_balance') submitted.push({ id: answer.body.request_id, label });
      } else {
        assertErrorBody(answer, label);
        if (storedNothingOnRefusal) assert.deepEqual(await counts(), before, `${label}: nothing stored on a ${answer.status} (${STORED.join(', ')})`);
      }
    }

    const routeArb = () => fc.constantFrom(...routes);

    it('any JSON body on any route: a 4xx error body and nothing stored, or a well-formed 200; never a 5xx', async () => {
      const body = fc.oneof(
        anyJson,
        anyJson.map((request) => ({ request })),
        fc.dictionary(fc.string({ maxLength: 12 }), anyJson, { maxKeys: 4 }).map((extra) => ({ ...extra, request: extra.request ?? {} })),
      );
      await fc.assert(
        fc.asyncProperty(routeArb(), body, async (route, value) => {
          const label = `${route.path} with ${JSON.stringify(value)?.slice(0, 200)}`;
          await check(route, label, () => gw.request(route.method, route.path, value));
        }),
        { seed: SEED, numRuns: runs(110) },
      );
      await healthy('random JSON');
    });

    it('random `request` objects of real field names and hostile values, on every route', async () => {
      const request = requestObject({ parents: [fx.payment, fx.authorization, fx.foreignPayment], tokens: [fx.token, fx.foreignToken] });
      await fc.assert(
        fc.asyncProperty(routeArb(), request, async (route, fields) => {
          const label = `${route.path} with ${JSON.stringify(fields).slice(0, 300)}`;
          await check(route, label, () => gw.post(route.path, fields));
        }),
        { seed: SEED + 1, numRuns: runs(170) },
      );
      await healthy('random requests');
    });

    it('random raw bytes as the body (not JSON, odd encodings, stray NULs): 4xx, nothing stored', async () => {
      const raw = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ request: v }).slice(0, -1)),
        fc.constantFrom(
          '{"request":{"amount":1e99999}}',
          '{"request":{"amount":-0}}',
          '{"request":{"amount":100,"amount":"x"}}',
          '\ufeff{"request":{}}',
          '{"request":{"__proto__":null}}',
          '{"request":{"constructor":{"prototype":{"x":1}}}}',
        ),
      );
      await fc.assert(
        fc.asyncProperty(routeArb(), raw, async (route, text) => {
          await check(route, `${route.path} with raw ${JSON.stringify(text).slice(0, 200)}`, async () => {
            try {
              return await gw.request(route.method, route.path, undefined, { raw: text });
            } catch (error) {
              if (refusedByClient(error)) return undefined;
              throw error;
            }
          });
        }),
        { seed: SEED + 2, numRuns: runs(80) },
      );
      await healthy('raw bodies');
    });

    it('bad Basic credentials on every route, with otherwise valid bodies: 401 with the spec body, nothing stored', async () => {
      await fc.assert(
        fc.asyncProperty(routeArb(), badAuthorization, async (route, authorization) => {
          const label = `${route.path} with Authorization ${JSON.stringify(authorization.slice(0, 120))}`;
          const before = await counts();
          let answer: HttpAnswer;
          try {
            answer = await gw.request(route.method, route.path, { request: paymentRequest() }, { auth: null, headers: { authorization } });
          } catch (error) {
            if (refusedByClient(error)) return;
            throw error;
          }
          assert.equal(answer.status, 401, `${label}: ${answer.status} ${answer.text.slice(0, 200)}`);
          assertErrorBody(answer, label);
          assert.equal(answer.body.message, 'Invalid shop_id/secret_key.');
          assert.deepEqual(await counts(), before, `${label}: nothing stored`);
        }),
        { seed: SEED + 3, numRuns: runs(80) },
      );
      await healthy('bad credentials');
    });

    it('odd RequestID, Idempotency-Key and X-Request-Id values and long headers: 4xx or 200, never a 5xx; X-Request-Id echoed only when well-formed', async () => {
      const headerName = fc.constantFrom('RequestID', 'Idempotency-Key', 'X-Request-Id', 'X-API-Version', 'X-Padding');
      const valid = fc.boolean();
      await fc.assert(
        fc.asyncProperty(routeArb(), headerName, headerValue, valid, async (route, name, value, validBody) => {
          const label = `${route.path} with ${name}: ${JSON.stringify(value.slice(0, 100))} (${value.length} chars)`;
          // A refused keyed request stores its answer in idempotency_keys (excluded here), nothing else.
          const fields = validBody ? paymentRequest() : { amount: 'x', credit_card: card() };
          let got: HttpAnswer | undefined;
          await check(route, label, async () => {
            try {
              got = await gw.post(route.path, fields, { headers: { [name]: value } });
              return got;
            } catch (error) {
              if (refusedByClient(error)) return undefined;
              throw error;
            }
          });
          if (!got) return;
          const echoed = got.headers.get('x-request-id') ?? '';
          const sent = value.replace(/^[ \t]+|[ \t]+$/g, '');
          if (name === 'X-Request-Id' && /^[A-Za-z0-9._:-]{1,128}$/.test(sent)) assert.equal(echoed, sent, `${label}: echoed`);
          else assert.match(echoed, UUID, `${label}: a generated X-Request-Id`);
        }),
        { seed: SEED + 4, numRuns: runs(90) },
      );
      await healthy('odd headers');
    });

    it('headers beyond what HTTP servers accept: refused with a 4xx, the gateway keeps answering', async () => {
      for (const size of [17_000, 40_000, 100_000]) {
        const before = await counts();
        // An answer, not a dropped connection: the gateway writes its 431 before it closes the socket.
        const answer = await gw.post('/transactions/payments', paymentRequest(), { headers: { 'X-Padding': 'p'.repeat(size) } });
        assert.equal(answer.status, 431, `${size}-byte header: ${answer.status} ${answer.text.slice(0, 200)}`);
        assertErrorBody(answer, `${size}-byte header`);
        assert.match(answer.headers.get('x-request-id') ?? '', UUID, `${size}-byte header: X-Request-Id`);
        assert.deepEqual(await counts(), before, `${size}-byte header: nothing stored`);
        await healthy(`${size}-byte header`);
      }
    });

    it('random path parameters on every read route: 404 Record not found (or [] for v2 tracking), never a 5xx', async () => {
      type PathRoute = { method: string; path: (id: string) => string; expect: 'record' | 'list' | 'async_unknown' | 'async_submit' };
      const pathRoutes: PathRoute[] = [
        { method: 'GET', path: (id) => `/transactions/${id}`, expect: 'record' },
        { method: 'GET', path: (id) => `/transactions/tracking_id/${id}`, expect: 'record' },
        { method: 'GET', path: (id) => `/v2/transactions/tracking_id/${id}`, expect: 'list' },
        { method: 'POST', path: (id) => `/transactions/${id}/renotify`, expect: 'record' },
        { method: 'GET', path: (id) => `/async/status/${id}`, expect: 'async_unknown' },
        { method: 'GET', path: (id) => `/async/result/${id}`, expect: 'async_unknown' },
        { method: 'GET', path: (id) => `/async/transactions/${id}`, expect: 'async_submit' },
      ];
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...pathRoutes), pathSegment, async (route, id) => {
          const path = route.path(encodeSegment(id));
          const label = `${route.method} ${path.slice(0, 200)}`;
          const before = await counts();
          const answer = await gw.request(route.method, path);
          assert.ok(answer.status < 500, `${label}: never a 5xx, got ${answer.status} ${answer.text.slice(0, 200)}`);
          assert.match(answer.headers.get('content-type') ?? '', /^application\/json\b/, `${label}: JSON`);
          assertNoInternals(answer, label);
          if (route.expect === 'async_submit' && answer.status === 200) {
            submitted.push({ id: answer.body.request_id, label });
            return;
          }
          if (route.expect === 'list' && answer.status === 200) {
            assert.deepEqual(answer.body, { transactions: [] }, label);
          } else if (route.expect === 'async_unknown' && answer.status === 404) {
            assert.equal(answer.body.status, 'unknown', label);
          } else {
            assertErrorBody(answer, label);
          }
          assert.deepEqual(await counts(), before, `${label}: nothing stored`);
        }),
        { seed: SEED + 5, numRuns: runs(100) },
      );
      await healthy('random path parameters');
    });

    it('every async request accepted above ends in a 4xx error body or a well-formed 200, never a 5xx', async () => {
      await gw.app.workers.drain();
      for (const { id, label } of submitted) {
        const answer = await gw.get(`/async/result/${id}`);
        assert.ok(answer.status < 500, `${label} → result ${answer.status} ${answer.text.slice(0, 300)}`);
        if (answer.status === 200) {
          if (answer.body.transaction) assertTransaction(answer.body.transaction, `${label} → result`);
          else if (Array.isArray(answer.body.transactions)) {
            for (const t of answer.body.transactions) assertTransaction(t, `${label} → result`);
          } else assert.equal(answer.body.status, 'successful', `${label} → result: ${answer.text.slice(0, 200)}`);
        } else {
          assertErrorBody(answer, `${label} → result`);
        }
      }
      await healthy('async results');
    });

    describe("shop isolation: another shop's ids answer exactly like unknown ones", () => {
      /** Compares two answers, status and body, with each one's own id replaced by a placeholder. */
      function assertSame(foreign: HttpAnswer, foreignId: string, unknown: HttpAnswer, unknownId: string, label: string) {
        assert.equal(
          foreign.status,
          unknown.status,
          `${label}: status (foreign ${foreign.text.slice(0, 200)} / unknown ${unknown.text.slice(0, 200)})`,
        );
        assert.equal(foreign.headers.get('content-type'), unknown.headers.get('content-type'), `${label}: content type`);
        assert.equal(foreign.text.split(foreignId).join('<id>'), unknown.text.split(unknownId).join('<id>'), `${label}: body`);
        assert.ok(foreign.status >= 400 || label.includes('v2'), `${label}: refused`);
      }

      it('GET /transactions/{uid}, renotify and /async/transactions/{uid} with a foreign uid', async () => {
        for (const foreignUid of [fx.foreignPayment, fx.foreignIncomplete]) {
          const unknownUid = randomUUID();
          assertSame(
            await gw.get(`/transactions/${foreignUid}`),
            foreignUid,
            await gw.get(`/transactions/${unknownUid}`),
            unknownUid,
            'GET /transactions/{uid}',
          );
          const before = await gw.count('webhook_deliveries');
          assertSame(
            await gw.request('POST', `/transactions/${foreignUid}/renotify`, { request: {} }),
            foreignUid,
            await gw.request('POST', `/transactions/${unknownUid}/renotify`, { request: {} }),
            unknownUid,
            'renotify',
          );
          assertSame(
            await gw.request('POST', `/transactions/${foreignUid}/renotify`),
            foreignUid,
            await gw.request('POST', `/transactions/${unknownUid}/renotify`),
            unknownUid,
            'renotify, no body',
          );
          assert.equal(await gw.count('webhook_deliveries'), before, 'no delivery queued for another shop');

          const foreignSubmit = await gw.get(`/async/transactions/${foreignUid}`);
          const unknownSubmit = await gw.get(`/async/transactions/${unknownUid}`);
          assert.equal(foreignSubmit.status, 200);
          assert.equal(unknownSubmit.status, 200);
          await gw.app.workers.drain();
          const foreignId = foreignSubmit.body.request_id;
          const unknownId = unknownSubmit.body.request_id;
          const foreignResult = await gw.get(`/async/result/${foreignId}`);
          const unknownResult = await gw.get(`/async/result/${unknownId}`);
          assert.equal(foreignResult.status, 404, foreignResult.text);
          assertSame(foreignResult, foreignUid, unknownResult, unknownUid, '/async/transactions/{uid} result');
        }
      });

      it('tracking ids: legacy and v2, sync and async', async () => {
        const unknownTracking = `hostile-unknown-${randomUUID()}`;
        const foreignTracking = fx.foreignTrackingId;
        assertSame(
          await gw.get(`/transactions/tracking_id/${foreignTracking}`),
          foreignTracking,
          await gw.get(`/transactions/tracking_id/${unknownTracking}`),
          unknownTracking,
          'legacy tracking',
        );
        const v2 = await gw.get(`/v2/transactions/tracking_id/${foreignTracking}`);
        assert.deepEqual(v2.body, { transactions: [] });
        assertSame(v2, foreignTracking, await gw.get(`/v2/transactions/tracking_id/${unknownTracking}`), unknownTracking, 'v2 tracking');
        // The owner does see it (the id is real).
        const own = await gw.get(`/v2/transactions/tracking_id/${foreignTracking}`, { auth: DEMO_3DS_SHOP });
        assert.equal(own.body.transactions.length, 1);

        for (const path of ['/async/transactions/tracking_id/', '/async/v2/transactions/tracking_id/']) {
          const a = await gw.get(path + foreignTracking);
          const b = await gw.get(path + unknownTracking);
          await gw.app.workers.drain();
          assertSame(
            await gw.get(`/async/result/${a.body.request_id}`),
            foreignTracking,
            await gw.get(`/async/result/${b.body.request_id}`),
            unknownTracking,
            `${path} result${path.includes('v2') ? ' (v2)' : ''}`,
          );
        }
      });

      it('/async/status and /async/result with a foreign request id (finished, refused-once, queued) do not reveal or consume it', async () => {
        // Queued now, and left queued (nothing drains until the end of this test).
        fx.foreignAsyncQueued = (
          await gw.request(
            'POST',
            '/async/transactions/refunds',
            { request: { parent_uid: fx.foreignPayment, amount: 1, reason: 'x' } },
            { auth: DEMO_3DS_SHOP },
          )
        ).body.request_id;
        assert.match(String(fx.foreignAsyncQueued), UUID);
        for (const foreignId of [fx.foreignAsyncOk, fx.foreignAsyncRefused, fx.foreignAsyncQueued]) {
          const unknownId = randomUUID();
          assertSame(await gw.get(`/async/status/${foreignId}`), foreignId, await gw.get(`/async/status/${unknownId}`), unknownId, 'async status');
          assertSame(await gw.get(`/async/result/${foreignId}`), foreignId, await gw.get(`/async/result/${unknownId}`), unknownId, 'async result');
        }
        // The owner still gets its results: the foreign reads consumed nothing (a refused result is served once).
        const owner = { auth: DEMO_3DS_SHOP };
        assert.equal((await gw.get(`/async/result/${fx.foreignAsyncOk}`, owner)).status, 200);
        const refused = await gw.get(`/async/result/${fx.foreignAsyncRefused}`, owner);
        assert.equal(refused.status, 422, refused.text);
        assert.equal((await gw.get(`/async/result/${fx.foreignAsyncQueued}`, owner)).status, 425);
      });

      it("receipts: a transaction with another transaction's link token is like an unknown one", async () => {
        const unknownUid = randomUUID();
        const pairs: [string, string][] = [
          [fx.foreignPayment, fx.ownReceiptToken],
          [fx.payment, fx.foreignReceiptToken],
        ];
        for (const [uid, token] of pairs) {
          const crossed = await gw.request('GET', `/receipts/${uid}?token=${encodeURIComponent(token)}`, undefined, { auth: null });
          const unknown = await gw.request('GET', `/receipts/${unknownUid}?token=${encodeURIComponent(token)}`, undefined, { auth: null });
          assertSame(crossed, uid, unknown, unknownUid, 'receipt with a crossed token');
          assert.equal(crossed.status, 404);
        }
        const ownReceipt = await gw.request('GET', `/receipts/${fx.payment}?token=${encodeURIComponent(fx.ownReceiptToken)}`, undefined, {
          auth: null,
        });
        assert.equal(ownReceipt.status, 200, 'the right token opens it');
      });

      it('random foreign-vs-unknown pairs on every read route (property)', async () => {
        const foreignIds = {
          uid: [fx.foreignPayment, fx.foreignIncomplete],
          tracking: [fx.foreignTrackingId],
          async: [fx.foreignAsyncOk, fx.foreignAsyncRefused, fx.foreignAsyncQueued],
        };
        const readRoutes: [string, keyof typeof foreignIds, (id: string) => string, string][] = [
          ['GET', 'uid', (id) => `/transactions/${id}`, 'uid'],
          ['POST', 'uid', (id) => `/transactions/${id}/renotify`, 'renotify'],
          ['GET', 'tracking', (id) => `/transactions/tracking_id/${id}`, 'legacy tracking'],
          ['GET', 'tracking', (id) => `/v2/transactions/tracking_id/${id}`, 'v2 tracking'],
          ['GET', 'async', (id) => `/async/status/${id}`, 'async status'],
          ['GET', 'async', (id) => `/async/result/${id}`, 'async result'],
        ];
        await fc.assert(
          fc.asyncProperty(fc.constantFrom(...readRoutes), fc.nat(), fc.uuid(), async ([method, kind, path, label], pick, uuid) => {
            const ids = foreignIds[kind];
            const foreignId = ids[pick % ids.length];
            const unknownId = kind === 'tracking' ? `hostile-unknown-${uuid}` : uuid;
            assertSame(await gw.request(method, path(foreignId)), foreignId, await gw.request(method, path(unknownId)), unknownId, label);
          }),
          { seed: SEED + 6, numRuns: runs(40) },
        );
      });
    });
  });
}
