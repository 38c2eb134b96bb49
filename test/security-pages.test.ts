import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { randomBytes } from 'node:crypto';
import { challengeToken, submitChallenge } from './support/challenge.js';
import { runCli, scratchDatabase } from './support/processes.js';
import { AS_OPERATOR, card, DEMO_3DS_SHOP, paymentRequest, startGateway, type TestGateway, testStores } from './support/gateway.js';

const threeDs = { auth: DEMO_3DS_SHOP };
const RETURN_URL = 'https://merchant.example/return?order=7';

for (const store of testStores()) {
  describe(`3-D Secure page security [${store}]`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(store);
    });
    after(() => gw.close());

    async function challenged(extra: Record<string, unknown> = {}) {
      const answer = await gw.post(
        '/transactions/payments',
        paymentRequest({ credit_card: card('4012000000003010'), return_url: RETURN_URL, notification_url: 'http://127.0.0.1:9/hook', ...extra }),
        threeDs,
      );
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.transaction.status, 'incomplete');
      return answer.body.transaction as { uid: string; amount: number };
    }
    const page = (uid: string) => gw.request('GET', `/process/${uid}`, undefined, { auth: null });
    const statusOf = async (uid: string) => (await gw.get(`/transactions/${uid}`, threeDs)).body.transaction.status;
    /** What a refused or expired submit must leave alone: bank calls, ledger, webhooks. */
    const effects = async () => ({
      bank: await gw.count('sandbox_operations'),
      ledger: await gw.count('ledger_entries'),
      webhooks: await gw.count('webhook_deliveries'),
    });

    it('expires a challenge past its expired_at when its page is shown, at once, with its webhook and no bank call', async () => {
      const tx = await challenged({ expired_at: new Date(gw.clock.now().getTime() + 60_000).toISOString() });
      const before = await effects();
      gw.clock.advance(60_000);
      const shown = await page(tx.uid);
      assert.equal(shown.status, 200);
      assert.doesNotMatch(shown.text, /Authenticate/);
      assert.match(shown.text, /status-expired/);
      assert.equal(await statusOf(tx.uid), 'expired');
      assert.deepEqual(await effects(), { ...before, webhooks: before.webhooks + 1 });
    });

    it('expires a challenge past its expired_at when its form is submitted, instead of paying it', async () => {
      const tx = await challenged({ expired_at: new Date(gw.clock.now().getTime() + 60_000).toISOString() });
      const token = /name="token" value="([^"]+)"/.exec((await page(tx.uid)).text)![1]!;
      const before = await effects();
      gw.clock.advance(60_001);
      const submitted = await submitChallenge(gw, tx.uid, { outcome: 'authenticate', token });
      assert.equal(submitted.status, 200, 'the outcome page, not a redirect to return_url');
      assert.match(submitted.text, /status-expired/);
      assert.equal(await statusOf(tx.uid), 'expired');
      assert.deepEqual(await effects(), { ...before, webhooks: before.webhooks + 1 });
    });

    it('expires a challenge given no expired_at 24 h after its creation, on submit', async () => {
      const tx = await challenged();
      gw.clock.advance(24 * 3600_000);
      const submitted = await submitChallenge(gw, tx.uid, { outcome: 'authenticate' });
      assert.equal(submitted.status, 200);
      assert.equal(await statusOf(tx.uid), 'expired');
    });

    it('refuses an expired_at in the past (or now) at creation with 422, storing nothing', async () => {
      const stored = await gw.count('transactions');
      for (const expiredAt of [new Date(gw.clock.now().getTime() - 1000).toISOString(), gw.clock.now().toISOString(), '2001-01-01T00:00:00+03:00']) {
        const answer = await gw.post(
          '/transactions/payments',
          paymentRequest({ credit_card: card('4012000000003010'), expired_at: expiredAt }),
          threeDs,
        );
        assert.equal(answer.status, 422, expiredAt);
        const error = { message: 'Expired at must be in the future.', errors: { expired_at: ['must be in the future'] } };
        assert.deepEqual(answer.body, { ...error, response: error });
      }
      assert.equal(await gw.count('transactions'), stored);
    });

    it('answers 404 for the page of any transaction that is not a challenge waiting for its customer', async () => {
      const paid = (await gw.post('/transactions/payments', paymentRequest({ amount: 4321 }))).body.transaction;
      const refund = (await gw.post('/transactions/refunds', { parent_uid: paid.uid, amount: 1234, reason: 'return' })).body.transaction;
      const frictionless = (await gw.post('/transactions/payments', paymentRequest({ amount: 4444, credit_card: card('4012000000001006') }), threeDs))
        .body.transaction;
      const finished = await challenged({ amount: 5555 });
      assert.equal((await submitChallenge(gw, finished.uid, { outcome: 'fail' })).status, 303);
      for (const tx of [paid, refund, frictionless, finished]) {
        const shown = await page(tx.uid);
        assert.equal(shown.status, 404, tx.uid);
        assert.match(shown.text, /Transaction not found/);
        assert.doesNotMatch(shown.text, /EUR|Status:/);
        const posted = await gw.request('POST', `/process/${tx.uid}`, undefined, {
          auth: null,
          raw: 'outcome=authenticate',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        assert.ok(posted.status === 403 || posted.status === 404, String(posted.status));
        assert.doesNotMatch(posted.text, /EUR|Status:/);
      }
    });

    it("refuses a submit without the page's token, with another token, or from a foreign Origin, changing nothing", async () => {
      const tx = await challenged();
      const other = await challenged();
      const before = await effects();
      for (const [fields, headers] of [
        [{ outcome: 'authenticate', token: '' }, {}],
        [{ outcome: 'authenticate', token: challengeToken(gw, other.uid) }, {}],
        [{ outcome: 'authenticate' }, { origin: 'https://attacker.example' }],
        [{ outcome: 'authenticate' }, { origin: 'null' }],
      ] as const) {
        const fieldsSent: Record<string, string> = { ...fields };
        const refused = await submitChallenge(gw, tx.uid, fieldsSent, { ...headers });
        assert.equal(refused.status, 403, JSON.stringify([fields, headers]));
        assert.match(refused.text, /Confirmation refused/);
      }
      const noToken = await gw.request('POST', `/process/${tx.uid}`, undefined, {
        auth: null,
        raw: 'outcome=authenticate',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(noToken.status, 403);
      assert.equal(await statusOf(tx.uid), 'incomplete');
      assert.deepEqual(await effects(), before);
      // The page's own form, posted from the gateway's origin, goes through.
      const token = /name="token" value="([^"]+)"/.exec((await page(tx.uid)).text)![1]!;
      const accepted = await gw.request('POST', `/process/${tx.uid}`, undefined, {
        auth: null,
        raw: new URLSearchParams({ outcome: 'authenticate', token }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(gw.app.ctx.publicUrl).origin },
      });
      assert.equal(accepted.status, 303);
      assert.equal(await statusOf(tx.uid), 'successful');
    });

    it('sends the pages with a strict CSP, nosniff and a same-origin referrer policy; nosniff on every answer', async () => {
      const tx = await challenged();
      const challenge = await page(tx.uid);
      const csp = challenge.headers.get('content-security-policy') ?? '';
      assert.match(csp, /form-action 'self' https:\/\/merchant\.example(;|$)/);
      assert.match(csp, /base-uri 'none'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /form-action \*/);
      const paid = (await gw.post('/transactions/payments', paymentRequest())).body.transaction;
      const receiptUrl = new URL(paid.receipt_url);
      const pages = [
        challenge,
        await gw.request('GET', receiptUrl.pathname + receiptUrl.search, undefined, { auth: null }),
        await page('00000000-0000-4000-8000-000000000000'),
      ];
      for (const answer of pages) {
        assert.equal(answer.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(answer.headers.get('referrer-policy'), 'same-origin');
        assert.match(answer.headers.get('content-security-policy') ?? '', /base-uri 'none'.*frame-ancestors 'none'/);
      }
      assert.doesNotMatch(pages[1]!.headers.get('content-security-policy') ?? '', /merchant\.example/);
      const answers = [
        await gw.get(`/transactions/${paid.uid}`),
        await gw.post('/transactions/payments', { amount: -1 }),
        await gw.get('/no/such/route'),
        await gw.get('/transactions/%E0%A4%A', { auth: null }),
        await gw.get('/healthz', { auth: null }),
        await gw.get('/transactions/' + paid.uid, { auth: null }),
      ];
      for (const answer of answers) assert.equal(answer.headers.get('x-content-type-options'), 'nosniff', String(answer.status));
    });

    it('answers an over-long 3-D Secure form with 413 naming its 1 KB limit', async () => {
      const tx = await challenged();
      const answer = await submitChallenge(gw, tx.uid, { outcome: 'authenticate', padding: 'x'.repeat(2048) });
      assert.equal(answer.status, 413);
      const error = { message: 'Request body is too large (1 KB at most)' };
      assert.deepEqual(answer.body, { ...error, response: error });
      assert.equal(await statusOf(tx.uid), 'incomplete');
    });
  });

  describe(`return_url hosts allowed per shop [${store}]`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(store);
    });
    after(() => gw.close());

    async function createShop(fields: Record<string, unknown>) {
      const created = await gw.request('POST', '/admin/shops', fields, AS_OPERATOR);
      assert.equal(created.status, 201, created.text);
      return { id: created.body.id as number, secret: created.body.secret_key as string, view: created.body };
    }
    const pay = (shop: { id: number; secret: string }, returnUrl: string) =>
      gw.post('/transactions/payments', paymentRequest({ return_url: returnUrl }), { auth: shop });
    const notAllowed = { message: 'Return url host is not allowed for this shop.', errors: { return_url: ['host is not allowed for this shop'] } };

    it('is on for a new live shop (no host until the operator lists one), off for a test shop', async () => {
      const live = await createShop({ id: 7101, test: false });
      const test = await createShop({ id: 7102, test: true });
      assert.deepEqual(live.view.return_hosts, []);
      assert.equal(test.view.return_hosts, null);
      const stored = await gw.count('transactions');
      const refused = await pay(live, 'https://shop.example/back');
      assert.equal(refused.status, 422, refused.text);
      assert.deepEqual(refused.body, { ...notAllowed, response: notAllowed });
      assert.equal(await gw.count('transactions'), stored);
      assert.equal((await pay(test, 'https://anywhere.example/back')).status, 200);
      assert.equal((await pay(live, '')).status, 200, 'no return_url, nothing to check');
    });

    it('is set on creation and changed with PATCH /admin/shops/{id}; null lets any host through', async () => {
      const shop = await createShop({ id: 7103, test: true, return_hosts: ['shop.example'] });
      assert.deepEqual(shop.view.return_hosts, ['shop.example']);
      assert.equal((await pay(shop, 'https://shop.example/back?order=1')).status, 200);
      assert.equal((await pay(shop, 'https://evil.example/back')).status, 422);
      assert.equal((await pay(shop, 'https://shop.example.evil.example/')).status, 422);

      const patched = await gw.request('PATCH', '/admin/shops/7103', { return_hosts: ['pay.shop.example', '[2001:db8::1]'] }, AS_OPERATOR);
      assert.equal(patched.status, 200, patched.text);
      assert.deepEqual(patched.body.return_hosts, ['pay.shop.example', '[2001:db8::1]']);
      assert.equal((await pay(shop, 'https://shop.example/back')).status, 422);
      assert.equal((await pay(shop, 'https://PAY.shop.example:8443/back')).status, 200);
      assert.equal((await pay(shop, 'http://[2001:db8::1]/back')).status, 200);

      const opened = await gw.request('PATCH', '/admin/shops/7103', { return_hosts: null }, AS_OPERATOR);
      assert.equal(opened.body.return_hosts, null);
      assert.equal((await pay(shop, 'https://evil.example/back')).status, 200);
      assert.equal((await gw.request('PATCH', '/admin/shops/7103', { name: 'Renamed' }, AS_OPERATOR)).body.return_hosts, null, 'absent: unchanged');
    });

    it('refuses malformed host lists with 422, changing nothing', async () => {
      for (const hosts of ['shop.example', [1], ['Shop.Example'], ['shop.example:443'], ['shop.example/path'], ['']]) {
        const answer = await gw.request('PATCH', `/admin/shops/${DEMO_3DS_SHOP.id}`, { return_hosts: hosts }, AS_OPERATOR);
        assert.equal(answer.status, 422, JSON.stringify(hosts));
        assert.ok(answer.body.errors.return_hosts, answer.text);
        assert.equal(answer.body.response.message, answer.body.message);
      }
      assert.equal((await gw.request('GET', `/admin/shops/${DEMO_3DS_SHOP.id}`, undefined, AS_OPERATOR)).body.return_hosts, null);
      assert.equal((await gw.request('POST', '/admin/shops', { id: 7104, return_hosts: ['a b'] }, AS_OPERATOR)).status, 422);
      assert.equal((await gw.request('GET', '/admin/shops/7104', undefined, AS_OPERATOR)).status, 404);
    });
  });
}

