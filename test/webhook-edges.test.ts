import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { readConfig } from '../src/config.js';
import { card, paymentRequest, startGateway, type TestGateway, testStores } from './support/gateway.js';
import { type Answer, WebhookReceiver } from './support/webhookReceiver.js';

/**
 * Webhook behaviour at its edges (spec §5): only a 2xx acknowledges, a redirect is a failed attempt (never
 * followed: the merchant's URL is the one given); the retry jitter stays within rand(0..29)·(n+1) seconds
 * whatever the random source draws; the receiver timeout is 10 s unless configured; and a transaction
 * settled later by inquiry (its outcome was in doubt) notifies its final state.
 */

/** Spec §5 written out: the delay before retry n with jitter j (0..29), in ms. */
const delayBeforeRetry = (n: number, j: number) => (Math.floor(2.12 * n) ** 3 + j * (n + 1)) * 1000;

for (const kind of testStores()) {
  describe(`webhook edges [${kind}]`, () => {
    let gw: TestGateway;
    /** What the gateway's jitter source draws next (like Math.random, in [0, 1)). */
    let drawn = 0.5;
    const receivers: WebhookReceiver[] = [];
    before(async () => {
      gw = await startGateway(kind, {}, { random: () => drawn });
    });
    after(async () => {
      await gw.close();
      await Promise.all(receivers.map((r) => r.close()));
    });

    async function receiver(answer: Answer) {
      const started = await WebhookReceiver.start(answer);
      receivers.push(started);
      return started;
    }
    const deliveryOf = (uid: string) =>
      gw.app.store.db.selectFrom('webhook_deliveries').selectAll().where('transaction_uid', '=', uid).executeTakeFirstOrThrow();
    const attemptsOf = (id: number) =>
      gw.app.store.db.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', id).orderBy('attempt').execute();

    async function pay(target: WebhookReceiver, extra: Record<string, unknown> = {}) {
      const answer = await gw.post('/transactions/payments', paymentRequest({ notification_url: target.url, ...extra }));
      assert.equal(answer.status, 200, answer.text);
      return answer.body.transaction as { uid: string; status: string };
    }

    for (const status of [301, 302, 303, 307, 308]) {
      it(`a ${status} answer fails the attempt and schedules a retry`, async () => {
        const endpoint = await receiver((n) => (n === 1 ? status : 200));
        const payment = await pay(endpoint);
        await gw.app.webhooks.drain();
        assert.equal(endpoint.received.length, 1);
        const delivery = await deliveryOf(payment.uid);
        assert.equal(delivery.state, 'pending', `a ${status} does not acknowledge`);
        assert.equal(Date.parse(delivery.next_attempt_at!), gw.clock.now().getTime() + delayBeforeRetry(1, 15));
        const [attempt] = await attemptsOf(delivery.id);
        assert.equal(attempt!.status_code, status);
        gw.clock.advance(delayBeforeRetry(1, 15));
        await gw.app.webhooks.drain();
        assert.equal(endpoint.received.length, 2, 'the retry goes to the same URL');
        assert.equal((await deliveryOf(payment.uid)).state, 'delivered');
      });
    }

    it('a 204 acknowledges: 2xx, not only 200, is success', async () => {
      const endpoint = await receiver(() => 204);
      const payment = await pay(endpoint);
      await gw.app.webhooks.drain();
      assert.equal((await deliveryOf(payment.uid)).state, 'delivered');
    });

    it('keeps the jitter within 0..29 · (n + 1) seconds at both ends of the random source', async () => {
      // 0 is the least Math.random draws, 1 - 2^-53 the most; 1 itself (never drawn) must not reach 30.
      for (const [draw, jitter] of [
        [0, 0],
        [1 - 2 ** -53, 29],
        [1, 29],
      ] as const) {
        drawn = draw;
        const endpoint = await receiver(() => 500);
        const payment = await pay(endpoint);
        const delivery = await deliveryOf(payment.uid);
        for (let n = 1; n <= 3; n++) {
          const failedAt = gw.clock.now().getTime();
          await gw.app.webhooks.drain();
          const { next_attempt_at } = await deliveryOf(payment.uid);
          assert.equal(Date.parse(next_attempt_at!) - failedAt, delayBeforeRetry(n, jitter), `retry ${n} with a draw of ${draw}`);
          gw.clock.advance(delayBeforeRetry(n, jitter) - 1);
          await gw.app.webhooks.drain();
          assert.equal(endpoint.received.length, n, `retry ${n} not sent before its time`);
          gw.clock.advance(1);
        }
        assert.equal((await attemptsOf(delivery.id)).length, 3);
      }
      drawn = 0.5;
    });

    it('notifies the final state of a payment settled by inquiry after its outcome was in doubt', async () => {
      const endpoint = await receiver(() => 200);
      const payment = await pay(endpoint, { credit_card: card('4000000000000606') });
      assert.equal(payment.status, 'pending');
      await gw.app.webhooks.drain();
      const row = await gw.app.store.db.selectFrom('transactions').select('next_inquiry_at').where('uid', '=', payment.uid).executeTakeFirstOrThrow();
      gw.clock.advance(Date.parse(row.next_inquiry_at!) - gw.clock.now().getTime() + 1);
      assert.equal(await gw.app.resolveInDoubt(), 1);
      await gw.app.webhooks.drain();
      const settled = await gw.get(`/transactions/${payment.uid}`);
      assert.equal(settled.body.transaction.status, 'successful');
      const final = endpoint.received.filter((w) => w.body.transaction.uid === payment.uid && w.body.transaction.status === 'successful');
      assert.equal(final.length, 1, 'one webhook carries the settled outcome');
      assert.deepEqual(final[0]!.body, { transaction: settled.body.transaction });
      assert.ok(endpoint.received.every((w) => w.body.transaction.uid === payment.uid));
    });
  });
}

