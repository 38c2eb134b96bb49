import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { Gateway, NotFoundError, type PaymentRequest, type TransactionV3, ValidationError } from '@ecomgate/client';
import { card, DEMO_SHOP, startGateway, type TestGateway, testStores } from './support/gateway.js';
import { DECLINED_CARD } from './support/cards.js';

/** @ecomgate/client with `apiVersion: 3` against a real gateway: the header sent, v3 answers typed and unwrapped. */

let sequence = 0;
function order(extra: Partial<PaymentRequest> = {}): PaymentRequest {
  sequence++;
  return {
    amount: 3000 + sequence,
    currency: 'EUR',
    description: `Order ${sequence}`,
    tracking_id: `client-v3-${randomUUID()}`,
    credit_card: card(),
    ...extra,
  };
}

for (const store of testStores()) {
  describe(`@ecomgate/client with apiVersion 3 [${store}]`, () => {
    let gw: TestGateway;
    let v3: Gateway<3>;
    let v2: Gateway;
    before(async () => {
      gw = await startGateway(store, {}, { asyncWorkers: true });
      const credentials = { shopId: DEMO_SHOP.id, secretKey: DEMO_SHOP.secret, baseUrl: gw.url, timeoutMs: 10_000 };
      v3 = new Gateway({ ...credentials, apiVersion: 3 });
      v2 = new Gateway(credentials);
    });
    after(() => gw.close());

    it('operations and queries resolve to the flat v3 transaction', async () => {
      const payment: TransactionV3 = await v3.payment(order());
      assert.equal(payment.status, 'successful');
      assert.equal(payment.code, 'S.0000');
      assert.equal(payment.payment_method.last_4, '0000');
      assert.equal(payment.transaction?.status, 'successful');
      assert.equal('credit_card' in payment, false);
      const refund = await v3.refund({ parent_uid: payment.uid, amount: 100, reason: 'Returned goods' });
      assert.equal(refund.parent_uid, payment.uid);
      assert.deepEqual(refund.payment_method, { payment_method_type: 'credit_card' });
      const declined = await v3.payment(order({ credit_card: card(DECLINED_CARD) }));
      assert.equal(declined.status, 'failed');
      assert.equal(declined.code, 'F.0105');

      assert.equal((await v3.transaction(payment.uid)).uid, payment.uid);
      const list = await v3.byTrackingId(String(payment.tracking_id));
      assert.deepEqual(
        list.map((transaction) => transaction.uid),
        [payment.uid],
      );
      assert.equal((await v3.balance('EUR')).currency, 'EUR');
      // The same transaction through a v2 client is the wrapped v2 object.
      assert.equal((await v2.transaction(payment.uid)).credit_card?.last_4, payment.payment_method.last_4);
    });

    it('refusals are the same error classes; a validation refusal carries its v3 code', async () => {
      const refused = await v3.refund({ parent_uid: randomUUID(), amount: 100, reason: 'x' }).catch((error) => error);
      assert.ok(refused instanceof ValidationError, String(refused));
      assert.equal(refused.code, 'E.1025');
      assert.deepEqual(refused.errors, { parent_uid: ['Parent transaction is not found'] });
      assert.equal(refused.message, 'Parent transaction is not found.');
      await assert.rejects(v3.transaction(randomUUID()), NotFoundError);
    });

    it('async results come back in v3, also through a resumed handle', async () => {
      const handle = await v3.async.payment(order());
      const payment = await handle.wait();
      assert.equal(payment.status, 'successful');
      assert.equal(payment.payment_method.payment_method_type, 'credit_card');
      const resumed = (await v3.async.handle(handle.requestId).wait()) as TransactionV3;
      assert.equal(resumed.uid, payment.uid);
      assert.equal(resumed.transaction?.status, 'successful');
      const wrapped = await (await v2.async.payment(order())).wait();
      assert.equal(wrapped.payment?.status, 'successful');
    });
  });
}
