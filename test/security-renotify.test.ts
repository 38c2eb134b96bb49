import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { paymentRequest, startGateway, testStores, type TestGateway } from './support/gateway.js';
import { WebhookReceiver } from './support/webhookReceiver.js';

const LIMIT = 3;
const WINDOW_MS = 3_600_000;

for (const store of testStores()) {
  describe(`renotify limits [${store}]`, () => {
    let gw: TestGateway;
    let endpoint: WebhookReceiver;
    before(async () => {
      gw = await startGateway(store, { renotifyLimit: LIMIT, renotifyWindowMs: WINDOW_MS });
      endpoint = await WebhookReceiver.start();
    });
    after(async () => {
      await gw.close();
      await endpoint.close();
    });

    const deliver = () => gw.app.webhooks.drain();
    const renotify = (uid: string) => gw.post(`/transactions/${uid}/renotify`, {});
    const queued = async (uid: string) =>
      (
        await gw.app.store.db
          .selectFrom('webhook_deliveries')
          .select('id')
          .where('transaction_uid', '=', uid)
          .where('state', '=', 'pending')
          .execute()
      ).length;
    const receivedOf = (uid: string) => endpoint.received.filter((webhook) => webhook.body.transaction.uid === uid).length;

    it('coalesces quick renotifies into one queued delivery, then caps them per transaction with 429 and Retry-After', async () => {
      const payment = await gw.post('/transactions/payments', paymentRequest({ notification_url: endpoint.url }));
      assert.equal(payment.status, 200, payment.text);
      const uid = payment.body.transaction.uid;
      await deliver();
      assert.equal(receivedOf(uid), 1);

      // 50 at once: every one answers the same 200, and one delivery is queued.
      const burst = await Promise.all(Array.from({ length: 50 }, () => renotify(uid)));
      for (const answer of burst) {
        assert.equal(answer.status, 200, answer.text);
        assert.deepEqual(answer.body, { message: 'Transaction was renotified' });
      }
      assert.equal(await queued(uid), 1);
      await deliver();
      assert.equal(receivedOf(uid), 2, 'the burst made one delivery');

      // Each renotify after the previous one went out is a delivery of its own, up to the cap.
      for (let n = 2; n <= LIMIT; n++) {
        gw.clock.advance(60_000);
        assert.equal((await renotify(uid)).status, 200);
        await deliver();
      }
      assert.equal(receivedOf(uid), 1 + LIMIT);

      gw.clock.advance(60_000);
      const capped = await renotify(uid);
      assert.equal(capped.status, 429, capped.text);
      assert.deepEqual(capped.body, { message: 'Rate limit exceeded', response: { message: 'Rate limit exceeded' } });
      // The first renotify delivery leaves the window an hour after it was queued, (LIMIT - 1) + 1 minutes ago.
      assert.equal(capped.headers.get('retry-after'), String((WINDOW_MS - LIMIT * 60_000) / 1000));
      assert.equal(await queued(uid), 0);
      await deliver();
      assert.equal(receivedOf(uid), 1 + LIMIT);

      // Another transaction of the shop is not held back by this one's cap.
      const other = await gw.post('/transactions/payments', paymentRequest({ notification_url: endpoint.url }));
      await deliver();
      assert.equal((await renotify(other.body.transaction.uid)).status, 200);

      // Once the oldest renotify left the window, the next one is taken again.
      gw.clock.advance(WINDOW_MS - LIMIT * 60_000);
      assert.equal((await renotify(uid)).status, 200);
      await deliver();
      assert.equal(receivedOf(uid), 2 + LIMIT);
    });
  });
}