describe('start-up warning for demo shops off loopback [sqlite]', () => {
  const warning = /demo shops 361 and 362, whose credentials are public, are served on a non-loopback address/;
  for (const [host, demoShops, warned] of [
    ['0.0.0.0', true, true],
    ['127.0.0.1', true, false],
    ['0.0.0.0', false, false],
  ] as const) {
    it(`${warned ? 'warns' : 'says nothing'} on ${host} with demo shops ${demoShops ? 'on' : 'off'}`, async () => {
      const gw = await startGateway('sqlite', { host, demoShops });
      try {
        assert.equal(
          gw.logs.some((line) => warning.test(line) && JSON.parse(line).level === 40),
          warned,
        );
      } finally {
        await gw.close();
      }
    });
  }
});

describe('return hosts from the operator CLI [sqlite]', () => {
  it('shop create sets them with --return-host, a live shop without it gets none, a test shop any', async () => {
    const db = await scratchDatabase('sqlite');
    const env = { ECOMGATE_DATABASE_URL: db.url, ECOMGATE_MASTER_KEY: randomBytes(32).toString('base64') };
    try {
      const create = async (...args: string[]) => {
        const result = await runCli(['shop', 'create', ...args], env);
        assert.equal(result.code, 0, result.stderr);
        return JSON.parse(result.stdout).return_hosts;
      };
      assert.deepEqual(await create('--id', '8101', '--return-host', 'shop.example', 'pay.shop.example'), ['shop.example', 'pay.shop.example']);
      assert.deepEqual(await create('--id', '8102'), []);
      assert.equal(await create('--id', '8103', '--test'), null);
      const bad = await runCli(['shop', 'create', '--id', '8104', '--return-host', 'Shop.Example:80'], env);
      assert.notEqual(bad.code, 0);
    } finally {
      await db.close();
    }
  });
});
