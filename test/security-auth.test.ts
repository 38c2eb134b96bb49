import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { AS_OPERATOR, DEMO_3DS_SHOP, DEMO_SHOP, startGateway, type TestGateway, testStores } from './support/gateway.js';
import { runCli } from './support/processes.js';
import { basicAuth } from './support/http.js';

/**
 * One secret-key policy (16 to 255 characters) wherever a secret is set, and failed shop authentication
 * throttled per client address and per shop id (src/limits/authThrottle.ts), on each store: on PostgreSQL
 * the failure counts live in the database.
 */

const WINDOW_MS = 60_000;
const PER_ADDRESS = 3;
const PER_SHOP = 5;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** GET `path` from the loopback address `from` (Linux answers all of 127/8), with Basic credentials. */
function getFrom(from: string, gatewayUrl: string, path: string, user: string | number, secret: string, forwardedFor?: string): Promise<Answer> {
  const { hostname, port } = new URL(gatewayUrl);
  const authorization = basicAuth({ id: user, secret });
  const headers: http.OutgoingHttpHeaders = { authorization, ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) };
  return new Promise((resolve, reject) => {
    const request = http.request({ host: hostname, port, path, method: 'GET', localAddress: from, agent: false, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: JSON.parse(text) }));
    });
    request.on('error', reject);
    request.end();
  });
}

