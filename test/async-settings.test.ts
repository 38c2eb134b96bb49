import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { it } from './support/deadline.js';
import { readConfig } from '../src/config.js';
import { AS_OPERATOR, DEMO_SHOP, paymentRequest, startGateway, type TestGateway, testStores } from './support/gateway.js';

/**
 * The async settings operators change: ECOMGATE_ASYNC_RETENTION (spec §4 says 24 h; an operator may keep
 * results shorter or longer) and ECOMGATE_ASYNC_MAX_QUEUED_PER_SHOP (one shop's flood must not take the
 * queue from the others). Each setting is read as `serve` reads it, from its environment variable.
 */

async function completedPayment(gw: TestGateway): Promise<string> {
  const submitted = await gw.post('/async/transactions/payments', paymentRequest());
  assert.equal(submitted.status, 200, submitted.text);
  await gw.app.workers.drain();
  const result = await gw.get(`/async/result/${submitted.body.request_id}`);
  assert.equal(result.status, 200, result.text);
  return submitted.body.request_id;
}

for (const kind of testStores()) {
  describe(`async settings [${kind}]`, () => {
    for (const [setting, retentionMs] of [
      ['30m', 30 * 60_000],
      ['2d', 2 * 86_400_000],
    ] as const) {
      it(`ECOMGATE_ASYNC_RETENTION=${setting}: a 200 result is served until then, afterwards 404 and purged`, async () => {
        const config = readConfig({ ECOMGATE_ASYNC_RETENTION: setting });
        assert.equal(config.asyncRetentionMs, retentionMs);
        const gw = await startGateway(kind, { asyncRetentionMs: config.asyncRetentionMs });
        try {
          const id = await completedPayment(gw);
          gw.clock.advance(retentionMs - 1000);
          assert.equal((await gw.get(`/async/result/${id}`)).status, 200, 'still within the retention');
          assert.equal((await gw.get(`/async/status/${id}`)).body.status, 'completed');
          assert.equal(await gw.app.asyncQueue.purgeExpired(), 0, 'the sweeper keeps a result within the retention');
          gw.clock.advance(1000);
          const expired = await gw.get(`/async/result/${id}`);
          assert.equal(expired.status, 404);
          assert.deepEqual(expired.body, { status: 'unknown', request_id: id });
          assert.equal((await gw.get(`/async/status/${id}`)).status, 404);
          assert.equal(await gw.app.asyncQueue.purgeExpired(), 1);
          assert.equal(await gw.count('async_tasks'), 0);
        } finally {
          await gw.close();
        }
      });
    }

    it('ECOMGATE_ASYNC_MAX_QUEUED_PER_SHOP: a shop at its cap gets 429 and queues nothing; another shop is still accepted', async () => {
      const config = readConfig({ ECOMGATE_ASYNC_MAX_QUEUED_PER_SHOP: '3' });
      assert.equal(config.asyncMaxQueuedPerShop, 3);
      const gw = await startGateway(kind, { asyncMaxQueuedPerShop: config.asyncMaxQueuedPerShop });
      try {
        const other = { id: 7101, secret: 'per-shop-cap-other-secret' };
        const created = await gw.request('POST', '/admin/shops', { id: other.id, secret_key: other.secret, test: true }, AS_OPERATOR);
        assert.equal(created.status, 201, created.text);
        for (let i = 0; i < 3; i++) assert.equal((await gw.post('/async/transactions/payments', paymentRequest())).status, 200);
        const refused = await gw.post('/async/transactions/payments', paymentRequest());
        assert.equal(refused.status, 429, refused.text);
        assert.ok(Number(refused.headers.get('retry-after')) >= 1);
        assert.equal(refused.body.message, 'Too many unfinished asynchronous requests, retry later');
        assert.equal(refused.body.response.message, refused.body.message);
        assert.equal(await gw.count('async_tasks'), 3, 'the refused submit queued nothing');
        for (let i = 0; i < 3; i++) {
          const accepted = await gw.post('/async/transactions/payments', paymentRequest(), { auth: other });
          assert.equal(accepted.status, 200, `the other shop's submit ${i + 1} is accepted: ${accepted.text}`);
        }
        assert.equal(
          (await gw.post('/async/transactions/payments', paymentRequest(), { auth: other })).status,
          429,
          'the other shop has its own cap',
        );
        assert.equal((await gw.post('/async/transactions/payments', paymentRequest(), { auth: DEMO_SHOP })).status, 429);
        assert.equal(await gw.count('async_tasks'), 6);
      } finally {
        await gw.close();
      }
    });
  });
}
