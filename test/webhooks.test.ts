import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { AS_OPERATOR, card, DEMO_3DS_SHOP, DEMO_SHOP, paymentRequest, startGateway, type TestGateway, testStores } from './support/gateway.js';
import { submitChallenge } from './support/challenge.js';
import { type Answer, type ReceivedWebhook, signatureIsValid, WebhookReceiver } from './support/webhookReceiver.js';
import { basicAuth } from './support/http.js';
import { DECLINED_CARD } from './support/cards.js';

/** Every gateway here draws the same jitter: rand(0..29) = floor(0.5 · 30) = 15. */
const random = () => 0.5;
const JITTER = 15;
/** Spec §5, written out independently of the gateway's code: the delay before retry n, in ms. */
const delayBeforeRetry = (n: number) => (Math.floor(2.12 * n) ** 3 + JITTER * (n + 1)) * 1000;
/** Short enough that the slow-receiver test waits it out in real time. */
const TIMEOUT_MS = 300;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

for (const store of testStores()) {
  describe(`webhooks [${store}]`, () => {
    let gw: TestGateway;
    let publicKey: string;
    const receivers: WebhookReceiver[] = [];

    before(async () => {
      gw = await startGateway(store, { webhookTimeoutMs: TIMEOUT_MS }, { random });
      const shop = await gw.request('GET', `/admin/shops/${DEMO_SHOP.id}`, undefined, AS_OPERATOR);
      publicKey = shop.body.public_key;
    });
    after(async () => {
      await gw.close();
      await Promise.all(receivers.map((r) => r.close()));
    });

    async function receiver(answer?: Answer) {
      const started = await WebhookReceiver.start(answer);
      receivers.push(started);
      return started;
    }

    async function pay(target: WebhookReceiver, extra: Record<string, unknown> = {}) {
      const answer = await gw.post('/transactions/payments', paymentRequest({ notification_url: target.url, ...extra }));
      assert.equal(answer.status, 200, answer.text);
      return answer.body.transaction as { uid: string; status: string };
    }

    const deliver = () => gw.app.webhooks.drain();
    const deliveriesOf = (uid: string) =>
      gw.app.store.db.selectFrom('webhook_deliveries').selectAll().where('transaction_uid', '=', uid).orderBy('id').execute();
    const attemptsOf = (deliveryId: number) =>
      gw.app.store.db.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('attempt').execute();

    /** What a merchant checks: the shop's Basic credentials, JSON, and the signature over the raw body. */
    function assertAuthentic(webhook: ReceivedWebhook, key = publicKey) {
      assert.equal(webhook.headers.authorization, basicAuth(DEMO_SHOP));
      assert.equal(webhook.headers['content-type'], 'application/json');
      assert.ok(signatureIsValid(webhook.raw, webhook.headers['content-signature'], key), 'Content-Signature verifies with the shop public key');
      assert.match(String(webhook.headers['x-request-id']), UUID);
    }

    it('POSTs a successful payment to its notification_url, signed, with the shop credentials, once asked to deliver', async () => {
      const endpoint = await receiver();
      const payment = await pay(endpoint);
      assert.equal(payment.status, 'successful');
      assert.equal(endpoint.received.length, 0, 'processing itself sends nothing');
      await deliver();
      assert.equal(endpoint.received.length, 1);
      const [webhook] = endpoint.received;
      assertAuthentic(webhook);
      const [delivery] = await deliveriesOf(payment.uid);
      // The stored outbox bytes, exactly, and the transaction as a status query shows it.
      assert.equal(webhook.raw.toString('utf8'), delivery.payload);
      const status = await gw.get(`/transactions/${payment.uid}`);
      assert.deepEqual(webhook.body, { transaction: status.body.transaction });
      assert.equal(webhook.headers['x-webhook-id'], String(delivery.id));
      assert.equal(webhook.headers['x-webhook-attempt'], '1');
      // A body changed by one byte no longer verifies.
      const tampered = Buffer.from(webhook.raw.toString('utf8').replace('"successful"', '"failed"'));
      assert.ok(!signatureIsValid(tampered, webhook.headers['content-signature'], publicKey));
      assert.equal(delivery.state, 'delivered');
      assert.equal(delivery.attempts, 1);
      const [attempt] = await attemptsOf(delivery.id);
      assert.equal(attempt.status_code, 200);
      assert.equal(attempt.error, null);
      assert.equal(attempt.request_id, webhook.headers['x-request-id']);
      await deliver();
      assert.equal(endpoint.received.length, 1, 'a delivered webhook is not sent again');
    });

    it('notifies a failed payment', async () => {
      const endpoint = await receiver();
      const payment = await pay(endpoint, { credit_card: card(DECLINED_CARD) });
      assert.equal(payment.status, 'failed');
      await deliver();
      assert.equal(endpoint.received.length, 1);
      assertAuthentic(endpoint.received[0]);
      assert.equal(endpoint.received[0].body.transaction.uid, payment.uid);
      assert.equal(endpoint.received[0].body.transaction.status, 'failed');
      assert.equal(endpoint.received[0].body.transaction.message, 'Payment was declined');
    });

    it('notifies a chargeback with the disputed payment inside as parent_transaction', async () => {
      const endpoint = await receiver();
      const payment = await pay(endpoint);
      const chargeback = await gw.post('/transactions/chargebacks', { parent_uid: payment.uid, amount: 100, reason: 'Fraud' });
      assert.equal(chargeback.status, 200, chargeback.text);
      await deliver();
      assert.equal(endpoint.received.length, 2);
      const webhook = endpoint.received.find((w) => w.body.transaction.type === 'chargeback')!;
      assertAuthentic(webhook);
      assert.equal(webhook.body.transaction.uid, chargeback.body.transaction.uid);
      assert.equal(webhook.body.transaction.parent_uid, payment.uid);
      assert.equal(webhook.body.transaction.parent_transaction.uid, payment.uid);
      assert.equal(webhook.body.transaction.parent_transaction.type, 'payment');
      assert.equal(webhook.body.transaction.parent_transaction.status, 'successful');
    });

    it('notifies a payment made in async mode, once its task has run', async () => {
      const endpoint = await receiver();
      const submit = await gw.post('/async/transactions/payments', paymentRequest({ notification_url: endpoint.url }));
      assert.equal(submit.status, 200, submit.text);
      await deliver();
      assert.equal(endpoint.received.length, 0, 'nothing to notify before the task has run');
      await gw.app.workers.drain();
      await deliver();
      assert.equal(endpoint.received.length, 1);
      assertAuthentic(endpoint.received[0]);
      const result = await gw.get(`/async/result/${submit.body.request_id}`);
      assert.equal(result.status, 200);
      assert.deepEqual(endpoint.received[0].body, { transaction: result.body.transaction });
    });

    it('notifies the end of a 3-D Secure challenge and an expiry, signed with the 3-D Secure shop key', async () => {
      const shop362 = await gw.request('GET', `/admin/shops/${DEMO_3DS_SHOP.id}`, undefined, AS_OPERATOR);
      const endpoint = await receiver();
      const challenge = async () =>
        (
          await gw.post('/transactions/payments', paymentRequest({ credit_card: card('4012000000003010'), notification_url: endpoint.url }), {
            auth: DEMO_3DS_SHOP,
          })
        ).body.transaction as { uid: string; status: string };
      const passed = await challenge();
      const expiring = await challenge();
      assert.equal(passed.status, 'incomplete');
      await deliver();
      assert.equal(endpoint.received.length, 0, 'nothing is final yet');
      const submitted = await submitChallenge(gw, passed.uid, { outcome: 'authenticate' });
      assert.equal(submitted.status, 200);
      gw.clock.advance(24 * 3600_000);
      assert.ok((await gw.app.expireIncomplete()) >= 1);
      await deliver();
      const byUid = new Map(endpoint.received.map((w) => [w.body.transaction.uid, w]));
      for (const [uid, status] of [
        [passed.uid, 'successful'],
        [expiring.uid, 'expired'],
      ]) {
        const webhook = byUid.get(uid);
        assert.ok(webhook, `webhook for ${status}`);
        assert.equal(webhook.body.transaction.status, status);
        assert.equal(webhook.headers.authorization, basicAuth(DEMO_3DS_SHOP));
        assert.ok(signatureIsValid(webhook.raw, webhook.headers['content-signature'], shop362.body.public_key));
      }
    });

    it('queues nothing for a transaction without notification_url', async () => {
      const answer = await gw.post('/transactions/payments', paymentRequest({ notification_url: '' }));
      assert.equal(answer.status, 200);
      assert.deepEqual(await deliveriesOf(answer.body.transaction.uid), []);
    });

    it('retries a failing endpoint on the spec schedule, sending nothing before each delay has passed', async () => {
      const statuses = [500, 503, 404];
      const endpoint = await receiver((n) => statuses[n - 1] ?? 200);
      const payment = await pay(endpoint);
      const firstAt = gw.clock.now().getTime();
      await deliver();
      assert.equal(endpoint.received.length, 1);
      for (let n = 1; n <= 3; n++) {
        gw.clock.advance(delayBeforeRetry(n) - 1);
        await deliver();
        assert.equal(endpoint.received.length, n, `retry ${n} is not sent 1 ms before its time`);
        gw.clock.advance(1);
        await deliver();
        assert.equal(endpoint.received.length, n + 1, `retry ${n} is sent once its delay has passed`);
      }
      gw.clock.advance(delayBeforeRetry(4) * 10);
      await deliver();
      assert.equal(endpoint.received.length, 4, 'exactly four attempts: three failures and the acknowledged one');

      const ids = new Set(endpoint.received.map((w) => w.headers['x-webhook-id']));
      assert.equal(ids.size, 1, 'X-Webhook-Id is stable across retries');
      assert.deepEqual(
        endpoint.received.map((w) => w.headers['x-webhook-attempt']),
        ['1', '2', '3', '4'],
      );
      assert.equal(new Set(endpoint.received.map((w) => w.headers['x-request-id'])).size, 4, 'each attempt has its own X-Request-Id');
      assert.ok(
        endpoint.received.every((w) => w.raw.equals(endpoint.received[0].raw)),
        'every attempt sends the same bytes',
      );
      for (const webhook of endpoint.received) assertAuthentic(webhook);

      const [delivery] = await deliveriesOf(payment.uid);
      assert.equal(delivery.state, 'delivered');
      assert.equal(delivery.attempts, 4);
      const attempts = await attemptsOf(delivery.id);
      assert.deepEqual(
        attempts.map((a) => a.status_code),
        [500, 503, 404, 200],
      );
      let at = firstAt;
      const expected = [firstAt];
      for (let n = 1; n <= 3; n++) {
        at += delayBeforeRetry(n);
        expected.push(at);
      }
      assert.deepEqual(
        attempts.map((a) => Date.parse(a.attempted_at)),
        expected,
      );
    });

    it('gives up after 15 retries (16 attempts, about 36 hours): the delivery is dead; the operator sees why and retries it', async () => {
      const endpoint = await receiver(() => 500);
      const payment = await pay(endpoint);
      await deliver();
      for (let n = 1; n <= 15; n++) {
        gw.clock.advance(delayBeforeRetry(n) - 1);
        await deliver();
        assert.equal(endpoint.received.length, n);
        gw.clock.advance(1);
        await deliver();
        assert.equal(endpoint.received.length, n + 1);
      }
      const [delivery] = await deliveriesOf(payment.uid);
      assert.equal(delivery.state, 'dead');
      assert.equal(delivery.attempts, 16);
      assert.equal((await attemptsOf(delivery.id)).length, 16);
      gw.clock.advance(30 * 86_400_000);
      await deliver();
      assert.equal(endpoint.received.length, 16, 'a dead delivery is not attempted again by itself');

      const history = await gw.request('GET', `/admin/transactions/${payment.uid}/deliveries`, undefined, AS_OPERATOR);
      assert.equal(history.status, 200, history.text);
      assert.equal(history.body.deliveries.length, 1);
      const view = history.body.deliveries[0];
      assert.equal(view.id, delivery.id);
      assert.equal(view.url, endpoint.url);
      assert.equal(view.state, 'dead');
      assert.equal(view.next_attempt_at, null);
      assert.equal(view.attempts.length, 16);
      assert.ok(view.attempts.every((a: any) => a.status_code === 500 && a.error === null && Number.isInteger(a.latency_ms) && a.latency_ms >= 0));
      assert.deepEqual(
        view.attempts.map((a: any) => a.attempt),
        Array.from({ length: 16 }, (_, i) => i + 1),
      );
      const span = Date.parse(view.attempts[15].attempted_at) - Date.parse(view.attempts[0].attempted_at);
      let total = 0;
      for (let n = 1; n <= 15; n++) total += delayBeforeRetry(n);
      assert.equal(span, total);
      assert.ok(span > 35 * 3_600_000 && span < 37 * 3_600_000, `${span / 3_600_000} h`);

      // The merchant fixed the endpoint: the operator re-queues the dead delivery, and it goes out at once.
      endpoint.answer = () => 200;
      const retried = await gw.request('POST', `/admin/deliveries/${delivery.id}/retry`, undefined, AS_OPERATOR);
      assert.equal(retried.status, 200, retried.text);
      assert.equal(retried.body.state, 'pending');
      await deliver();
      assert.equal(endpoint.received.length, 17);
      assert.equal(endpoint.received[16].headers['x-webhook-id'], String(delivery.id));
      assert.equal(endpoint.received[16].headers['x-webhook-attempt'], '17');
      assertAuthentic(endpoint.received[16]);
      const [done] = await deliveriesOf(payment.uid);
      assert.equal(done.state, 'delivered');

      const again = await gw.request('POST', `/admin/deliveries/${delivery.id}/retry`, undefined, AS_OPERATOR);
      assert.equal(again.status, 409);
      const unknown = await gw.request('POST', '/admin/deliveries/999999999/retry', undefined, AS_OPERATOR);
      assert.equal(unknown.status, 404);
      const malformed = await gw.request('POST', '/admin/deliveries/abc/retry', undefined, AS_OPERATOR);
      assert.equal(malformed.status, 404);
      const anonymous = await gw.request('GET', `/admin/transactions/${payment.uid}/deliveries`, undefined, { auth: null });
      assert.equal(anonymous.status, 401);
      const merchant = await gw.request('GET', `/admin/transactions/${payment.uid}/deliveries`);
      assert.equal(merchant.status, 401);
      const none = await gw.request('GET', '/admin/transactions/00000000-0000-4000-8000-000000000000/deliveries', undefined, AS_OPERATOR);
      assert.equal(none.status, 404);
    });

    it('counts a receiver that answers after the timeout as a failed attempt', async () => {
      const endpoint = await receiver(() => 'hold');
      const payment = await pay(endpoint);
      await deliver();
      assert.equal(endpoint.received.length, 1);
      assert.equal(endpoint.pending, 1, 'the receiver had not answered when the attempt was given up');
      const [delivery] = await deliveriesOf(payment.uid);
      assert.equal(delivery.state, 'pending');
      assert.equal(Date.parse(delivery.next_attempt_at), gw.clock.now().getTime() + delayBeforeRetry(1));
      const [attempt] = await attemptsOf(delivery.id);
      assert.equal(attempt.status_code, null);
      assert.match(attempt.error ?? '', new RegExp(`no answer within ${TIMEOUT_MS} ms`));
      assert.ok(attempt.latency_ms >= TIMEOUT_MS - 5, `latency ${attempt.latency_ms} ms`);
      endpoint.release(200);
      assert.equal((await attemptsOf(delivery.id)).length, 1, 'a late answer changes nothing');
      endpoint.answer = () => 200;
    });

    it('renotifies: a fresh delivery of the current state; 404 for unknown or foreign uids, 422 without notification_url', async () => {
      const endpoint = await receiver();
      const payment = await pay(endpoint);
      await deliver();
      assert.equal(endpoint.received.length, 1);
      // The payment changes after its webhook went out: a minute later, a partial refund touches it.
      gw.clock.advance(60_000);
      const refund = await gw.post('/transactions/refunds', { parent_uid: payment.uid, amount: 100, reason: 'return' });
      assert.equal(refund.status, 200, refund.text);
      const current = { transaction: (await gw.get(`/transactions/${payment.uid}`)).body.transaction };

      const renotified = await gw.post(`/transactions/${payment.uid}/renotify`, {});
      assert.equal(renotified.status, 200, renotified.text);
      assert.deepEqual(renotified.body, { message: 'Transaction was renotified' });
      // Delivered before the next renotify: one still queued would be coalesced with it (security-renotify.test.ts).
      await deliver();
      const bare = await gw.request('POST', `/transactions/${payment.uid}/renotify`);
      assert.equal(bare.status, 200, bare.text);
      await deliver();
      const paymentHooks = endpoint.received.filter((w) => w.body.transaction.uid === payment.uid);
      assert.equal(paymentHooks.length, 3);
      const [first, second, third] = paymentHooks;
      for (const webhook of paymentHooks) assertAuthentic(webhook);
      // Renotified: the payment as it is now, not the bytes of its first webhook.
      assert.notDeepEqual(current, first.body, 'the refund changed the payment');
      assert.deepEqual(second.body, current);
      assert.deepEqual(third.body, current);
      assert.equal(new Set([first, second, third].map((w) => w.headers['x-webhook-id'])).size, 3, 'each renotify is its own delivery');
      assert.equal(second.headers['x-webhook-attempt'], '1');
      assert.equal((await deliveriesOf(payment.uid)).length, 3);

      const notFound = { message: 'Record not found', response: { message: 'Record not found' } };
      const unknown = await gw.post('/transactions/00000000-0000-4000-8000-000000000000/renotify', {});
      assert.equal(unknown.status, 404);
      assert.deepEqual(unknown.body, notFound);
      const malformed = await gw.post('/transactions/1234567890qwerty/renotify', {});
      assert.equal(malformed.status, 404);
      assert.deepEqual(malformed.body, notFound);
      const foreign = await gw.post('/transactions/payments', paymentRequest(), { auth: DEMO_3DS_SHOP });
      assert.equal(foreign.status, 200, foreign.text);
      const stolen = await gw.post(`/transactions/${foreign.body.transaction.uid}/renotify`, {});
      assert.equal(stolen.status, 404);
      assert.deepEqual(stolen.body, notFound);

      const silent = await gw.post('/transactions/payments', paymentRequest());
      const refused = await gw.post(`/transactions/${silent.body.transaction.uid}/renotify`, {});
      assert.equal(refused.status, 422);
      assert.deepEqual(refused.body.errors, { notification_url: ["can't be blank"] });
      assert.equal(refused.body.response.message, refused.body.message);
      assert.deepEqual(await deliveriesOf(silent.body.transaction.uid), []);

      const anonymous = await gw.post(`/transactions/${payment.uid}/renotify`, {}, { auth: null });
      assert.equal(anonymous.status, 401);
    });

    it('a renotified chargeback carries its parent again', async () => {
      const endpoint = await receiver();
      const payment = await pay(endpoint);
      const chargeback = await gw.post('/transactions/chargebacks', { parent_uid: payment.uid, amount: 50, reason: 'Dispute' });
      assert.equal(chargeback.status, 200, chargeback.text);
      await deliver();
      const renotified = await gw.post(`/transactions/${chargeback.body.transaction.uid}/renotify`, {});
      assert.equal(renotified.status, 200);
      await deliver();
      const chargebackHooks = endpoint.received.filter((w) => w.body.transaction.type === 'chargeback');
      assert.equal(chargebackHooks.length, 2);
      assert.equal(chargebackHooks[1].body.transaction.parent_transaction.uid, payment.uid);
    });

    it('exports webhook metrics: attempts by result, dead deliveries, the backlog', async () => {
      // A gateway of its own, so every count is this test's.
      const own = await startGateway(store, { webhookTimeoutMs: TIMEOUT_MS }, { random });
      try {
        const payTo = async (target: WebhookReceiver) =>
          assert.equal((await own.post('/transactions/payments', paymentRequest({ notification_url: target.url }))).status, 200);
        const failing = await receiver(() => 500);
        await payTo(failing);
        await own.app.webhooks.drain();
        for (let n = 1; n <= 15; n++) {
          own.clock.advance(delayBeforeRetry(n));
          await own.app.webhooks.drain();
        }
        assert.equal(failing.received.length, 16);
        await payTo(await receiver());
        const slow = await receiver(() => 'hold');
        await payTo(slow);
        await own.app.webhooks.drain();
        slow.release(200);
        const metrics = (await own.request('GET', '/metrics', undefined, { auth: null })).text;
        assert.match(metrics, /^ecomgate_webhook_attempts_total\{result="delivered"\} 1$/m);
        assert.match(metrics, /^ecomgate_webhook_attempts_total\{result="rejected"\} 16$/m);
        assert.match(metrics, /^ecomgate_webhook_attempts_total\{result="timeout"\} 1$/m);
        assert.match(metrics, /^ecomgate_webhook_deliveries_total\{outcome="dead"\} 1$/m);
        assert.match(metrics, /^ecomgate_webhook_attempt_duration_seconds_bucket/m);
        assert.match(metrics, /^ecomgate_webhook_backlog\{state="pending"\} 1$/m, 'the timed-out delivery waits for its retry');
      } finally {
        await own.close();
      }
    });

    it('sends first attempts before retries, so a backlog of retries does not delay fresh notifications', async () => {
      const order: string[] = [];
      const narrow = await startGateway(store, { webhookConcurrency: 1 }, { random });
      try {
        const failing = await receiver((n) => {
          order.push('retry');
          return n === 1 ? 500 : 200;
        });
        const fresh = await receiver(() => {
          order.push('fresh');
          return 200;
        });
        const first = await narrow.post('/transactions/payments', paymentRequest({ notification_url: failing.url }));
        assert.equal(first.status, 200);
        await narrow.app.webhooks.drain();
        order.length = 0;
        // The retry has been due for a minute when the fresh notification is queued.
        narrow.clock.advance(delayBeforeRetry(1) + 60_000);
        const second = await narrow.post('/transactions/payments', paymentRequest({ notification_url: fresh.url }));
        assert.equal(second.status, 200);
        await narrow.app.webhooks.drain();
        assert.deepEqual(order, ['fresh', 'retry']);
      } finally {
        await narrow.close();
      }
    });

    it('loses nothing across a restart: queued and scheduled deliveries go on, a dead worker’s lease is taken over', async () => {
      const endpoint = await receiver((n) => (n === 1 ? 500 : 200));
      const first = await startGateway(store, { webhookTimeoutMs: TIMEOUT_MS }, { random });
      let second: TestGateway | undefined;
      let firstOpen = true;
      try {
        const shop = await first.request('GET', `/admin/shops/${DEMO_SHOP.id}`, undefined, AS_OPERATOR);
        const scheduled = await first.post('/transactions/payments', paymentRequest({ notification_url: endpoint.url }));
        await first.app.webhooks.drain();
        assert.equal(endpoint.received.length, 1, 'first attempt failed, retry scheduled');
        const queued = await first.post('/transactions/payments', paymentRequest({ notification_url: endpoint.url }));
        await first.close({ keepDatabase: true });
        firstOpen = false;

        second = await startGateway(store, { webhookTimeoutMs: TIMEOUT_MS }, { reuse: first.database, clock: first.clock, random });
        await second.app.webhooks.drain();
        assert.equal(endpoint.received.length, 2, 'the delivery queued before the restart goes out; the retry is not due yet');
        assert.equal(endpoint.received[1].body.transaction.uid, queued.body.transaction.uid);
        second.clock.advance(delayBeforeRetry(1));
        await second.app.webhooks.drain();
        assert.equal(endpoint.received.length, 3);
        const retry = endpoint.received[2];
        assert.equal(retry.body.transaction.uid, scheduled.body.transaction.uid);
        assert.equal(retry.headers['x-webhook-id'], endpoint.received[0].headers['x-webhook-id']);
        assert.equal(retry.headers['x-webhook-attempt'], '2');
        // Signed before and after the restart with the same shop key, unsealed from the store each time.
        for (const webhook of endpoint.received) assertAuthentic(webhook, shop.body.public_key);

        // A worker that died mid-attempt leaves its delivery leased; another takes it over once the lease expires.
        const orphan = await second.post('/transactions/payments', paymentRequest({ notification_url: endpoint.url }));
        const leaseEnd = second.clock.now().getTime() + 60_000;
        await second.app.store.db
          .updateTable('webhook_deliveries')
          .set({ state: 'delivering', lease_owner: 'crashed-worker', lease_expires_at: new Date(leaseEnd).toISOString() })
          .where('transaction_uid', '=', orphan.body.transaction.uid)
          .execute();
        await second.app.webhooks.drain();
        assert.equal(endpoint.received.length, 3, 'not while the lease holds');
        second.clock.advance(60_001);
        await second.app.webhooks.drain();
        assert.equal(endpoint.received.length, 4);
        assert.equal(endpoint.received[3].body.transaction.uid, orphan.body.transaction.uid);
        assert.equal(endpoint.received[3].headers['x-webhook-attempt'], '1');
      } finally {
        if (second) await second.close();
        else if (firstOpen) await first.close();
        else await first.database.remove();
      }
    });

    it('never slows a payment down: a hanging endpoint holds at most 8 deliveries and no other host waits behind it', async () => {
      const background = await startGateway(store, { webhookPollMs: 10 }, { webhookDelivery: true, random });
      const hanging = await receiver(() => 'hold');
      const healthy = await receiver();
      try {
        for (let i = 0; i < 10; i++) {
          const answer = await background.post('/transactions/payments', paymentRequest({ notification_url: hanging.url }));
          assert.equal(answer.status, 200);
        }
        await hanging.waitFor(8);
        // The endpoint holds its webhooks open; a payment is answered all the same.
        const payment = await background.post('/transactions/payments', paymentRequest({ notification_url: hanging.url }));
        assert.equal(payment.status, 200);
        assert.equal(payment.body.transaction.status, 'successful');
        assert.equal(hanging.pending, hanging.received.length, 'the payment was answered while every webhook was still held');
        // Another merchant's endpoint is served while this one hangs.
        const other = await background.post('/transactions/payments', paymentRequest({ notification_url: healthy.url }));
        assert.equal(other.status, 200);
        await healthy.waitFor(1);
        assert.equal(hanging.received.length, 8, 'no more than the per-host cap in flight to one host');

        hanging.answer = () => 200;
        hanging.release(200);
        await hanging.waitFor(11);
        await background.app.webhooks.drain();
        assert.equal(hanging.maxInFlight, 8);
        const delivered = await background.app.store.db
          .selectFrom('webhook_deliveries')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('state', '=', 'delivered')
          .executeTakeFirstOrThrow();
        assert.equal(Number(delivered.n), 12);
      } finally {
        hanging.release(200);
        await background.close();
      }
    });

    it('with ECOMGATE_WEBHOOK_ALLOW_PRIVATE off, refuses to deliver to loopback and private addresses, by IP or by name', async () => {
      const guarded = await startGateway(store, { webhookAllowPrivate: false, webhookTimeoutMs: TIMEOUT_MS }, { random });
      const endpoint = await receiver();
      const port = new URL(endpoint.url).port;
      const path = new URL(endpoint.url).pathname;
      try {
        const targets = [endpoint.url, `http://localhost:${port}${path}`, `http://[::1]:${port}${path}`, `http://10.1.2.3:${port}${path}`];
        const uids: string[] = [];
        for (const target of targets) {
          const answer = await guarded.post('/transactions/payments', paymentRequest({ notification_url: target }));
          assert.equal(answer.status, 200, answer.text);
          uids.push(answer.body.transaction.uid);
        }
        await guarded.app.webhooks.drain();
        assert.equal(endpoint.received.length, 0, 'nothing reached the private network');
        for (const [i, uid] of uids.entries()) {
          const [delivery] = await guarded.app.store.db.selectFrom('webhook_deliveries').selectAll().where('transaction_uid', '=', uid).execute();
          const [attempt] = await guarded.app.store.db.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', delivery!.id).execute();
          assert.equal(delivery!.state, 'pending', targets[i]);
          assert.equal(attempt!.status_code, null);
          assert.match(String(attempt!.error), /private address/, targets[i]);
        }
      } finally {
        await guarded.close();
      }
    });

    // Last: it moves this gateway's clock a month on.
    it('keeps finished deliveries for ECOMGATE_WEBHOOK_RETENTION, then removes them with their attempts; unfinished ones stay', async () => {
      const healthy = await receiver();
      const failing = await receiver(() => 500);
      const delivered = await pay(healthy);
      const retrying = await pay(failing);
      await deliver();
      const [done] = await deliveriesOf(delivered.uid);
      const [open] = await deliveriesOf(retrying.uid);
      assert.equal(done.state, 'delivered');
      assert.equal(open.state, 'pending');

      gw.clock.advance(gw.app.config.webhookRetentionMs - 1000);
      await gw.app.webhooks.purgeFinished();
      assert.equal((await deliveriesOf(delivered.uid)).length, 1, 'kept until the retention has passed');

      gw.clock.advance(2000);
      assert.ok((await gw.app.webhooks.purgeFinished()) >= 1);
      assert.deepEqual(await deliveriesOf(delivered.uid), []);
      assert.deepEqual(await attemptsOf(done.id), [], 'its attempts went with it');
      const history = await gw.request('GET', `/admin/transactions/${delivered.uid}/deliveries`, undefined, AS_OPERATOR);
      assert.equal(history.status, 200, history.text);
      assert.deepEqual(history.body.deliveries, []);
      assert.equal((await deliveriesOf(retrying.uid)).length, 1, 'a delivery still being retried is never removed');
      assert.equal((await attemptsOf(open.id)).length, 1);
      assert.match((await gw.get('/metrics', { auth: null })).text, /ecomgate_webhook_deliveries_purged_total [1-9]/);
    });
  });
}