const SHORT_SECRET_ERROR = { message: 'Secret key must be 16 to 255 characters.', errors: { secret_key: ['must be 16 to 255 characters'] } };
for (const kind of testStores()) {
  describe(`shop secret policy [${kind}]`, () => {
    let gateway: TestGateway;
    before(async () => {
      gateway = await startGateway(kind);
    });
    after(() => gateway.close());

    it('refuses a secret key under 16 characters on creation and on the admin rotate_secret, changing nothing', async () => {
      const created = await gateway.request('POST', '/admin/shops', { id: 4101, secret_key: 'x' }, AS_OPERATOR);
      assert.equal(created.status, 422);
      assert.deepEqual(created.body, { ...SHORT_SECRET_ERROR, response: SHORT_SECRET_ERROR });
      assert.equal((await gateway.request('GET', '/admin/shops/4101', undefined, AS_OPERATOR)).status, 404);

      const rotated = await gateway.request('POST', '/admin/shops/361/rotate_secret', { secret_key: 'x' }, AS_OPERATOR);
      assert.equal(rotated.status, 422);
      assert.deepEqual(rotated.body, { ...SHORT_SECRET_ERROR, response: SHORT_SECRET_ERROR });
      const tooLong = await gateway.request('POST', '/admin/shops/361/rotate_secret', { secret_key: 'y'.repeat(256) }, AS_OPERATOR);
      assert.equal(tooLong.status, 422);
      assert.equal((await gateway.get('/transactions/some-uid')).status, 404, 'the old secret still authenticates');
    });

    it('refuses it on the CLI rotate-secret too (a real child process), changing nothing', async () => {
      const { databaseUrl, schema, masterKey } = gateway.database;
      const url = schema ? `${databaseUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}` : databaseUrl;
      const result = await runCli(['shop', 'rotate-secret', '362', '--secret', 'short'], {
        ECOMGATE_DATABASE_URL: url,
        ECOMGATE_MASTER_KEY: masterKey,
      });
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(result.stderr, /Secret key must be 16 to 255 characters/);
      assert.equal((await gateway.get('/transactions/some-uid', { auth: DEMO_3DS_SHOP })).status, 404, 'the old secret still authenticates');
    });
  });

  describe(`failed authentication throttle [${kind}]`, () => {
    let gateway: TestGateway;
    before(async () => {
      gateway = await startGateway(kind, { authFailureLimit: PER_ADDRESS, authFailureLimitPerShop: PER_SHOP, authFailureWindowMs: WINDOW_MS });
    });
    after(() => gateway.close());

    const throttledBody = { message: 'Too many failed authentication attempts', response: { message: 'Too many failed authentication attempts' } };

    it('refuses an address after too many wrong secrets, its right secret too, while the shop works from elsewhere', async () => {
      const attacker = '127.0.0.2';
      for (let attempt = 1; attempt <= PER_ADDRESS; attempt++) {
        assert.equal((await getFrom(attacker, gateway.url, '/transactions/some-uid', DEMO_SHOP.id, `wrong-guess-${attempt}`)).status, 401);
      }
      const refused = await getFrom(attacker, gateway.url, '/transactions/some-uid', DEMO_SHOP.id, 'wrong-guess-last');
      assert.equal(refused.status, 429);
      assert.deepEqual(refused.body, throttledBody);
      const retryAfter = Number(refused.headers['retry-after']);
      assert.ok(retryAfter >= 1 && retryAfter <= WINDOW_MS / 1000, `Retry-After ${refused.headers['retry-after']}`);
      assert.equal(
        (await getFrom(attacker, gateway.url, '/transactions/some-uid', DEMO_SHOP.id, DEMO_SHOP.secret)).status,
        429,
        'no oracle: the right secret is refused from there too',
      );
      assert.equal(
        (await getFrom('127.0.0.1', gateway.url, '/transactions/some-uid', DEMO_SHOP.id, DEMO_SHOP.secret)).status,
        404,
        'the shop works from another address',
      );

      gateway.clock.advance(WINDOW_MS);
      assert.equal(
        (await getFrom(attacker, gateway.url, '/transactions/some-uid', DEMO_SHOP.id, DEMO_SHOP.secret)).status,
        404,
        'the window over, the address is served again',
      );
      const line = gateway.logs
        .map((entry) => JSON.parse(entry))
        .find((entry) => entry.msg === 'failed shop authentications throttled' && entry.scope === 'address');
      assert.ok(line, 'the throttle is logged');
      assert.equal(line.level, 40);
      assert.equal(line.address, attacker);
    });

    it('answers wrong secrets sprayed at one shop id from many addresses 429, yet lets the right secret through', async () => {
      const sprayers = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
      const statuses: number[] = [];
      // Two wrong secrets from each address: every address stays under its own limit, the shop goes over its.
      for (const from of sprayers) {
        for (let attempt = 1; attempt <= 2; attempt++) {
          statuses.push((await getFrom(from, gateway.url, '/transactions/some-uid', DEMO_3DS_SHOP.id, `spray-${from}-${attempt}`)).status);
        }
      }
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
      const fresh = await getFrom('127.0.0.21', gateway.url, '/transactions/some-uid', DEMO_3DS_SHOP.id, 'spray-fresh');
      assert.equal(fresh.status, 429, 'a wrong secret for the shop from a new address is throttled');
      assert.deepEqual(fresh.body, throttledBody);
      assert.ok(Number(fresh.headers['retry-after']) >= 1);
      assert.equal(
        (await getFrom('127.0.0.22', gateway.url, '/transactions/some-uid', DEMO_3DS_SHOP.id, DEMO_3DS_SHOP.secret)).status,
        404,
        'the merchant is not locked out',
      );

      const entries = gateway.logs.map((entry) => JSON.parse(entry));
      const throttled = entries.filter((entry) => entry.msg === 'failed shop authentications throttled' && entry.scope === 'shop');
      assert.equal(throttled.length, 1, 'one line when the shop crosses its limit, not one per attempt');
      assert.equal(throttled[0].shop, DEMO_3DS_SHOP.id);
      assert.ok(!gateway.logs.some((entry) => entry.includes('spray-') || entry.includes('wrong-guess')), 'no presented secret in any log line');

      const metrics = (await gateway.get('/metrics', { auth: null })).text;
      assert.match(metrics, /ecomgate_auth_throttled_total\{scope="shop"\} 2/);
      assert.match(metrics, /ecomgate_auth_failures_total \d+/);
    });
  });

  describe(`failed authentication throttle behind a load balancer [${kind}]`, () => {
    let gateway: TestGateway;
    const balancer = '127.0.0.31';
    before(async () => {
      gateway = await startGateway(kind, {
        authFailureLimit: PER_ADDRESS,
        authFailureLimitPerShop: 1000,
        authFailureWindowMs: WINDOW_MS,
        trustedProxies: [balancer],
      });
    });
    after(() => gateway.close());

    it('counts the client X-Forwarded-For names when the request comes from a trusted balancer, and ignores the header from anyone else', async () => {
      const get = (from: string, secret: string, forwardedFor?: string) =>
        getFrom(from, gateway.url, '/transactions/some-uid', DEMO_SHOP.id, secret, forwardedFor);
      for (let attempt = 1; attempt <= PER_ADDRESS; attempt++) assert.equal((await get(balancer, `wrong-${attempt}`, '203.0.113.7')).status, 401);
      assert.equal((await get(balancer, 'wrong-last', '203.0.113.7')).status, 429, 'the guessing client is throttled');
      assert.equal((await get(balancer, DEMO_SHOP.secret, '203.0.113.7')).status, 429, 'the guessing client is refused');
      assert.equal((await get(balancer, DEMO_SHOP.secret, '203.0.113.8')).status, 404, 'another client behind the same balancer is served');

      // Not a trusted balancer: a client cannot escape its count by naming another address in the header.
      const direct = '127.0.0.32';
      for (let attempt = 1; attempt <= PER_ADDRESS; attempt++)
        assert.equal((await get(direct, `direct-${attempt}`, `198.51.100.${attempt}`)).status, 401);
      assert.equal((await get(direct, 'direct-last', '198.51.100.98')).status, 429, 'counted under its own address');
      assert.equal((await get(direct, DEMO_SHOP.secret, '198.51.100.99')).status, 429, 'refused under its own address');
    });
  });
}