describe('webhook receiver timeout', () => {
  it('is 10 s unless ECOMGATE_WEBHOOK_TIMEOUT_MS says otherwise', () => {
    assert.equal(readConfig({}).webhookTimeoutMs, 10_000);
    assert.equal(readConfig({ ECOMGATE_WEBHOOK_TIMEOUT_MS: '' }).webhookTimeoutMs, 10_000);
    assert.equal(readConfig({ ECOMGATE_WEBHOOK_TIMEOUT_MS: '250' }).webhookTimeoutMs, 250);
  });

  it('a receiver silent past a configured short timeout fails the attempt; a late answer changes nothing', async () => {
    const gw = await startGateway(
      'sqlite',
      { webhookTimeoutMs: readConfig({ ECOMGATE_WEBHOOK_TIMEOUT_MS: '200' }).webhookTimeoutMs },
      { random: () => 0.5 },
    );
    const endpoint = await WebhookReceiver.start(() => 'hold');
    try {
      assert.equal(gw.app.config.webhookTimeoutMs, 200);
      const paid = await gw.post('/transactions/payments', paymentRequest({ notification_url: endpoint.url }));
      await gw.app.webhooks.drain();
      assert.equal(endpoint.pending, 1, 'the receiver had not answered when the attempt was given up');
      const delivery = await gw.app.store.db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('transaction_uid', '=', paid.body.transaction.uid)
        .executeTakeFirstOrThrow();
      assert.equal(delivery.state, 'pending');
      const attempts = await gw.app.store.db.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', delivery.id).execute();
      assert.equal(attempts.length, 1);
      assert.equal(attempts[0]!.status_code, null);
      assert.match(attempts[0]!.error ?? '', /no answer within 200 ms/);
      endpoint.release(200);
      assert.equal(
        (await gw.app.store.db.selectFrom('webhook_deliveries').select('state').where('id', '=', delivery.id).executeTakeFirstOrThrow()).state,
        'pending',
      );
    } finally {
      await gw.close();
      await endpoint.close();
    }
  });
});
