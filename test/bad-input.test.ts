import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import {
  card,
  DEMO_3DS_SHOP,
  DEMO_SHOP,
  paymentRequest,
  startGateway,
  testStores,
  type Credentials,
  type HttpAnswer,
  type RequestOptions,
  type TestGateway,
} from './support/gateway.js';
import { basicAuth } from './support/http.js';

/**
 * Bad input on every merchant route (spec §1, §2.3): malformed JSON, a missing or non-object `request`
 * wrapper, wrong types, unknown currencies, bad card numbers, expired cards, over-long strings, bad
 * amounts, huge or deeply nested bodies, NUL bytes, unknown and foreign parents and tokens, wrong
 * credentials, wrong content types, unknown routes. Each answer is the spec's 4xx JSON error body with its
 * `response` mirror and no internals, nothing is stored, and the gateway keeps answering /healthz.
 * Also the compatibility rules: `null`/`""` mean absent for optional fields, expiry as strings or integers.
 */

const TABLES = ['transactions', 'cards', 'ledger_entries', 'idempotency_keys'] as const;
const BODY_LIMIT = 64 * 1024;
const MAX_AMOUNT = 999_999_999_999_999;
const TOO_LONG = 'is too long (maximum is 255 characters)';
const NOT_JSON = 'Request body is not valid JSON';
const WRONG_CONTENT_TYPE = 'Content-Type must be application/json';
const TOO_LARGE = 'Request body is too large (64 KB at most)';
const TOO_DEEP = 'Request body is nested too deeply';
const BAD_CREDENTIALS = 'Invalid shop_id/secret_key.';
const PARENT_NOT_FOUND = 'Parent transaction is not found';
const NOT_FOUND = 'Record not found';
const REQUEST_BLANK = { message: "Request can't be blank.", errors: { request: ["can't be blank"] } };

