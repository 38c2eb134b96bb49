import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { AS_OPERATOR, DEMO_3DS_SHOP, paymentRequest, startGateway, type TestGateway, testStores } from './support/gateway.js';

/**
 * `POST /balance` (spec §2.1: `currency`, or `gateway_id`, or `account`): the shop's merchant account at
 * the acquirer. An account or gateway id the answer gave earlier leads back to the same account; another
 * shop's account, an account of another currency than the one named, or a gateway the shop does not use
 * is refused with the API's 422 body, whatever else the request holds.
 */

const SHOP = { id: 7301, secret: 'balance-accounts-shop-secret' };

for (const kind of testStores()) {
  describe(`balance by account and gateway_id [${kind}]`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(kind);
      const created = await gw.request('POST', '/admin/shops', { id: SHOP.id, secret_key: SHOP.secret, test: true }, AS_OPERATOR);
      assert.equal(created.status, 201, created.text);
      for (const [amount, currency] of [
        [1234, 'EUR'],
        [766, 'EUR'],
        [500, 'USD'],
      ] as const) {
        const paid = await gw.post('/transactions/payments', paymentRequest({ amount, currency }), { auth: SHOP });
        assert.equal(paid.body.transaction.status, 'successful', paid.text);
      }
    });
    after(() => gw.close());

    const balance = (request: Record<string, unknown>) => gw.post('/balance', request, { auth: SHOP });

    it('by currency, by the account it answered, and by gateway_id with a currency: the same account', async () => {
      const byCurrency = await balance({ currency: 'EUR' });
      assert.equal(byCurrency.status, 200, byCurrency.text);
      assert.deepEqual(byCurrency.body, {
        status: 'successful',
        result: { gatewayId: 1, account: `sandbox-${SHOP.id}-EUR`, amount: 2000, currency: 'EUR', bankInfo: { name: 'ecomgate sandbox' } },
      });
      assert.deepEqual((await balance({ account: byCurrency.body.result.account })).body, byCurrency.body);
      assert.deepEqual((await balance({ account: byCurrency.body.result.account, currency: 'EUR' })).body, byCurrency.body);
      assert.deepEqual((await balance({ gateway_id: '1', currency: 'EUR' })).body, byCurrency.body);
      assert.deepEqual(
        (await balance({ gateway_id: byCurrency.body.result.gatewayId, currency: 'EUR' })).body,
        byCurrency.body,
        'the gatewayId as answered (a number)',
      );
      const usd = await balance({ account: `sandbox-${SHOP.id}-USD` });
      assert.equal(usd.body.result.amount, 500);
      assert.equal(usd.body.result.currency, 'USD');
    });

    it("refuses another shop's account, also next to a currency", async () => {
      for (const request of [{ account: `sandbox-${DEMO_3DS_SHOP.id}-EUR` }, { account: `sandbox-${DEMO_3DS_SHOP.id}-EUR`, currency: 'EUR' }]) {
        const refused = await balance(request);
        assert.equal(refused.status, 422, `${JSON.stringify(request)}: ${refused.text}`);
        assert.equal(refused.body.message, 'Account is invalid.');
        assert.deepEqual(refused.body.errors, { account: ['is invalid'] });
        assert.equal(refused.body.response.message, refused.body.message);
      }
    });

    it('refuses an account of another currency than the one named, and a gateway the shop does not use', async () => {
      const mismatch = await balance({ account: `sandbox-${SHOP.id}-USD`, currency: 'EUR' });
      assert.equal(mismatch.status, 422, mismatch.text);
      assert.deepEqual(mismatch.body.errors, { account: ['is invalid'] });
      for (const gatewayId of ['999', 2, 'sandbox']) {
        const unknown = await balance({ gateway_id: gatewayId, currency: 'EUR' });
        assert.equal(unknown.status, 422, `gateway_id ${JSON.stringify(gatewayId)}: ${unknown.text}`);
        assert.equal(unknown.body.message, 'Gateway id is invalid.');
        assert.deepEqual(unknown.body.errors, { gateway_id: ['is invalid'] });
      }
    });
  });
}
