import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { it, until } from './support/deadline.js';
import { AS_OPERATOR, BankGate, card, paymentRequest, startGateway, testStores, type TestGateway } from './support/gateway.js';

const SLOW_SHOP = { id: 7101, secret: 'resume-slow-bank-shop-secret' };
const ACQUIRER_TIMEOUT_MS = 30_000;
const INQUIRY_DELAY_MS = 5_000;

for (const store of testStores()) {
  describe(`a later attempt of an async task [${store}]`, () => {
    let gw: TestGateway;
    // The bank answers when the test says: "the earlier attempt's call is still on the way" is a fact.
    const bank = new BankGate();
    before(async () => {
      const settings = { asyncConcurrency: 1, acquirerTimeoutMs: ACQUIRER_TIMEOUT_MS, inquiryDelayMs: INQUIRY_DELAY_MS };
      gw = await startGateway(store, settings, { sleep: bank.sleep });
      const shop = { id: SLOW_SHOP.id, secret_key: SLOW_SHOP.secret, test: true, acquirer_settings: { latency_ms: 1 } };
      const created = await gw.request('POST', '/admin/shops', shop, AS_OPERATOR);
      assert.equal(created.status, 201, created.text);
    });
    after(() => {
      bank.open();
      return gw.close();
    });

    it('gives its worker slot back while its transaction cannot be inquired yet, and answers that transaction once it can', async () => {
      const key = 'resume-not-due-1';
      const request = paymentRequest({ amount: 1234 });
      bank.hold();
      // The first attempt: a transaction `processing` at the bank, under the key the task carries.
      const first = gw.request('POST', '/transactions/payments', { request }, { auth: SLOW_SHOP, headers: { RequestID: key } });
      await until(
        () => bank.waiting === 1,
        () => 'the first attempt to reach the bank',
      );
      const submitted = await gw.request('POST', '/async/transactions/payments', { request }, { auth: SLOW_SHOP, headers: { RequestID: key } });
      assert.equal(submitted.status, 200, submitted.text);
      const retried = submitted.body.request_id as string;
      // As a dead worker leaves it: running, attempted once, its lease over.
      await gw.app.store.db
        .updateTable('async_tasks')
        .set({ state: 'running', lease_owner: 'dead-worker', lease_expires_at: new Date(gw.clock.now().getTime() - 1).toISOString(), attempts: 1 })
        .where('id', '=', retried)
        .execute();
      const refused = { request: paymentRequest({ credit_card: card('1234') }) };
      const other = await gw.request('POST', '/async/transactions/payments', refused, { auth: SLOW_SHOP });
      assert.equal(other.status, 200, other.text);

      // One slot, and the clock stands still: the drain ends only if the retried task gave its slot back.
      await gw.app.workers.drain();
      assert.equal(gw.app.workers.busy, 0);
      assert.equal((await gw.get(`/async/status/${other.body.request_id}`, { auth: SLOW_SHOP })).body.status, 'completed');
      assert.equal((await gw.get(`/async/status/${retried}`, { auth: SLOW_SHOP })).body.status, 'processing');
      assert.equal(bank.waiting, 1, 'the later attempt called the bank');
      const { db } = gw.app.store;
      const transaction = await db
        .selectFrom('transactions')
        .select(['uid', 'next_inquiry_at'])
        .where('shop_id', '=', SLOW_SHOP.id)
        .where('amount', '=', 1234)
        .executeTakeFirstOrThrow();
      const task = await db
        .selectFrom('async_tasks')
        .select(['state', 'lease_owner', 'lease_expires_at'])
        .where('id', '=', retried)
        .executeTakeFirstOrThrow();
      assert.deepEqual(task, { state: 'running', lease_owner: null, lease_expires_at: transaction.next_inquiry_at });

      bank.open();
      const answered = await first;
      assert.equal(answered.status, 200, answered.text);
      assert.equal(answered.body.transaction.status, 'successful');
      // Not claimable before its inquiry is due; once due, it answers the transaction the key names.
      await gw.app.workers.drain();
      assert.equal((await gw.get(`/async/status/${retried}`, { auth: SLOW_SHOP })).body.status, 'processing');
      gw.clock.advance(ACQUIRER_TIMEOUT_MS + INQUIRY_DELAY_MS + 1);
      await gw.app.workers.drain();
      const result = await gw.get(`/async/result/${retried}`, { auth: SLOW_SHOP });
      assert.equal(result.status, 200, result.text);
      assert.equal(result.body.transaction.uid, transaction.uid);
      assert.equal(result.body.transaction.status, 'successful');
      assert.equal(await gw.count('sandbox_operations'), 1, 'the bank was asked to pay once');
    });
  });
}