/** Things an error body must never show: stack frames, framework, driver or file names, JS error types. */
const LEAKS: RegExp[] = [
  /\n\s*at\s/,
  /\bat\s+[\w$.<>]+\s+\(/,
  /\bat\s+(file|node):/,
  /FST_/,
  /fastify/i,
  /kysely/i,
  /sqlite/i,
  /postgres/i,
  /node_modules/,
  /\.(js|ts|mjs):\d+/,
  /\/work\//,
  /[A-Z]\w*Error\b/,
  /\bstack\b/i,
  /statusCode/,
  /\bundefined\b/,
  /\[object /,
  /\b(ECONN\w*|EPIPE)\b/,
];

type FieldErrors = { [field: string]: string[] | FieldErrors };

interface Expected {
  status: number;
  /** The exact top-level message (and `response.message`). */
  message?: string;
  /** The exact field errors (and `response.errors`). */
  errors?: FieldErrors;
}

interface Case extends Expected {
  name: string;
  send: () => Promise<HttpAnswer>;
}

const yearNow = new Date().getUTCFullYear();
const monthNow = new Date().getUTCMonth() + 1;
const lastMonth = monthNow === 1 ? { exp_month: 12, exp_year: yearNow - 1 } : { exp_month: monthNow - 1, exp_year: yearNow };

const basic = (user: string, password: string) => basicAuth({ id: user, secret: password });

/** Authorization headers that must all be refused with 401 (null: no header at all). */
const badCredentials: [string, string | null][] = [
  ['no Authorization header', null],
  ['a wrong secret', basic(String(DEMO_SHOP.id), 'wrong-secret')],
  ['shop 362 with the secret of shop 361', basic(String(DEMO_3DS_SHOP.id), DEMO_SHOP.secret)],
  ['shop 361 with the secret of shop 362', basic(String(DEMO_SHOP.id), DEMO_3DS_SHOP.secret)],
  ['an unknown shop', basic('999999', DEMO_SHOP.secret)],
  ['an empty secret', basic(String(DEMO_SHOP.id), '')],
  ['the secret with a NUL byte appended', basic(String(DEMO_SHOP.id), DEMO_SHOP.secret + '\u0000')],
  ['no colon', 'Basic ' + Buffer.from(String(DEMO_SHOP.id)).toString('base64')],
  ['a non-numeric shop id', basic('shop361', DEMO_SHOP.secret)],
  ['a negative shop id', basic('-361', DEMO_SHOP.secret)],
  ['Basic with garbage instead of base64', 'Basic !!!***'],
  ['Basic with nothing', 'Basic'],
  ['the Bearer scheme', `Bearer ${DEMO_SHOP.secret}`],
  ['user and secret in clear', `Basic ${DEMO_SHOP.id}:${DEMO_SHOP.secret}`],
  ['a 5 KB header', 'Basic ' + 'A'.repeat(5000)],
];

const malformedBodies: [string, string][] = [
  ['an unterminated object', '{"request": {"amount": 100'],
  ['unquoted keys', '{request: {amount: 100}}'],
  ['single quotes', "{'request': {'amount': 100}}"],
  ['a trailing comma', '{"request": {"amount": 100,}}'],
  ['a leading zero', '{"request": {"amount": 0100}}'],
  ['NaN', '{"request": {"amount": NaN}}'],
  ['two documents', '{"request": {}}{"request": {}}'],
  ['a bare word', 'nul'],
  ['a NUL byte', '\u0000'],
  ['a raw control character in a string', '{"request": {"description": "a\u0001b"}}'],
  ['HTML', '<html><body>hello</body></html>'],
  ['a prototype-polluting __proto__ key', '{"request": {"__proto__": {"admin": true}}}'],
];

const wrongContentTypes = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'application/xml', 'text/json'];

/** `{"request": {...fields, "pad": "xxx…"}}` of exactly `size` bytes (unknown fields are ignored). */
function paddedBody(fields: Record<string, unknown>, size: number): string {
  const empty = JSON.stringify({ request: { ...fields, pad: '' } });
  assert.ok(size >= empty.length);
  const body = empty.replace('"pad":""', `"pad":"${'x'.repeat(size - empty.length)}"`);
  assert.equal(Buffer.byteLength(body), size);
  return body;
}

const nestedArrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const nestedObjects = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
/** The request `fields` with `additional_data` replaced by raw JSON text. */
const withRawMember = (fields: Record<string, unknown>, member: string, rawJson: string) =>
  JSON.stringify({ request: { ...fields, [member]: '@@RAW@@' } }).replace('"@@RAW@@"', rawJson);

for (const store of testStores()) {
  describe(`bad input on every route [${store}]`, () => {
    let gw: TestGateway;
    /** Fixtures: parents and tokens of shop 361, and the same of shop 362 (foreign to 361). */
    const fx = {
      authorization: { uid: '', amount: 0 },
      payment: { uid: '', amount: 0 },
      token: '',
      foreignAuthorization: '',
      foreignPayment: '',
      foreignToken: '',
      foreignTrackingId: 'foreign-tracking-id-362',
    };

    async function created(answer: HttpAnswer): Promise<Record<string, any>> {
      assert.equal(answer.status, 200, answer.text);
      return answer.body.transaction ?? answer.body;
    }

    before(async () => {
      gw = await startGateway(store);
      const authorization = await created(await gw.post('/transactions/authorizations', paymentRequest()));
      fx.authorization = { uid: authorization.uid, amount: authorization.amount };
      const payment = await created(await gw.post('/transactions/payments', paymentRequest()));
      fx.payment = { uid: payment.uid, amount: payment.amount };
      fx.token = (
        await created(await gw.post('/credit_cards', { number: '4200000000000000', holder: 'John Doe', exp_month: 5, exp_year: yearNow + 3 }))
      ).token;
      // Shop 362 runs 3-D Secure: 4012000000001006 passes it frictionless, so these parents are successful.
      const foreign = { auth: DEMO_3DS_SHOP };
      const foreignCard = card('4012000000001006');
      const foreignAuthorization = await created(
        await gw.post('/transactions/authorizations', paymentRequest({ credit_card: foreignCard }), foreign),
      );
      assert.equal(foreignAuthorization.status, 'successful');
      fx.foreignAuthorization = foreignAuthorization.uid;
      const foreignPayment = await created(
        await gw.post('/transactions/payments', paymentRequest({ credit_card: foreignCard, tracking_id: fx.foreignTrackingId }), foreign),
      );
      assert.equal(foreignPayment.status, 'successful');
      fx.foreignPayment = foreignPayment.uid;
      fx.foreignToken = (
        await created(
          await gw.post('/credit_cards', { number: '5555555555554444', holder: 'Jane Roe', exp_month: 7, exp_year: yearNow + 2 }, foreign),
        )
      ).token;
    });
    after(() => gw.close());

    async function counts(): Promise<Record<string, number>> {
      const values = await Promise.all(TABLES.map((table) => gw.count(table)));
      return Object.fromEntries(TABLES.map((table, i) => [table, values[i]]));
    }

    /** The answer is the spec's error body: JSON, the exact status, `response` mirroring it, no internals. */
    function assertErrorBody(answer: HttpAnswer, expected: Expected, label: string) {
      assert.equal(answer.status, expected.status, `${label}: status (${answer.text.slice(0, 300)})`);
      assert.ok(answer.status >= 400 && answer.status < 500, `${label}: a 4xx`);
      assert.match(answer.headers.get('content-type') ?? '', /^application\/json\b/, `${label}: JSON content type`);
      assert.ok(
        answer.body && typeof answer.body === 'object' && !Array.isArray(answer.body),
        `${label}: a JSON object body: ${answer.text.slice(0, 200)}`,
      );
      const body = answer.body;
      for (const key of Object.keys(body)) assert.ok(['message', 'errors', 'response'].includes(key), `${label}: unexpected member ${key}`);
      assert.equal(typeof body.message, 'string', `${label}: message`);
      assert.ok(body.message.length > 0, `${label}: message not empty`);
      assert.ok(body.response && typeof body.response === 'object', `${label}: response mirror`);
      assert.equal(body.response.message, body.message, `${label}: response.message mirrors message`);
      assert.deepEqual(body.response.errors, body.errors, `${label}: response.errors mirrors errors`);
      if (expected.message !== undefined) assert.equal(body.message, expected.message, `${label}: message`);
      if (expected.errors !== undefined) assert.deepEqual(body.errors, expected.errors, `${label}: errors`);
      if (answer.status === 422) {
        assert.ok(body.errors && typeof body.errors === 'object' && !Array.isArray(body.errors), `${label}: 422 carries field errors`);
      }
      if (answer.status === 401) {
        assert.equal(body.message, BAD_CREDENTIALS, `${label}: 401 message`);
        assert.match(answer.headers.get('www-authenticate') ?? '', /^Basic\b/, `${label}: WWW-Authenticate: Basic`);
      }
      for (const leak of LEAKS) assert.doesNotMatch(answer.text, leak, `${label}: no internals in the body`);
      assert.match(answer.headers.get('x-request-id') ?? '', /.+/, `${label}: X-Request-Id`);
    }

    /** Sends the case, checks the body, that no row was added anywhere and that the gateway still answers. */
    async function refused(testCase: Case) {
      const before = await counts();
      const answer = await testCase.send();
      assertErrorBody(answer, testCase, testCase.name);
      assert.deepEqual(await counts(), before, `${testCase.name}: nothing stored`);
      const health = await gw.get('/healthz', { auth: null });
      assert.equal(health.status, 200, `${testCase.name}: /healthz still answers`);
    }

    async function runAll(cases: Case[]) {
      assert.ok(cases.length > 0);
      for (const testCase of cases) await refused(testCase);
    }

    // ---- requests ----------------------------------------------------------------------------------

    const post = (path: string, fields: unknown, options: RequestOptions = {}) => gw.post(path, fields, options);
    const postRaw = (path: string, raw: string, headers: Record<string, string> = {}) => gw.request('POST', path, undefined, { raw, headers });

    /** node:http for what fetch cannot send: no Content-Type at all, chunked bodies without a length. */
    function rawHttp(method: string, path: string, headers: Record<string, string>, chunks: string[]): Promise<HttpAnswer> {
      return new Promise((resolve, reject) => {
        const url = new URL(gw.url + path);
        const request = http.request(
          {
            host: url.hostname,
            port: url.port,
            method,
            path: url.pathname,
            headers: { authorization: basic(String(DEMO_SHOP.id), DEMO_SHOP.secret), ...headers },
          },
          (response) => {
            let text = '';
            response.setEncoding('utf8');
            response.on('data', (chunk) => (text += chunk));
            response.on('end', () => {
              let body: unknown;
              try {
                body = JSON.parse(text);
              } catch {
                body = undefined;
              }
              const responseHeaders = new Headers();
              for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') responseHeaders.set(name, value);
              resolve({ status: response.statusCode ?? 0, headers: responseHeaders, text, body });
            });
          },
        );
        // The server may answer 413 and stop reading before the whole body is written.
        request.on('error', (error) => reject(error));
        (async () => {
          for (const chunk of chunks) if (!request.write(chunk)) await new Promise((done) => request.once('drain', done));
          request.end();
        })().catch(() => {});
      });
    }

    // ---- the routes --------------------------------------------------------------------------------

    type Kind = 'purchase' | 'child' | 'payout' | 'credit' | 'balance' | 'card';
    interface PostRoute {
      path: string;
      kind: Kind;
      /** A request the route would accept (used to show that only the one defect is refused). */
      valid: () => Record<string, unknown>;
    }

    const purchase = (path: string): PostRoute => ({ path, kind: 'purchase', valid: () => paymentRequest() });
    const postRoutes: PostRoute[] = [
      purchase('/transactions/payments'),
      purchase('/transactions/authorizations'),
      purchase('/transactions/tokenizations'),
      purchase('/transactions/checkups'),
      { path: '/transactions/captures', kind: 'child', valid: () => ({ parent_uid: fx.authorization.uid, amount: 100 }) },
      { path: '/transactions/voids', kind: 'child', valid: () => ({ parent_uid: fx.authorization.uid, amount: fx.authorization.amount }) },
      { path: '/transactions/refunds', kind: 'child', valid: () => ({ parent_uid: fx.payment.uid, amount: 100, reason: 'Returned' }) },
      { path: '/transactions/chargebacks', kind: 'child', valid: () => ({ parent_uid: fx.payment.uid, amount: 100, reason: 'Fraud' }) },
      {
        path: '/transactions/payouts',
        kind: 'payout',
        valid: () => ({ amount: 500, currency: 'EUR', description: 'Payout', tracking_id: 'payout-1', recipient_credit_card: card() }),
      },
      {
        path: '/transactions/credits',
        kind: 'credit',
        valid: () => ({ amount: 500, currency: 'EUR', description: 'Credit', credit_card: { token: fx.token } }),
      },
      { path: '/balance', kind: 'balance', valid: () => ({ currency: 'EUR' }) },
      { path: '/credit_cards', kind: 'card', valid: () => ({ number: '4200000000000000', holder: 'John Doe', exp_month: 5, exp_year: yearNow + 3 }) },
    ];

    /** Cases every POST route gets: transport, wrapper, size, nesting, credentials. */
    function transportCases(route: PostRoute): Case[] {
      const { path } = route;
      const cases: Case[] = [];
      for (const [name, raw] of malformedBodies) {
        cases.push({ name: `${path}: malformed JSON (${name})`, status: 400, message: NOT_JSON, send: () => postRaw(path, raw) });
      }
      cases.push({
        name: `${path}: malformed JSON with a RequestID`,
        status: 400,
        message: NOT_JSON,
        send: () => postRaw(path, '{"request": {', { RequestID: `bad-json-${path}` }),
      });
      cases.push({ name: `${path}: an empty JSON body`, status: 400, message: 'Request body is empty', send: () => postRaw(path, '') });
      cases.push({ name: `${path}: a body of blanks`, status: 400, send: () => postRaw(path, '   \n ') });
      // The request wrapper.
      cases.push({
        name: `${path}: fields without the request wrapper`,
        status: 422,
        ...REQUEST_BLANK,
        send: () => gw.request('POST', path, route.valid()),
      });
      cases.push({ name: `${path}: an empty object`, status: 422, ...REQUEST_BLANK, send: () => gw.request('POST', path, {}) });
      cases.push({
        name: `${path}: a wrapper spelt "Request"`,
        status: 422,
        ...REQUEST_BLANK,
        send: () => gw.request('POST', path, { Request: route.valid() }),
      });
      cases.push({ name: `${path}: no body at all`, status: 422, ...REQUEST_BLANK, send: () => gw.request('POST', path) });
      for (const [name, value] of [
        ['an array', [route.valid()]],
        ['an empty array', []],
        ['a string', 'amount=100'],
        ['an empty string', ''],
        ['a number', 42],
        ['a boolean', true],
        ['null', null],
      ] as [string, unknown][]) {
        cases.push({ name: `${path}: request is ${name}`, status: 422, ...REQUEST_BLANK, send: () => post(path, value) });
        cases.push({ name: `${path}: the body is ${name}`, status: 422, ...REQUEST_BLANK, send: () => postRaw(path, JSON.stringify(value)) });
      }
      // Content types.
      for (const type of wrongContentTypes) {
        cases.push({
          name: `${path}: Content-Type ${type}`,
          status: 415,
          message: WRONG_CONTENT_TYPE,
          send: () => postRaw(path, JSON.stringify({ request: route.valid() }), { 'content-type': type }),
        });
      }
      cases.push({
        name: `${path}: a body without Content-Type`,
        status: 415,
        message: WRONG_CONTENT_TYPE,
        send: () => rawHttp('POST', path, {}, [JSON.stringify({ request: route.valid() })]),
      });
      // Size: one byte over 64 KB, with a length, chunked, with a RequestID, and far over.
      cases.push({
        name: `${path}: a body of 64 KB + 1 byte`,
        status: 413,
        message: TOO_LARGE,
        send: () => postRaw(path, paddedBody(route.valid(), BODY_LIMIT + 1)),
      });
      cases.push({
        name: `${path}: an oversize body with a RequestID`,
        status: 413,
        message: TOO_LARGE,
        send: () => postRaw(path, paddedBody(route.valid(), BODY_LIMIT + 100), { 'Idempotency-Key': `big-${path}` }),
      });
      cases.push({
        name: `${path}: a chunked body over 64 KB`,
        status: 413,
        message: TOO_LARGE,
        send: () =>
          rawHttp('POST', path, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, [
            '{"request":{"pad":"',
            ...Array(20).fill('x'.repeat(4000)),
            '"}}',
          ]),
      });
      cases.push({
        name: `${path}: a 1 MB body`,
        status: 413,
        message: TOO_LARGE,
        send: () => postRaw(path, paddedBody(route.valid(), 1024 * 1024)),
      });
      // Deep nesting.
      cases.push({
        name: `${path}: request nested 20000 arrays deep`,
        status: 400,
        message: TOO_DEEP,
        send: () => postRaw(path, `{"request":${nestedArrays(20000)}}`),
      });
      cases.push({
        name: `${path}: a member nested 5000 objects deep`,
        status: 400,
        message: TOO_DEEP,
        send: () => postRaw(path, withRawMember(route.valid(), 'additional_data', nestedObjects(5000))),
      });
      cases.push({
        name: `${path}: a member nested 100 levels deep`,
        status: 400,
        message: TOO_DEEP,
        send: () => postRaw(path, withRawMember(route.valid(), 'additional_data', nestedObjects(100))),
      });
      // Credentials: checked before anything else, whatever the body.
      for (const [name, header] of badCredentials) {
        cases.push({
          name: `${path}: ${name}`,
          status: 401,
          message: BAD_CREDENTIALS,
          send: () => gw.request('POST', path, { request: route.valid() }, { auth: null, headers: header === null ? {} : { authorization: header } }),
        });
      }
      cases.push({
        name: `${path}: wrong credentials and malformed JSON`,
        status: 401,
        message: BAD_CREDENTIALS,
        send: () => gw.request('POST', path, undefined, { auth: { id: DEMO_SHOP.id, secret: 'nope' }, raw: '{"request": {' }),
      });
      cases.push({
        name: `${path}: wrong credentials and an oversize body`,
        status: 401,
        message: BAD_CREDENTIALS,
        send: () => gw.request('POST', path, undefined, { auth: null, raw: paddedBody(route.valid(), BODY_LIMIT + 1) }),
      });
      return cases;
    }

    /** A 422 whose exact message and field errors are known. */
    function invalid(route: PostRoute, name: string, fields: Record<string, unknown>, message: string, errors?: FieldErrors): Case {
      return { name: `${route.path}: ${name}`, status: 422, message, errors, send: () => post(route.path, fields) };
    }

    /** amount: negative, zero, float, wrong types, huge (payments, children, payouts, credits). */
    function amountCases(route: PostRoute): Case[] {
      const with_ = (amount: unknown) => ({ ...route.valid(), amount });
      const without = () => {
        const fields = route.valid();
        delete fields.amount;
        return fields;
      };
      const positive = { message: 'Amount must be greater than 0.', errors: { amount: ['must be greater than 0'] } };
      const notNumber = { message: 'Amount is not a number.', errors: { amount: ['is not a number'] } };
      const tooLarge = {
        message: `Amount must be less than or equal to ${MAX_AMOUNT}.`,
        errors: { amount: [`must be less than or equal to ${MAX_AMOUNT}`] },
      };
      const cases: Case[] = [
        invalid(route, 'a negative amount', with_(-100), positive.message, positive.errors),
        invalid(route, 'amount -1', with_(-1), positive.message, positive.errors),
        invalid(route, 'a zero amount', with_(0), positive.message, positive.errors),
        invalid(route, 'amount -0.0', with_(-0), positive.message, positive.errors),
        invalid(route, 'a float amount', with_(10.5), 'Amount must be an integer.', { amount: ['must be an integer'] }),
        invalid(route, 'amount 0.001', with_(0.001), 'Amount must be an integer.', { amount: ['must be an integer'] }),
        invalid(route, 'a string amount', with_('1000'), notNumber.message, notNumber.errors),
        invalid(route, 'amount "$32.45"', with_('$32.45'), notNumber.message, notNumber.errors),
        invalid(route, 'a boolean amount', with_(true), notNumber.message, notNumber.errors),
        invalid(route, 'an object amount', with_({ value: 1 }), notNumber.message, notNumber.errors),
        invalid(route, 'an array amount', with_([100]), notNumber.message, notNumber.errors),
        invalid(route, 'amount 1e308', with_(1e308), tooLarge.message, tooLarge.errors),
        invalid(route, 'amount 2**60', with_(2 ** 60), tooLarge.message, tooLarge.errors),
        invalid(route, 'amount -1e308', with_(-1e308), positive.message, positive.errors),
        invalid(route, 'a missing amount', without(), "Amount can't be blank.", { amount: ["can't be blank"] }),
        invalid(route, 'a null amount', with_(null), "Amount can't be blank.", { amount: ["can't be blank"] }),
        {
          name: `${route.path}: amount 1e400 (Infinity once parsed)`,
          status: 422,
          ...notNumber,
          send: () => postRaw(route.path, withRawMember(route.valid(), 'amount', '1e400')),
        },
        {
          name: `${route.path}: amount with 400 digits`,
          status: 422,
          ...notNumber,
          send: () => postRaw(route.path, withRawMember(route.valid(), 'amount', '9'.repeat(400))),
        },
      ];
      return cases;
    }

    /** currency: missing, unknown, wrong type (payments, payouts, credits, balance). */
    function currencyCases(route: PostRoute): Case[] {
      const with_ = (currency: unknown) => ({ ...route.valid(), currency });
      const blank = { message: "Currency can't be blank.", errors: { currency: ["can't be blank"] } };
      const bad = { message: 'Currency is invalid.', errors: { currency: ['is invalid'] } };
      const without = route.valid();
      delete without.currency;
      return [
        invalid(route, 'no currency', without, blank.message, blank.errors),
        invalid(route, 'a null currency', with_(null), blank.message, blank.errors),
        invalid(route, 'an empty currency', with_(''), blank.message, blank.errors),
        invalid(route, 'an unknown currency XYZ', with_('XYZ'), bad.message, bad.errors),
        invalid(route, 'an unknown currency QQQ', with_('QQQ'), bad.message, bad.errors),
        invalid(route, 'a numeric currency', with_(978), bad.message, bad.errors),
        invalid(route, 'a currency object', with_({ code: 'EUR' }), bad.message, bad.errors),
        invalid(route, 'a currency with a NUL byte', with_('EU\u0000'), bad.message, bad.errors),
      ];
    }

    /** A card number, expiry and holder read from `cardPath` ([] for /credit_cards' top level). */
    function cardCases(
      route: PostRoute,
      cardPath: string[],
      place: (fields: Record<string, unknown>, cardFields: Record<string, unknown>) => Record<string, unknown>,
    ): Case[] {
      const nest = (leaf: FieldErrors): FieldErrors => cardPath.reduceRight<FieldErrors>((inner, segment) => ({ [segment]: inner }), leaf);
      const withCard = (extra: Record<string, unknown>) => place(route.valid(), extra);
      const numberInvalid = { message: 'Number is invalid.', errors: nest({ number: ['is invalid'] }) };
      const expired = 'Date is expired.';
      return [
        invalid(route, 'a non-Luhn card number', withCard({ number: '4200000000000001' }), numberInvalid.message, numberInvalid.errors),
        invalid(route, 'another non-Luhn card number', withCard({ number: '5555555555554440' }), numberInvalid.message, numberInvalid.errors),
        invalid(route, 'a card number with spaces', withCard({ number: '4200 0000 0000 0000' }), numberInvalid.message, numberInvalid.errors),
        invalid(route, 'a card number with letters', withCard({ number: '42000000000000ab' }), numberInvalid.message, numberInvalid.errors),
        invalid(route, 'a card number sent as a JSON number', withCard({ number: 4200000000000000 }), numberInvalid.message, numberInvalid.errors),
        invalid(route, 'an 11-digit card number', withCard({ number: '42000000006' }), numberInvalid.message, numberInvalid.errors),
        invalid(
          route,
          'a 20-digit card number',
          withCard({ number: '42000000000000000006' }),
          'Number is too long (maximum is 19 characters).',
          nest({ number: ['is too long (maximum is 19 characters)'] }),
        ),
        invalid(route, 'a blank card number', withCard({ number: '' }), "Number can't be blank.", nest({ number: ["can't be blank"] })),
        invalid(route, 'an expiry year in the past', withCard({ exp_month: 5, exp_year: 2020 }), expired),
        invalid(route, 'an expiry year in the past, as strings', withCard({ exp_month: '05', exp_year: '2020' }), expired),
        invalid(route, 'last month', withCard(lastMonth), expired),
        invalid(route, 'last year', withCard({ exp_month: 12, exp_year: yearNow - 1 }), expired),
        invalid(route, 'exp_month 13', withCard({ exp_month: 13 }), 'Exp month is invalid.', nest({ exp_month: ['is invalid'] })),
        invalid(route, 'exp_month 0', withCard({ exp_month: '0' }), 'Exp month is invalid.', nest({ exp_month: ['is invalid'] })),
        invalid(route, 'exp_month 5.5', withCard({ exp_month: 5.5 }), 'Exp month is invalid.', nest({ exp_month: ['is invalid'] })),
        invalid(route, 'exp_month "May"', withCard({ exp_month: 'May' }), 'Exp month is invalid.', nest({ exp_month: ['is invalid'] })),
        invalid(route, 'exp_year "20x9"', withCard({ exp_year: '20x9' }), 'Exp year is invalid.', nest({ exp_year: ['is invalid'] })),
        invalid(route, 'exp_year 1e308', withCard({ exp_year: 1e308 }), 'Exp year is invalid.', nest({ exp_year: ['is invalid'] })),
        invalid(route, 'exp_year 2**60', withCard({ exp_year: 2 ** 60 }), 'Exp year is invalid.', nest({ exp_year: ['is invalid'] })),
        invalid(route, 'exp_year as a list', withCard({ exp_year: [yearNow + 1] }), 'Exp year is invalid.', nest({ exp_year: ['is invalid'] })),
        invalid(route, 'no exp_year', withCard({ exp_year: null }), "Exp year can't be blank.", nest({ exp_year: ["can't be blank"] })),
        invalid(route, 'a holder of 256 characters', withCard({ holder: 'é'.repeat(256) }), `Holder ${TOO_LONG}.`, nest({ holder: [TOO_LONG] })),
        invalid(route, 'a holder with a NUL byte', withCard({ holder: 'John\u0000Doe' }), 'Holder is invalid.', nest({ holder: ['is invalid'] })),
        invalid(route, 'a holder that is an object', withCard({ holder: { first: 'John' } }), 'Holder is invalid.', nest({ holder: ['is invalid'] })),
      ];
    }

    /** A token that is unknown, or a card of shop 362 (foreign: same as unknown). */
    function tokenCases(
      route: PostRoute,
      tokenPath: string[],
      place: (fields: Record<string, unknown>, token: string) => Record<string, unknown>,
    ): Case[] {
      const errors = tokenPath.reduceRight<FieldErrors>((inner, segment) => ({ [segment]: inner }), { token: ['does not exist'] });
      return [
        {
          name: `${route.path}: an unknown card token`,
          status: 422,
          message: 'Token does not exist.',
          errors,
          send: () => post(route.path, place(route.valid(), 'no-such-token')),
        },
        {
          name: `${route.path}: a card token of shop 362`,
          status: 422,
          message: 'Token does not exist.',
          errors,
          send: () => post(route.path, place(route.valid(), fx.foreignToken)),
        },
        {
          name: `${route.path}: a well-formed but unknown token`,
          status: 422,
          message: 'Token does not exist.',
          errors,
          send: () =>
            post(
              route.path,
              place(
                route.valid(),
                fx.token.replace(/[0-9a-f]/i, (c) => (c === '0' ? '1' : '0')),
              ),
            ),
        },
      ];
    }

    /** One over-long string and one NUL byte in a string the route reads, plus the route's own rules. */
    function routeCases(route: PostRoute): Case[] {
      const v = route.valid;
      const long = 'x'.repeat(256);
      switch (route.kind) {
        case 'purchase': {
          const creditCard = (fields: Record<string, unknown>, extra: Record<string, unknown>) => ({
            ...fields,
            credit_card: { ...(fields.credit_card as object), ...extra },
          });
          const cases: Case[] = [
            ...amountCases(route),
            ...currencyCases(route),
            ...cardCases(route, ['credit_card'], creditCard),
            ...tokenCases(route, ['credit_card'], (fields, token) => ({ ...fields, credit_card: { token } })),
            invalid(
              route,
              'the spec example: amount 0 and no currency',
              { ...v(), amount: 0, currency: undefined },
              "Amount must be greater than 0. Currency can't be blank.",
              { amount: ['must be greater than 0'], currency: ["can't be blank"] },
            ),
            invalid(route, 'a description of 256 characters', { ...v(), description: long }, `Description ${TOO_LONG}.`, { description: [TOO_LONG] }),
            invalid(route, 'a description of 256 accented characters', { ...v(), description: 'é'.repeat(256) }, `Description ${TOO_LONG}.`, {
              description: [TOO_LONG],
            }),
            invalid(route, 'a description of 60 KB', { ...v(), description: 'd'.repeat(60_000) }, `Description ${TOO_LONG}.`, {
              description: [TOO_LONG],
            }),
            invalid(route, 'a tracking_id of 256 characters', { ...v(), tracking_id: long }, `Tracking id ${TOO_LONG}.`, { tracking_id: [TOO_LONG] }),
            invalid(route, 'a billing country of 256 characters', { ...v(), billing_address: { country: long } }, `Country ${TOO_LONG}.`, {
              billing_address: { country: [TOO_LONG] },
            }),
            invalid(route, 'a description with a NUL byte', { ...v(), description: 'Order\u0000' }, 'Description is invalid.', {
              description: ['is invalid'],
            }),
            invalid(route, 'a customer email with a NUL byte', { ...v(), customer: { email: 'a\u0000@b.c' } }, 'Email is invalid.', {
              customer: { email: ['is invalid'] },
            }),
            invalid(route, 'no description', { ...v(), description: null }, "Description can't be blank.", { description: ["can't be blank"] }),
            invalid(route, 'a numeric description', { ...v(), description: 12345 }, 'Description is invalid.', { description: ['is invalid'] }),
            invalid(route, 'no credit_card', { ...v(), credit_card: null }, "Credit card can't be blank.", { credit_card: ["can't be blank"] }),
            invalid(route, 'credit_card as a string', { ...v(), credit_card: '4200000000000000' }, 'Credit card is invalid.', {
              credit_card: ['is invalid'],
            }),
            invalid(route, 'credit_card as a list', { ...v(), credit_card: [card()] }, 'Credit card is invalid.', { credit_card: ['is invalid'] }),
            invalid(route, 'a CVC of letters', creditCard(v(), { verification_value: 'abc' }), 'Verification value is invalid.', {
              credit_card: { verification_value: ['is invalid'] },
            }),
            invalid(route, 'test "maybe"', { ...v(), test: 'maybe' }, 'Test is invalid.', { test: ['is invalid'] }),
            invalid(route, 'duplicate_check 1', { ...v(), duplicate_check: 1 }, 'Duplicate check is invalid.', { duplicate_check: ['is invalid'] }),
            invalid(route, 'additional_data as a string', { ...v(), additional_data: 'meta' }, 'Additional data is invalid.', {
              additional_data: ['is invalid'],
            }),
            invalid(route, 'additional_data as a non-empty list', { ...v(), additional_data: [1] }, 'Additional data is invalid.', {
              additional_data: ['is invalid'],
            }),
            invalid(route, 'customer as a string', { ...v(), customer: 'John' }, 'Customer is invalid.', { customer: ['is invalid'] }),
            invalid(route, 'notification_url that is no URL', { ...v(), notification_url: 'not a url' }, 'Notification url is invalid.', {
              notification_url: ['is invalid'],
            }),
            invalid(route, 'a javascript: return_url', { ...v(), return_url: 'javascript:alert(1)' }, 'Return url is invalid.', {
              return_url: ['is invalid'],
            }),
            invalid(route, 'expired_at that is no date', { ...v(), expired_at: 'tomorrow' }, 'Expired at is invalid.', {
              expired_at: ['is invalid'],
            }),
            invalid(
              route,
              'skip_three_d_secure_verification "sure"',
              creditCard(v(), { skip_three_d_secure_verification: 'sure' }),
              'Skip three d secure verification is invalid.',
              {
                credit_card: { skip_three_d_secure_verification: ['is invalid'] },
              },
            ),
          ];
          if (route.path.endsWith('checkups')) {
            cases.push(
              invalid(route, 'no tracking_id (required for a check-up)', { ...v(), tracking_id: '' }, "Tracking id can't be blank.", {
                tracking_id: ["can't be blank"],
              }),
            );
          }
          return cases;
        }
        case 'child': {
          const type = route.path.split('/').pop()!;
          const withReason = type === 'refunds' || type === 'chargebacks';
          const parent = (parent_uid: unknown) => ({ ...v(), parent_uid });
          const notFound = { message: `${PARENT_NOT_FOUND}.`, errors: { parent_uid: [PARENT_NOT_FOUND] } };
          const uuid = '7f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
          const parentCases: [string, unknown][] = [
            ['an unknown parent_uid', uuid],
            ['an unknown parent_uid in capitals', uuid.toUpperCase()],
            ['a parent_uid of another shop (authorization of 362)', fx.foreignAuthorization],
            ['a parent_uid of another shop (payment of 362)', fx.foreignPayment],
            ['a parent_uid of another shape', '1234567890qwerty'],
            ['a numeric parent_uid', 12345],
            ['a parent_uid object', { uid: fx.payment.uid }],
            ['a parent_uid list', [fx.payment.uid]],
            ['a boolean parent_uid', true],
            ['a parent_uid of 300 characters', 'a'.repeat(300)],
            ['a parent_uid with a NUL byte', fx.payment.uid.slice(0, -1) + '\u0000'],
            ['a SQL-looking parent_uid', "' OR '1'='1"],
          ];
          const cases: Case[] = [
            ...amountCases(route),
            ...parentCases.map(([name, uid]) => invalid(route, name, parent(uid), notFound.message, notFound.errors)),
            invalid(route, 'no parent_uid', parent(undefined), "Parent uid can't be blank.", { parent_uid: ["can't be blank"] }),
            invalid(route, 'an empty parent_uid', parent(''), "Parent uid can't be blank.", { parent_uid: ["can't be blank"] }),
            invalid(
              route,
              'notification_url with a NUL byte',
              { ...v(), notification_url: 'https://shop.example/\u0000' },
              'Notification url is invalid.',
              {
                notification_url: ['is invalid'],
              },
            ),
            invalid(route, 'duplicate_check "twice"', { ...v(), duplicate_check: 'twice' }, 'Duplicate check is invalid.', {
              duplicate_check: ['is invalid'],
            }),
          ];
          // The wrong kind of parent, and more than it has (state checks, after the request's own).
          const wrongParent = { captures: fx.payment.uid, voids: fx.payment.uid, refunds: fx.authorization.uid, chargebacks: fx.authorization.uid }[
            type
          ]!;
          const verb = { captures: 'captured', voids: 'voided', refunds: 'refunded', chargebacks: 'charged back' }[type]!;
          cases.push(
            invalid(route, 'a parent of the wrong type', { ...v(), parent_uid: wrongParent }, `transaction can't be ${verb}.`, {
              base: [`transaction can't be ${verb}`],
            }),
          );
          const own = type === 'captures' || type === 'voids' ? fx.authorization : fx.payment;
          cases.push(
            invalid(route, 'more than the parent holds', { ...v(), amount: own.amount + 1 }, `Amount can't be greater than ${own.amount}.`, {
              amount: [`can't be greater than ${own.amount}`],
            }),
          );
          if (withReason) {
            const noReason = { ...v() };
            delete noReason.reason;
            cases.push(
              invalid(route, 'no reason', noReason, "Reason can't be blank.", { reason: ["can't be blank"] }),
              invalid(route, 'no reason and too large an amount', { ...noReason, amount: own.amount * 1000 }, "Reason can't be blank.", {
                reason: ["can't be blank"],
              }),
              invalid(route, 'no reason and an unknown parent', { ...noReason, parent_uid: uuid }, "Reason can't be blank.", {
                reason: ["can't be blank"],
              }),
              invalid(route, 'a reason of 256 characters', { ...v(), reason: long }, `Reason ${TOO_LONG}.`, { reason: [TOO_LONG] }),
              invalid(route, 'a reason with a NUL byte', { ...v(), reason: 'Fraud\u0000' }, 'Reason is invalid.', { reason: ['is invalid'] }),
              invalid(route, 'a numeric reason', { ...v(), reason: 42 }, 'Reason is invalid.', { reason: ['is invalid'] }),
            );
          }
          return cases;
        }
        case 'payout': {
          const recipientCard = (fields: Record<string, unknown>, extra: Record<string, unknown>) => ({
            ...fields,
            recipient_credit_card: { ...(fields.recipient_credit_card as object), ...extra },
          });
          return [
            ...amountCases(route),
            ...currencyCases(route),
            ...cardCases(route, ['recipient_credit_card'], recipientCard),
            ...tokenCases(route, ['recipient_credit_card'], (fields, token) => ({ ...fields, recipient_credit_card: { token } })),
            invalid(route, 'no recipient_credit_card', { ...v(), recipient_credit_card: undefined }, "Recipient credit card can't be blank.", {
              recipient_credit_card: ["can't be blank"],
            }),
            invalid(
              route,
              'the card under credit_card instead',
              { ...v(), recipient_credit_card: undefined, credit_card: card() },
              "Recipient credit card can't be blank.",
              {
                recipient_credit_card: ["can't be blank"],
              },
            ),
            invalid(route, 'a description of 256 characters', { ...v(), description: long }, `Description ${TOO_LONG}.`, { description: [TOO_LONG] }),
            invalid(route, 'a tracking_id with a NUL byte', { ...v(), tracking_id: 'p\u0000' }, 'Tracking id is invalid.', {
              tracking_id: ['is invalid'],
            }),
            invalid(route, 'recipient as a string', { ...v(), recipient: 'Jane' }, 'Recipient is invalid.', { recipient: ['is invalid'] }),
            invalid(route, 'a sender city of 256 characters', { ...v(), sender_billing_address: { city: long } }, `City ${TOO_LONG}.`, {
              sender_billing_address: { city: [TOO_LONG] },
            }),
          ];
        }
        case 'credit':
          return [
            ...amountCases(route),
            ...currencyCases(route),
            ...tokenCases(route, ['credit_card'], (fields, token) => ({ ...fields, credit_card: { token } })),
            invalid(route, 'a card number instead of a token', { ...v(), credit_card: card() }, "Token can't be blank.", {
              credit_card: { token: ["can't be blank"] },
            }),
            invalid(route, 'no credit_card', { ...v(), credit_card: null }, "Credit card can't be blank.", { credit_card: ["can't be blank"] }),
            invalid(
              route,
              'a token of 65 characters',
              { ...v(), credit_card: { token: 't'.repeat(65) } },
              'Token is too long (maximum is 64 characters).',
              {
                credit_card: { token: ['is too long (maximum is 64 characters)'] },
              },
            ),
            invalid(route, 'a token with a NUL byte', { ...v(), credit_card: { token: fx.token + '\u0000' } }, 'Token is invalid.', {
              credit_card: { token: ['is invalid'] },
            }),
            invalid(route, 'a description of 256 characters', { ...v(), description: long }, `Description ${TOO_LONG}.`, { description: [TOO_LONG] }),
          ];
        case 'balance':
          return [
            ...currencyCases(route),
            invalid(route, 'an account of another form', { account: 'nonsense' }, 'Account is invalid.', { account: ['is invalid'] }),
            invalid(route, 'the account of shop 362', { account: `sandbox-${DEMO_3DS_SHOP.id}-EUR` }, 'Account is invalid.', {
              account: ['is invalid'],
            }),
            invalid(
              route,
              'an account of 65 characters',
              { currency: 'EUR', account: 'a'.repeat(65) },
              'Account is too long (maximum is 64 characters).',
              {
                account: ['is too long (maximum is 64 characters)'],
              },
            ),
            invalid(route, 'a gateway_id with a NUL byte', { ...v(), gateway_id: '1\u0000' }, 'Gateway id is invalid.', {
              gateway_id: ['is invalid'],
            }),
          ];
        case 'card':
          return [
            ...cardCases(route, [], (fields, extra) => ({ ...fields, ...extra })),
            ...tokenCases(route, [], (_fields, token) => ({ token, holder: 'New Holder' })),
            invalid(route, 'an empty request', {}, "Number can't be blank. Exp month can't be blank. Exp year can't be blank.", {
              number: ["can't be blank"],
              exp_month: ["can't be blank"],
              exp_year: ["can't be blank"],
            }),
            invalid(
              route,
              'the card wrapped in credit_card',
              { credit_card: v() },
              "Number can't be blank. Exp month can't be blank. Exp year can't be blank.",
              {
                number: ["can't be blank"],
                exp_month: ["can't be blank"],
                exp_year: ["can't be blank"],
              },
            ),
            invalid(route, 'a token update with exp_month 13', { token: fx.token, exp_month: 13 }, 'Exp month is invalid.', {
              exp_month: ['is invalid'],
            }),
            invalid(route, 'a token update with a NUL byte in the holder', { token: fx.token, holder: 'A\u0000' }, 'Holder is invalid.', {
              holder: ['is invalid'],
            }),
          ];
      }
    }

    for (const route of postRoutes) {
      it(`POST ${route.path}: transport, wrapper, size, nesting and credentials errors`, async () => {
        await runAll(transportCases(route));
      });
      it(`POST ${route.path}: field errors with the exact wording and nesting`, async () => {
        await runAll(routeCases(route));
      });
    }

    // ---- the GET routes ----------------------------------------------------------------------------

    it('GET /transactions/{uid}: unknown, foreign or odd uids are 404 Record not found; bad credentials 401', async () => {
      const uids = [
        '7f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
        fx.foreignPayment,
        fx.foreignAuthorization,
        '1234567890qwerty',
        'payments',
        'a%00b',
        encodeURIComponent(fx.payment.uid + '\u0000'),
        '%F0%9F%92%B3',
        encodeURIComponent("' OR 1=1 --"),
        'x'.repeat(300),
        'x'.repeat(3000),
      ];
      const cases: Case[] = uids.map((uid) => ({
        name: `GET /transactions/${uid.slice(0, 60)}`,
        status: 404,
        message: NOT_FOUND,
        send: () => gw.get(`/transactions/${uid}`),
      }));
      cases.push({ name: 'GET /transactions/ with a broken percent-encoding', status: 400, send: () => gw.get('/transactions/%E0%A4%A') });
      for (const [name, header] of badCredentials) {
        cases.push({
          name: `GET /transactions/{uid} with ${name}`,
          status: 401,
          message: BAD_CREDENTIALS,
          send: () =>
            gw.request('GET', `/transactions/${fx.payment.uid}`, undefined, {
              auth: null,
              headers: header === null ? {} : { authorization: header },
            }),
        });
      }
      await runAll(cases);
      // The shop's own transaction is still there, and shop 362 cannot see it either.
      assert.equal((await gw.get(`/transactions/${fx.payment.uid}`)).status, 200);
      const foreign = await gw.get(`/transactions/${fx.payment.uid}`, { auth: DEMO_3DS_SHOP });
      assertErrorBody(foreign, { status: 404, message: NOT_FOUND }, 'a transaction of 361 asked by 362');
    });

    it('GET tracking_id routes: no match is [] (v2) or 404 (legacy), never a 5xx; bad credentials 401', async () => {
      const ids = [
        'no-such-tracking-id',
        fx.foreignTrackingId,
        'a%00b',
        '%F0%9F%92%B3%20caf%C3%A9',
        encodeURIComponent("'; DROP TABLE transactions; --"),
        'x'.repeat(256),
        'x'.repeat(3000),
      ];
      for (const id of ids) {
        const before = await counts();
        const v2 = await gw.get(`/v2/transactions/tracking_id/${id}`);
        assert.equal(v2.status, 200, `v2 ${id.slice(0, 40)}: ${v2.text.slice(0, 200)}`);
        assert.match(v2.headers.get('content-type') ?? '', /^application\/json\b/);
        assert.deepEqual(v2.body, { transactions: [] });
        await refused({
          name: `GET /transactions/tracking_id/${id.slice(0, 40)}`,
          status: 404,
          message: NOT_FOUND,
          send: () => gw.get(`/transactions/tracking_id/${id}`),
        });
        assert.deepEqual(await counts(), before);
      }
      const cases: Case[] = [
        { name: 'v2 tracking id with a broken percent-encoding', status: 400, send: () => gw.get('/v2/transactions/tracking_id/%E0%A4%A') },
        { name: 'legacy tracking id with a broken percent-encoding', status: 400, send: () => gw.get('/transactions/tracking_id/%E0%A4%A') },
      ];
      for (const path of ['/v2/transactions/tracking_id/', '/transactions/tracking_id/']) {
        for (const [name, header] of badCredentials) {
          cases.push({
            name: `GET ${path} with ${name}`,
            status: 401,
            message: BAD_CREDENTIALS,
            send: () =>
              gw.request('GET', path + fx.foreignTrackingId, undefined, { auth: null, headers: header === null ? {} : { authorization: header } }),
          });
        }
      }
      await runAll(cases);
      // The owner still finds it.
      const own = await gw.get(`/v2/transactions/tracking_id/${fx.foreignTrackingId}`, { auth: DEMO_3DS_SHOP });
      assert.equal(own.body.transactions.length, 1);
    });

    it('unknown routes and methods answer 404 JSON with the response mirror', async () => {
      const cases: Case[] = [];
      const routes: [string, string, unknown][] = [
        ['GET', '/nope', undefined],
        ['POST', '/nope', { request: {} }],
        ['POST', '/ctp/api/checkouts', { checkout: { order: { amount: 100, currency: 'EUR', description: 'x' } } }],
        ['GET', '/transactions', undefined],
        ['DELETE', '/transactions/payments', undefined],
        ['PUT', '/transactions/refunds', { request: {} }],
        ['PATCH', '/balance', { request: { currency: 'EUR' } }],
        ['GET', '/credit_cards', undefined],
        ['POST', '/transactions/purchases', { request: paymentRequest() }],
        ['GET', '/v2/transactions', undefined],
      ];
      for (const [method, path, body] of routes) {
        for (const auth of [DEMO_SHOP, null] as (Credentials | null)[]) {
          cases.push({
            name: `${method} ${path} ${auth ? 'with' : 'without'} credentials`,
            status: 404,
            message: NOT_FOUND,
            send: () => gw.request(method, path, body, { auth }),
          });
        }
      }
      await runAll(cases);
    });

    // ---- what must succeed -------------------------------------------------------------------------

    it('null and "" mean absent for optional fields, and additional_data may hold any JSON (payment, authorization, children)', async () => {
      const loose = {
        notification_url: '',
        return_url: null,
        additional_data: { meta: [], platform_data: null, receipt_text: ['a', 'b'], nested: { deep: { deeper: [1, { x: null }] } } },
        tracking_id: null,
        language: '',
        expired_at: null,
        test: '',
        duplicate_check: null,
        customer: null,
        billing_address: '',
        unknown_field: { anything: [1, 2, 3] },
      };
      const payment = await gw.post(
        '/transactions/payments',
        paymentRequest({ ...loose, credit_card: card('4200000000000000', { verification_value: '', holder: null }) }),
      );
      assert.equal(payment.status, 200, payment.text);
      const tx = payment.body.transaction;
      assert.equal(tx.status, 'successful');
      assert.equal(tx.tracking_id, null);
      assert.equal(tx.language, 'en');
      assert.deepEqual(tx.additional_data, loose.additional_data);

      const withEmptyList = await gw.post(
        '/transactions/payments',
        paymentRequest({ additional_data: { meta: [], platform_data: null }, customer: [], billing_address: null }),
      );
      assert.equal(withEmptyList.status, 200, withEmptyList.text);
      assert.deepEqual(withEmptyList.body.transaction.additional_data, { meta: [], platform_data: null });
      const additionalDataList = await gw.post('/transactions/payments', paymentRequest({ additional_data: [] }));
      assert.equal(additionalDataList.status, 200, additionalDataList.text);

      const authorization = await gw.post('/transactions/authorizations', paymentRequest(loose));
      assert.equal(authorization.status, 200, authorization.text);
      const authUid = authorization.body.transaction.uid;
      const capture = await gw.post('/transactions/captures', {
        parent_uid: authUid,
        amount: 100,
        notification_url: '',
        duplicate_check: null,
        return_url: null,
      });
      assert.equal(capture.status, 200, capture.text);
      assert.equal(capture.body.transaction.status, 'successful');
      const refund = await gw.post('/transactions/refunds', {
        parent_uid: tx.uid,
        amount: 100,
        reason: 'Returned',
        notification_url: null,
        duplicate_check: '',
      });
      assert.equal(refund.status, 200, refund.text);
      const chargeback = await gw.post('/transactions/chargebacks', { parent_uid: tx.uid, amount: 100, reason: 'Fraud', notification_url: '' });
      assert.equal(chargeback.status, 200, chargeback.text);
      const otherAuthorization = await gw.post('/transactions/authorizations', paymentRequest());
      const voided = await gw.post('/transactions/voids', {
        parent_uid: otherAuthorization.body.transaction.uid,
        amount: otherAuthorization.body.transaction.amount,
        notification_url: '',
      });
      assert.equal(voided.status, 200, voided.text);
    });

    it('null and "" mean absent on payouts, credits, balance and credit_cards too', async () => {
      const payout = await gw.post('/transactions/payouts', {
        amount: 700,
        currency: 'EUR',
        description: 'Payout',
        tracking_id: '',
        notification_url: null,
        test: null,
        recipient: null,
        sender: '',
        recipient_billing_address: null,
        sender_billing_address: [],
        additional_data: { meta: [], platform_data: null },
        recipient_credit_card: card('4200000000000000', { holder: '' }),
      });
      assert.equal(payout.status, 200, payout.text);
      const credit = await gw.post('/transactions/credits', {
        amount: 700,
        currency: 'EUR',
        description: 'Credit',
        tracking_id: null,
        notification_url: '',
        credit_card: { token: fx.token, verification_value: null },
      });
      assert.equal(credit.status, 200, credit.text);
      const balance = await gw.post('/balance', { currency: 'EUR', gateway_id: null, account: '' });
      assert.equal(balance.status, 200, balance.text);
      assert.equal(balance.body.status, 'successful');
      const token = await gw.post('/credit_cards', {
        number: '5555555555554444',
        holder: null,
        exp_month: '03',
        exp_year: String(yearNow + 1),
        token: null,
      });
      assert.equal(token.status, 200, token.text);
      assert.equal(token.body.holder, null);
      const updated = await gw.post('/credit_cards', { token: token.body.token, number: null, holder: 'New Holder', exp_month: '', exp_year: null });
      assert.equal(updated.status, 200, updated.text);
      assert.equal(updated.body.token, token.body.token);
      assert.equal(updated.body.holder, 'New Holder');
      assert.equal(updated.body.exp_month, 3);
    });

    it('exp_month and exp_year work as strings or integers', async () => {
      const variants = [
        { exp_month: '05', exp_year: String(yearNow + 2) },
        { exp_month: 5, exp_year: yearNow + 2 },
        { exp_month: '5', exp_year: yearNow + 2 },
        { exp_month: 5, exp_year: String(yearNow + 2) },
        { exp_month: monthNow, exp_year: yearNow },
      ];
      for (const expiry of variants) {
        const label = JSON.stringify(expiry);
        const payment = await gw.post('/transactions/payments', paymentRequest({ credit_card: card('4200000000000000', expiry) }));
        assert.equal(payment.status, 200, `${label}: ${payment.text}`);
        assert.equal(payment.body.transaction.credit_card.exp_month, Number(expiry.exp_month), label);
        assert.equal(payment.body.transaction.credit_card.exp_year, Number(expiry.exp_year), label);
        const payout = await gw.post('/transactions/payouts', {
          amount: 300 + Number(expiry.exp_month),
          currency: 'EUR',
          description: 'Payout',
          duplicate_check: false,
          recipient_credit_card: card('4200000000000000', expiry),
        });
        assert.equal(payout.status, 200, `${label}: ${payout.text}`);
        const token = await gw.post('/credit_cards', { number: '4200000000000000', holder: 'John Doe', ...expiry });
        assert.equal(token.status, 200, `${label}: ${token.text}`);
        assert.equal(token.body.exp_month, Number(expiry.exp_month), label);
        assert.equal(token.body.exp_year, Number(expiry.exp_year), label);
      }
    });

    it('unicode is stored and echoed; a lone surrogate, huge numbers and odd members do not break it', async () => {
      const description = 'Zahlung für 💳 — 测试 عربى ‮ «ok»';
      const payment = await gw.post(
        '/transactions/payments',
        paymentRequest({
          description,
          tracking_id: 'ünïcødé-🎫',
          credit_card: card('4200000000000000', { holder: 'Jöhn Dœ 李' }),
          additional_data: { note: 'a\u0000b', '\u0000key': 1, big: 1e308, huge: 2 ** 60, tiny: 5e-324 },
        }),
      );
      assert.equal(payment.status, 200, payment.text);
      const tx = payment.body.transaction;
      assert.equal(tx.description, description);
      assert.equal(tx.credit_card.holder, 'Jöhn Dœ 李');
      assert.deepEqual(tx.additional_data, { note: 'a\u0000b', '\u0000key': 1, big: 1e308, huge: 2 ** 60, tiny: 5e-324 });
      const found = await gw.get(`/v2/transactions/tracking_id/${encodeURIComponent('ünïcødé-🎫')}`);
      assert.deepEqual(
        found.body.transactions.map((t: { uid: string }) => t.uid),
        [tx.uid],
      );
      const surrogate = await gw.post('/transactions/payments', paymentRequest({ description: 'broken \ud800 pair' }));
      assert.equal(surrogate.status, 200, surrogate.text);
      const accented = await gw.post('/transactions/payments', paymentRequest({ description: 'é'.repeat(255) }));
      assert.equal(accented.status, 200, accented.text);
    });

    it('a body of exactly 64 KB is accepted; nesting up to the limit is accepted', async () => {
      const payment = await gw.request('POST', '/transactions/payments', undefined, { raw: paddedBody(paymentRequest(), BODY_LIMIT) });
      assert.equal(payment.status, 200, payment.text.slice(0, 300));
      const balance = await gw.request('POST', '/balance', undefined, { raw: paddedBody({ currency: 'EUR' }, BODY_LIMIT) });
      assert.equal(balance.status, 200, balance.text.slice(0, 300));
      const nested = await gw.request('POST', '/transactions/payments', undefined, {
        raw: withRawMember(paymentRequest(), 'additional_data', nestedObjects(20)),
      });
      assert.equal(nested.status, 200, nested.text.slice(0, 300));
    });

    it('after all of it the gateway still processes payments', async () => {
      const health = await gw.get('/healthz', { auth: null });
      assert.equal(health.status, 200);
      const payment = await gw.post('/transactions/payments', paymentRequest());
      assert.equal(payment.status, 200);
      assert.equal(payment.body.transaction.status, 'successful');
      const errors = gw.logs.filter((line) => line.includes('"level":50'));
      assert.deepEqual(errors, [], 'no unexpected fault was logged');
    });
  });
}
