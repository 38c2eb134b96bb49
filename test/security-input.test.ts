import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { OPENING_KIND } from '../src/store/sandbox.js';
import { it } from './support/deadline.js';
import { AS_OPERATOR, DEMO_SHOP, exchange, paymentRequest, startGateway, type TestGateway, testStores } from './support/gateway.js';
import { basicAuth } from './support/http.js';

const basic = basicAuth(DEMO_SHOP);
const EMOJI = '💳';

for (const store of testStores()) {
  describe(`input validation and exact sums [${store}]`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(store);
    });
    after(() => gw.close());

    /** The request is refused with 422 and these field errors, and no transaction is written. */
    async function refused(extra: Record<string, unknown>, errors: unknown) {
      const before = await gw.count('transactions');
      const answer = await gw.post('/transactions/payments', paymentRequest(extra));
      assert.equal(answer.status, 422, answer.text);
      assert.deepEqual(answer.body.errors, errors);
      assert.deepEqual(answer.body.response, { message: answer.body.message, errors });
      assert.equal(await gw.count('transactions'), before);
      return answer;
    }

    it('counts lengths in characters: a 255-character description of emoji is taken, 256 are refused', async () => {
      const taken = await gw.post('/transactions/payments', paymentRequest({ description: EMOJI.repeat(255), tracking_id: EMOJI.repeat(255) }));
      assert.equal(taken.status, 200, taken.text);
      assert.equal(taken.body.transaction.description, EMOJI.repeat(255));
      // The same count when the merchant looks it up again by that tracking id.
      const found = await gw.get(`/v2/transactions/tracking_id/${encodeURIComponent(EMOJI.repeat(255))}`);
      assert.deepEqual(
        found.body.transactions.map((t: { uid: string }) => t.uid),
        [taken.body.transaction.uid],
      );

      const answer = await refused({ description: EMOJI.repeat(256) }, { description: ['is too long (maximum is 255 characters)'] });
      assert.equal(answer.body.message, 'Description is too long (maximum is 255 characters).');
    });

    it('refuses dates that do not exist instead of moving them to the next month', async () => {
      for (const impossible of [
        '2027-02-30',
        '2026-13-01',
        '2026-04-31T10:00:00Z',
        '2026-02-29T00:00:00Z',
        '2030-06-01T24:00:00Z',
        '2030-06-01T10:60:00Z',
        '2030-06-01T10:00:00+25:00',
      ]) {
        const answer = await refused({ expired_at: impossible }, { expired_at: ['is invalid'] });
        assert.equal(answer.body.message, 'Expired at is invalid.', impossible);
      }
      await refused({ customer: { birth_date: '1990-02-30' } }, { customer: { birth_date: ['is invalid'] } });

      const leapDay = await gw.post(
        '/transactions/payments',
        paymentRequest({ expired_at: '2028-02-29T10:00:00Z', customer: { birth_date: '2000-02-29' } }),
      );
      assert.equal(leapDay.status, 200, leapDay.text);
      assert.equal(leapDay.body.transaction.expired_at, '2028-02-29T10:00:00.000Z');
    });

    it('refuses a customer.ip that is not an IPv4 or IPv6 address', async () => {
      for (const ip of ['999.1.1.1', '10.0.0', 'localhost', '1.2.3.4; drop table', '::ffff:1.2.3.999']) {
        await refused({ customer: { ip } }, { customer: { ip: ['is invalid'] } });
      }
      for (const ip of ['10.0.0.1', '2001:db8::1', '::1']) {
        const answer = await gw.post('/transactions/payments', paymentRequest({ customer: { ip } }));
        assert.equal(answer.status, 200, answer.text);
        assert.equal(answer.body.transaction.customer.ip, ip);
      }
    });

    it('refuses a JSON body that is not UTF-8 with 400, sync and async, and stores nothing', async () => {
      const json = JSON.stringify({ request: paymentRequest({ description: 'Caf__' }) });
      const [head, tail] = json.split('__');
      // 0xC3 opens a two-byte sequence that 0x28 ("(") cannot continue; 0xFF never occurs in UTF-8.
      for (const bad of [Buffer.from([0xc3, 0x28]), Buffer.from([0xff]), Buffer.from([0xed, 0xa0, 0x80])]) {
        const body = Buffer.concat([Buffer.from(head), bad, Buffer.from(tail)]);
        for (const path of ['/transactions/payments', '/async/transactions/payments']) {
          const [transactions, tasks] = [await gw.count('transactions'), await gw.count('async_tasks')];
          const answer = await exchange(gw.url + path, {
            method: 'POST',
            headers: { authorization: basic, 'content-type': 'application/json' },
            body,
          });
          assert.equal(answer.status, 400, answer.text);
          assert.deepEqual(answer.body, { message: 'Request body is not valid UTF-8', response: { message: 'Request body is not valid UTF-8' } });
          assert.deepEqual([await gw.count('transactions'), await gw.count('async_tasks')], [transactions, tasks]);
        }
      }
      const good = await exchange(gw.url + '/transactions/payments', {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: Buffer.concat([Buffer.from(head), Buffer.from('é'), Buffer.from(tail)]),
      });
      assert.equal(good.status, 200, good.text);
      assert.equal(good.body.transaction.description, 'Café');
    });

    it('validates acquirer_settings on create and PATCH: known settings only, each in its range', async () => {
      const createShop = (settings: unknown) =>
        gw.request(
          'POST',
          '/admin/shops',
          { id: 9701, secret_key: 'settings-shop-secret-key', test: true, acquirer_settings: settings },
          AS_OPERATOR,
        );
      const cases: [Record<string, unknown>, Record<string, string[]>][] = [
        [{ timeout_rate: 5 }, { timeout_rate: ['must be a number from 0 to 1'] }],
        [{ error_rate: -0.1 }, { error_rate: ['must be a number from 0 to 1'] }],
        [{ error_rate: '0.5' }, { error_rate: ['must be a number from 0 to 1'] }],
        [{ latency_ms: -1 }, { latency_ms: ['must be a whole number of milliseconds from 0 to 600000'] }],
        [{ latency_ms: 1.5 }, { latency_ms: ['must be a whole number of milliseconds from 0 to 600000'] }],
        [{ slow_ms: 600_001 }, { slow_ms: ['must be a whole number of milliseconds from 0 to 600000'] }],
        [{ settle_ms: null }, { settle_ms: ['must be a whole number of milliseconds from 0 to 2147483647'] }],
        [{ latencyms: 10 }, { latencyms: ['is not a known setting'] }],
      ];
      for (const [settings, errors] of cases) {
        const answer = await createShop(settings);
        assert.equal(answer.status, 422, `${JSON.stringify(settings)}: ${answer.text}`);
        assert.deepEqual(answer.body.errors, { acquirer_settings: errors });
        assert.equal(answer.body.response.message, answer.body.message);
        assert.equal((await gw.request('GET', '/admin/shops/9701', undefined, AS_OPERATOR)).status, 404);
      }
      const notAnObject = await createShop([1]);
      assert.equal(notAnObject.status, 422);

      const valid = { latency_ms: 0, slow_ms: 600_000, settle_ms: 1e9, timeout_rate: 1, error_rate: 0 };
      const created = await createShop(valid);
      assert.equal(created.status, 201, created.text);
      assert.deepEqual(created.body.acquirer_settings, valid);

      for (const [settings, errors] of cases) {
        const patched = await gw.request('PATCH', '/admin/shops/9701', { acquirer_settings: settings }, AS_OPERATOR);
        assert.equal(patched.status, 422, patched.text);
        assert.deepEqual(patched.body.errors, { acquirer_settings: errors });
      }
      const unchanged = await gw.request('GET', '/admin/shops/9701', undefined, AS_OPERATOR);
      assert.deepEqual(unchanged.body.acquirer_settings, valid);
    });

    it('answers a balance past 2^53 minor units exactly, sync and async', async () => {
      // No test can make 2^53 minor units of real payments (each is capped): start the account just below,
      // with an approved opening entry in the bank's journal (as an upgraded installation's account has).
      const start = Number.MAX_SAFE_INTEGER - 1; // 9007199254740990
      const at = gw.clock.now().toISOString();
      await gw.app.store.db
        .insertInto('sandbox_operations')
        .values({
          reference: `opening:${DEMO_SHOP.id}:GBP`,
          shop_id: DEMO_SHOP.id,
          kind: OPENING_KIND,
          amount: start,
          currency: 'GBP',
          approved: 1,
          response: '{}',
          settle_at: at,
          created_at: at,
        })
        .execute();
      const below = await gw.post('/balance', { currency: 'GBP' });
      assert.equal(below.status, 200, below.text);
      assert.equal(below.body.result.amount, start, 'a safe integer stays a JSON number');

      for (const amount of [5, 6]) {
        const payment = await gw.post('/transactions/payments', paymentRequest({ amount, currency: 'GBP', duplicate_check: false }));
        assert.equal(payment.body.transaction.status, 'successful', payment.text);
      }
      const exact = '9007199254741001';
      const sync = await gw.post('/balance', { currency: 'GBP' });
      assert.equal(sync.status, 200, sync.text);
      assert.equal(sync.body.result.amount, exact);
      assert.match(sync.text, /"amount":"9007199254741001"/);

      const submitted = await gw.request('POST', '/async/balance', { request: { currency: 'GBP' } });
      assert.equal(submitted.status, 200, submitted.text);
      await gw.app.workers.drain();
      const result = await gw.get(`/async/result/${submitted.body.request_id}`);
      assert.equal(result.status, 200, result.text);
      assert.equal(result.body.result.amount, exact);
    });
  });
}
