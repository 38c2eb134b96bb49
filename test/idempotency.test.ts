import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { it, until } from './support/deadline.js';
import { randomUUID } from 'node:crypto';
import { ApiError } from '../src/domain/errors.js';
import { ABANDONED_AFTER_MS } from '../src/processing/idempotency.js';
import { payment } from '../src/processing/operations/payment.js';
import {
  BankGate,
  card,
  createShop,
  type Credentials,
  DEMO_3DS_SHOP,
  paymentRequest,
  startGateway,
  type TestGateway,
  testStores,
} from './support/gateway.js';

const withKey = (key: string, auth?: Credentials) => ({ headers: { RequestID: key }, auth });

for (const store of testStores()) {
  describe(`idempotency [${store}]`, () => {
    let gw: TestGateway;
    const bank = new BankGate();
    before(async () => {
      gw = await startGateway(store, {}, { sleep: bank.sleep });
    });
    after(() => gw.close());

    for (const header of ['RequestID', 'Idempotency-Key']) {
      it(`answers a repeat with the same ${header} and body with the first transaction, storing one row`, async () => {
        const key = randomUUID();
        const request = paymentRequest();
        const before = await gw.count('transactions');
        const first = await gw.post('/transactions/payments', request, { headers: { [header]: key } });
        assert.equal(first.status, 200, first.text);
        assert.equal(first.body.transaction.status, 'successful');
        const again = await gw.post('/transactions/payments', request, { headers: { [header]: key } });
        assert.equal(again.status, 200, again.text);
        assert.equal(again.body.transaction.uid, first.body.transaction.uid);
        assert.deepEqual(again.body, first.body);
        assert.equal(await gw.count('transactions'), before + 1);
      });
    }

    it('answers 422 for the same key with a different body, and still answers the first for the first body', async () => {
      const key = randomUUID();
      const request = paymentRequest();
      const first = await gw.post('/transactions/payments', request, withKey(key));
      const before = await gw.count('transactions');
      const other = await gw.post('/transactions/payments', { ...request, amount: request.amount + 1 }, withKey(key));
      assert.equal(other.status, 422, other.text);
      assert.ok(other.body.message);
      assert.equal(other.body.response.message, other.body.message);
      const otherPath = await gw.post('/transactions/authorizations', request, withKey(key));
      assert.equal(otherPath.status, 422, 'the same body on another operation is another request');
      assert.equal(await gw.count('transactions'), before);
      const again = await gw.post('/transactions/payments', request, withKey(key));
      assert.equal(again.body.transaction.uid, first.body.transaction.uid);
    });

    it('keeps keys per shop', async () => {
      const key = randomUUID();
      const first = await gw.post('/transactions/payments', paymentRequest(), withKey(key));
      const other = await gw.post('/transactions/payments', paymentRequest(), withKey(key, DEMO_3DS_SHOP));
      assert.equal(other.status, 200, other.text);
      assert.notEqual(other.body.transaction.uid, first.body.transaction.uid);
    });

    it('answers 409 to a repeat while the first request is still running', async () => {
      const shop = await createShop(gw, 8001, { acquirer_settings: { slow_ms: 500 } });
      const key = randomUUID();
      const request = paymentRequest({ credit_card: card('4000000000000309') });
      // The first request is held at the bank while the repeat comes in.
      bank.hold();
      const first = gw.post('/transactions/payments', request, withKey(key, shop));
      await until(
        () => bank.waiting === 1,
        () => 'the first request at the bank',
      );
      const second = await gw.post('/transactions/payments', request, withKey(key, shop));
      bank.open();
      const answers = [await first, second];
      const statuses = answers.map((a) => a.status).sort();
      assert.deepEqual(statuses, [200, 409], answers.map((a) => a.text).join('\n'));
      const done = answers.find((a) => a.status === 200)!;
      const conflict = answers.find((a) => a.status === 409)!;
      assert.equal(done.body.transaction.status, 'successful');
      assert.ok(conflict.body.message);
      assert.equal(conflict.body.response.message, conflict.body.message);
      assert.match(conflict.headers.get('content-type') ?? '', /application\/json/);

      const after = await gw.post('/transactions/payments', request, withKey(key, shop));
      assert.equal(after.status, 200);
      assert.equal(after.body.transaction.uid, done.body.transaction.uid);
      assert.equal(after.body.transaction.status, 'successful');
    });

    it('creates exactly one transaction for 100 identical requests in parallel', async () => {
      const key = randomUUID();
      const request = paymentRequest();
      const before = await gw.count('transactions');
      const answers = await Promise.all(Array.from({ length: 100 }, () => gw.post('/transactions/payments', request, withKey(key))));
      assert.equal(await gw.count('transactions'), before + 1);
      const uids = new Set<string>();
      for (const answer of answers) {
        assert.ok(answer.status === 200 || answer.status === 409, `${answer.status} ${answer.text}`);
        if (answer.status === 200) uids.add(answer.body.transaction.uid);
      }
      assert.equal(uids.size, 1, 'every 200 names the same transaction');
      const [uid] = uids;
      const again = await gw.post('/transactions/payments', request, withKey(key));
      assert.equal(again.status, 200);
      assert.equal(again.body.transaction.uid, uid);
      const ledger = await gw.app.store.db.selectFrom('ledger_entries').selectAll().where('transaction_uid', '=', uid!).execute();
      assert.equal(ledger.length, 1);
    });

    it('answers a refused (422) request the same way on every repeat, storing nothing', async () => {
      const before = await gw.count('transactions');
      const key = randomUUID();
      const expired = paymentRequest({ credit_card: card('4200000000000000', { exp_year: 2020 }) });
      const first = await gw.post('/transactions/payments', expired, withKey(key));
      assert.equal(first.status, 422);
      assert.match(first.body.message, /Date is expired/);
      const again = await gw.post('/transactions/payments', expired, withKey(key));
      assert.equal(again.status, 422);
      assert.deepEqual(again.body, first.body);

      const tokenKey = randomUUID();
      const unknownToken = paymentRequest({ credit_card: { token: 'no-such-token' } });
      const refused = await gw.post('/transactions/payments', unknownToken, withKey(tokenKey));
      assert.equal(refused.status, 422);
      assert.equal(refused.body.message, 'Token does not exist.');
      assert.deepEqual((await gw.post('/transactions/payments', unknownToken, withKey(tokenKey))).body, refused.body);
      assert.equal(await gw.count('transactions'), before);
    });

    it('answers the current state of the transaction on a repeat (pending, then settled)', async () => {
      const key = randomUUID();
      const request = paymentRequest({ credit_card: card('4000000000000606') });
      const first = await gw.post('/transactions/payments', request, withKey(key));
      assert.equal(first.body.transaction.status, 'pending');
      const whilePending = await gw.post('/transactions/payments', request, withKey(key));
      assert.equal(whilePending.status, 200);
      assert.equal(whilePending.body.transaction.uid, first.body.transaction.uid);
      assert.equal(whilePending.body.transaction.status, 'pending');
      gw.clock.advance(60_000);
      await gw.app.resolveInDoubt();
      const settled = await gw.post('/transactions/payments', request, withKey(key));
      assert.equal(settled.body.transaction.uid, first.body.transaction.uid);
      assert.equal(settled.body.transaction.status, 'successful');
    });

    it('makes POST /credit_cards safe to retry with a RequestID', async () => {
      const key = randomUUID();
      const request = card('5555555555554444', { holder: 'Retry Holder' });
      const first = await gw.post('/credit_cards', request, withKey(key));
      assert.equal(first.status, 200, first.text);
      const again = await gw.post('/credit_cards', request, withKey(key));
      assert.equal(again.status, 200, again.text);
      assert.deepEqual(again.body, first.body);
      const other = await gw.post('/credit_cards', { ...request, holder: 'Someone Else' }, withKey(key));
      assert.equal(other.status, 422);
    });

    it('forgets a key after 24 hours', async () => {
      const key = randomUUID();
      const request = paymentRequest();
      const first = await gw.post('/transactions/payments', request, withKey(key));
      gw.clock.advance(23 * 3600_000);
      assert.equal((await gw.post('/transactions/payments', request, withKey(key))).body.transaction.uid, first.body.transaction.uid);
      gw.clock.advance(3600_000 + 1);
      const later = await gw.post('/transactions/payments', request, withKey(key));
      assert.equal(later.status, 200);
      assert.notEqual(later.body.transaction.uid, first.body.transaction.uid);
    });

    it('runs a retry once the claim of a request cut off before its transaction is abandoned', async () => {
      const key = `abandoned-${randomUUID()}`;
      const request = paymentRequest();
      // A process took the key and died before transaction A: a claim with no transaction.
      await gw.app.store.db
        .insertInto('idempotency_keys')
        .values({
          shop_id: 361,
          key,
          body_hash: gw.app.vault.requestHash('payments', { request }),
          claim_token: 'dead-attempt',
          transaction_uid: null,
          status_code: null,
          response: null,
          created_at: gw.clock.now().toISOString(),
        })
        .execute();
      const before = await gw.count('transactions');
      gw.clock.advance(ABANDONED_AFTER_MS - 1);
      const early = await gw.post('/transactions/payments', request, withKey(key));
      assert.equal(early.status, 409, early.text);
      gw.clock.advance(1);
      const retry = await gw.post('/transactions/payments', request, withKey(key));
      assert.equal(retry.status, 200, retry.text);
      assert.equal(retry.body.transaction.status, 'successful');
      const again = await gw.post('/transactions/payments', request, withKey(key));
      assert.equal(again.body.transaction.uid, retry.body.transaction.uid);
      assert.equal(await gw.count('transactions'), before + 1);
    });

    it('never lets an attempt whose claim was taken over create a transaction (fencing token)', async () => {
      const key = `fenced-${randomUUID()}`;
      const shop = (await gw.app.shops.find(361))!;
      // The key is held by another attempt's claim (as after a takeover of a task whose lease ran out).
      await gw.app.store.db
        .insertInto('idempotency_keys')
        .values({
          shop_id: 361,
          key,
          body_hash: 'x',
          claim_token: 'current-attempt',
          transaction_uid: null,
          status_code: null,
          response: null,
          created_at: gw.clock.now().toISOString(),
        })
        .execute();
      const before = await gw.count('transactions');
      const stale = { shop, body: { request: paymentRequest() }, idempotencyKey: key, idempotencyClaim: 'stale-attempt' };
      await assert.rejects(payment(gw.app.ctx, stale), (error: unknown) => error instanceof ApiError && error.statusCode === 409);
      assert.equal(await gw.count('transactions'), before, 'transaction A rolled back');
      const current = await payment(gw.app.ctx, { ...stale, idempotencyClaim: 'current-attempt' });
      assert.equal((current.body as { transaction: { status: string } }).transaction.status, 'successful');
      await assert.rejects(
        payment(gw.app.ctx, { ...stale, body: { request: paymentRequest() }, idempotencyClaim: 'current-attempt' }),
        (error: unknown) => error instanceof ApiError && error.statusCode === 409,
      );
      assert.equal(await gw.count('transactions'), before + 1, 'a key links one transaction only');
    });
  });
}
