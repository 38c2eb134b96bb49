import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { card, paymentRequest, startGateway, testStores, type TestGateway } from './support/gateway.js';
import { DECLINED_CARD } from './support/cards.js';

for (const store of testStores()) {
  describe(`payments [${store}]`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(store);
    });
    after(() => gw.close());

    it('approves card 4200000000000000 with the full transaction object', async () => {
      const request = paymentRequest({
        billing_address: { address: '1 Main St', zip: '1000' },
        additional_data: { meta: [], contract: ['recurring'] },
      });
      const answer = await gw.post('/transactions/payments', request);
      assert.equal(answer.status, 200);
      const tx = answer.body.transaction;
      assert.equal(tx.status, 'successful');
      assert.equal(tx.message, 'Successfully processed');
      assert.equal(tx.code, 'S.0000');
      assert.equal(tx.type, 'payment');
      assert.equal(tx.amount, request.amount);
      assert.equal(tx.currency, 'EUR');
      assert.equal(tx.uid, tx.id);
      assert.match(tx.uid, /^[0-9a-f-]{36}$/);
      assert.equal(tx.tracking_id, request.tracking_id);
      assert.equal(tx.payment.message, 'Payment was approved');
      assert.equal(tx.payment.status, 'successful');
      assert.equal(tx.credit_card.last_4, '0000');
      assert.equal(tx.credit_card.first_1, '4');
      assert.equal(tx.credit_card.brand, 'visa');
      assert.equal(tx.credit_card.bin, '420000');
      assert.match(tx.credit_card.stamp, /^[0-9a-f]{64}$/);
      assert.ok(tx.credit_card.token);
      assert.equal(tx.credit_card.number, undefined);
      assert.equal(tx.avs_cvc_verification.avs_verification.result_code, 'M');
      assert.deepEqual(tx.additional_data, { meta: [], contract: ['recurring'] });
      assert.equal(tx.be_protected_verification.status, 'successful');
      assert.ok(tx.receipt_url.startsWith(gw.app.ctx.publicUrl + '/receipts/'));
      assert.ok(!answer.text.includes('4200000000000000'));
      assert.ok(!answer.text.includes('"123"'));
      assert.match(answer.headers.get('x-request-id') ?? '', /.+/);
      assert.match(tx.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    });

    it('declines card 4005550000000019 with HTTP 200 and status failed', async () => {
      const answer = await gw.post('/transactions/payments', paymentRequest({ credit_card: card(DECLINED_CARD) }));
      assert.equal(answer.status, 200);
      assert.equal(answer.body.transaction.status, 'failed');
      assert.equal(answer.body.transaction.message, 'Payment was declined');
      assert.match(answer.body.transaction.code, /^F\./);
    });

    it('declines an authorization with "Authorization was declined"', async () => {
      const answer = await gw.post('/transactions/authorizations', paymentRequest({ credit_card: card(DECLINED_CARD) }));
      assert.equal(answer.body.transaction.message, 'Authorization was declined');
    });

    it('approves 9112300000000000 and the Mastercard 5555555555554444', async () => {
      for (const number of ['9112300000000000', '5555555555554444']) {
        const answer = await gw.post('/transactions/payments', paymentRequest({ credit_card: card(number) }));
        assert.equal(answer.body.transaction.status, 'successful', number);
      }
      const master = await gw.post('/transactions/payments', paymentRequest({ credit_card: card('5555555555554444') }));
      assert.equal(master.body.transaction.credit_card.brand, 'master');
    });

    it('answers 422 "Date is expired" for a card in the past, and stores nothing', async () => {
      const before = await gw.count('transactions');
      const answer = await gw.post('/transactions/payments', paymentRequest({ credit_card: card('4200000000000000', { exp_year: 2020 }) }));
      assert.equal(answer.status, 422);
      assert.match(answer.body.message, /Date is expired/);
      assert.equal(answer.body.response.message, answer.body.message);
      assert.equal(await gw.count('transactions'), before);
    });

    it('simulates AVS and CVC result codes from the address, zip and CVC', async () => {
      const cases: [string, string, string, string, string][] = [
        ['1 Road', '1111', '111', 'M', 'M'],
        ['2 Road', '2222', '222', 'N', 'N'],
        ['1 Road', '2000', '333', 'B', 'U'],
        ['2 Road', '1000', '444', 'P', 'E'],
        ['3 Road', '3000', '555', 'U', '0'],
        ['4 Road', '4000', '123', 'E', '1'],
        ['5 Road', '5000', '123', '0', '1'],
        ['9 Road', '1000', '123', '1', '1'],
      ];
      for (const [address, zip, cvc, avs, cvcCode] of cases) {
        const answer = await gw.post(
          '/transactions/payments',
          paymentRequest({ billing_address: { address, zip }, credit_card: card('4200000000000000', { verification_value: cvc }) }),
        );
        const verification = answer.body.transaction.avs_cvc_verification;
        assert.equal(verification.avs_verification.result_code, avs, `${address}/${zip}`);
        assert.equal(verification.cvc_verification.result_code, cvcCode, cvc);
      }
    });

    it('pays with the token of an earlier payment and keeps the same stamp', async () => {
      const first = await gw.post('/transactions/payments', paymentRequest());
      const { token, stamp } = first.body.transaction.credit_card;
      const second = await gw.post('/transactions/payments', paymentRequest({ credit_card: { token } }));
      assert.equal(second.body.transaction.status, 'successful');
      assert.equal(second.body.transaction.credit_card.stamp, stamp);
      assert.equal(second.body.transaction.credit_card.token, token);
    });

    it('answers "Token does not exist." for an unknown token', async () => {
      const answer = await gw.post('/transactions/payments', paymentRequest({ credit_card: { token: 'no-such-token' } }));
      assert.equal(answer.status, 422);
      assert.equal(answer.body.message, 'Token does not exist.');
      assert.deepEqual(answer.body.errors, { credit_card: { token: ['does not exist'] } });
    });

    it('rejects a duplicate within 30 s and accepts it again after the window or with duplicate_check false', async () => {
      const request = paymentRequest();
      assert.equal((await gw.post('/transactions/payments', request)).status, 200);
      const duplicate = await gw.post('/transactions/payments', request);
      assert.equal(duplicate.status, 422);
      assert.match(duplicate.body.message, /Duplicate transaction/);
      const unchecked = await gw.post('/transactions/payments', { ...request, duplicate_check: false });
      assert.equal(unchecked.body.transaction.status, 'successful');
      gw.clock.advance(30_001);
      assert.equal((await gw.post('/transactions/payments', request)).status, 200);
    });

    it('finds a transaction by uid, and answers 404 for unknown or malformed uids', async () => {
      const paid = await gw.post('/transactions/payments', paymentRequest());
      const found = await gw.get(`/transactions/${paid.body.transaction.uid}`);
      assert.equal(found.status, 200);
      assert.deepEqual(found.body.transaction.uid, paid.body.transaction.uid);
      assert.equal(found.body.transaction.status, 'successful');
      for (const uid of ['1234567890qwerty', '00000000-0000-4000-8000-000000000000']) {
        const missing = await gw.get(`/transactions/${uid}`);
        assert.equal(missing.status, 404);
        assert.deepEqual(missing.body, { message: 'Record not found', response: { message: 'Record not found' } });
      }
    });

    it('lists tracking id matches newest first (v2) and answers the newest alone (legacy)', async () => {
      const trackingId = `track-${Date.now()}`;
      const uids: string[] = [];
      for (let i = 0; i < 12; i++) {
        gw.clock.advance(1);
        const paid = await gw.post('/transactions/payments', paymentRequest({ tracking_id: trackingId }));
        uids.push(paid.body.transaction.uid);
      }
      const v2 = await gw.get(`/v2/transactions/tracking_id/${trackingId}`);
      assert.equal(v2.status, 200);
      assert.deepEqual(
        v2.body.transactions.map((t: { uid: string }) => t.uid),
        uids.slice(2).reverse(),
      );
      const legacy = await gw.get(`/transactions/tracking_id/${trackingId}`);
      assert.equal(legacy.body.transaction.uid, uids[11]);
      assert.deepEqual((await gw.get('/v2/transactions/tracking_id/nothing-here')).body, { transactions: [] });
      assert.equal((await gw.get('/transactions/tracking_id/nothing-here')).status, 404);
    });

    it("keeps shops apart: another shop sees 404 for this shop's uid and tracking id", async () => {
      const paid = await gw.post('/transactions/payments', paymentRequest({ tracking_id: 'shared-tracking' }));
      const other = { id: 362, secret: '9ad8ad735945919845b9a1996af72d886ab43d3375502256dbf8dd16bca59a4e' };
      assert.equal((await gw.get(`/transactions/${paid.body.transaction.uid}`, { auth: other })).status, 404);
      assert.deepEqual((await gw.get('/v2/transactions/tracking_id/shared-tracking', { auth: other })).body, { transactions: [] });
    });

    it('answers 401 with WWW-Authenticate for missing or wrong credentials', async () => {
      for (const auth of [null, { id: 361, secret: 'wrong' }, { id: 999, secret: 'x' }]) {
        const answer = await gw.post('/transactions/payments', paymentRequest(), { auth });
        assert.equal(answer.status, 401);
        assert.equal(answer.body.message, 'Invalid shop_id/secret_key.');
        assert.match(answer.headers.get('www-authenticate') ?? '', /^Basic/);
      }
    });
  });
}
