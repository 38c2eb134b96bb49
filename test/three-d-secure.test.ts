import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { submitChallenge } from './support/challenge.js';
import { card, DEMO_3DS_SHOP, paymentRequest, startGateway, testStores, type TestGateway } from './support/gateway.js';

const shop = { auth: DEMO_3DS_SHOP };
const RETURN_URL = 'https://merchant.example/return?order=42';

for (const store of testStores()) {
  describe(`3-D Secure pages, receipts and expiry [${store}]`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(store);
    });
    after(() => gw.close());

    async function challenged(type = 'payments', extra: Record<string, unknown> = {}) {
      const answer = await gw.post(
        `/transactions/${type}`,
        paymentRequest({ credit_card: card('4012000000003010'), return_url: RETURN_URL, notification_url: 'http://127.0.0.1:9/hook', ...extra }),
        shop,
      );
      assert.equal(answer.status, 200);
      const tx = answer.body.transaction;
      assert.equal(tx.status, 'incomplete');
      assert.equal(tx.message, null);
      assert.ok('message' in tx);
      assert.equal(tx.redirect_url, `${gw.app.ctx.publicUrl}/process/${tx.uid}`);
      assert.ok(tx.three_d_secure_verification);
      return tx;
    }

    const page = (uid: string) => gw.request('GET', `/process/${uid}`, undefined, { auth: null });
    const submitPage = (uid: string, outcome: string) => submitChallenge(gw, uid, { outcome });

    it('serves the challenge page with merchant, amount and masked card, and no card number', async () => {
      const tx = await challenged('payments', { amount: 12345, currency: 'EUR' });
      const answer = await page(tx.uid);
      assert.equal(answer.status, 200);
      assert.match(answer.headers.get('content-type') ?? '', /text\/html/);
      assert.match(answer.text, /Demo shop 362/);
      assert.match(answer.text, /123\.45 EUR/);
      assert.match(answer.text, /•••• 3010/);
      assert.match(answer.text, /<button[^>]*value="authenticate"[^>]*>Authenticate<\/button>/);
      assert.match(answer.text, /<button[^>]*value="fail"[^>]*>Fail<\/button>/);
      assert.ok(!answer.text.includes('4012000000003010'));
      assert.ok(!answer.text.includes('<script'));
    });

    it('authenticates: 303 to return_url with uid and status, transaction successful, webhook queued', async () => {
      const tx = await challenged();
      const deliveries = await gw.count('webhook_deliveries');
      const answer = await submitPage(tx.uid, 'authenticate');
      assert.equal(answer.status, 303);
      const location = new URL(answer.headers.get('location')!);
      assert.equal(location.origin + location.pathname, 'https://merchant.example/return');
      assert.equal(location.searchParams.get('order'), '42');
      assert.equal(location.searchParams.get('uid'), tx.uid);
      assert.equal(location.searchParams.get('status'), 'successful');
      const after = (await gw.get(`/transactions/${tx.uid}`, shop)).body.transaction;
      assert.equal(after.status, 'successful');
      assert.equal(after.message, 'Successfully processed');
      assert.equal(after.three_d_secure_verification.status, 'successful');
      assert.equal(new URL(after.redirect_url).searchParams.get('status'), 'successful', 'finished: back to the merchant, not the page');
      assert.equal(await gw.count('webhook_deliveries'), deliveries + 1);
      // A second submit changes nothing and shows the outcome.
      const again = await submitPage(tx.uid, 'fail');
      assert.equal(again.status, 200);
      assert.match(again.text, /Payment confirmed/);
      assert.equal((await gw.get(`/transactions/${tx.uid}`, shop)).body.transaction.status, 'successful');
      assert.equal(await gw.count('webhook_deliveries'), deliveries + 1);
      const ledger = await gw.app.store.db.selectFrom('ledger_entries').select('amount').where('transaction_uid', '=', tx.uid).execute();
      assert.deepEqual(
        ledger.map((entry) => Number(entry.amount)),
        [tx.amount],
        'this payment, booked once',
      );
    });

    it('fails the transaction when the customer fails the challenge, without asking the bank', async () => {
      const tx = await challenged();
      const bankCalls = await gw.count('sandbox_operations');
      const answer = await submitPage(tx.uid, 'fail');
      assert.equal(answer.status, 303);
      assert.equal(new URL(answer.headers.get('location')!).searchParams.get('status'), 'failed');
      const after = (await gw.get(`/transactions/${tx.uid}`, shop)).body.transaction;
      assert.equal(after.status, 'failed');
      assert.equal(after.message, 'Payment was declined');
      assert.equal(after.three_d_secure_verification.status, 'failed');
      assert.equal(await gw.count('sandbox_operations'), bankCalls);
    });

    it('shows the outcome itself when there is no return_url', async () => {
      const tx = await challenged('payments', { return_url: null });
      const answer = await submitPage(tx.uid, 'authenticate');
      assert.equal(answer.status, 200);
      assert.match(answer.text, /Payment confirmed/);
    });

    it('answers a clear page, not an error, for unknown and malformed uids', async () => {
      for (const uid of ['00000000-0000-4000-8000-000000000000', 'nope', '%3Cscript%3E']) {
        const answer = await page(uid);
        assert.equal(answer.status, 404);
        assert.match(answer.headers.get('content-type') ?? '', /text\/html/);
        assert.match(answer.text, /Transaction not found/);
        assert.equal((await submitPage(uid, 'authenticate')).status, 404);
      }
    });

    it('lets a 3-D Secure authorization be captured and refunded, or voided, afterwards', async () => {
      const authorization = await challenged('authorizations', { amount: 5000 });
      assert.equal((await submitPage(authorization.uid, 'authenticate')).status, 303);
      const capture = await gw.post('/transactions/captures', { parent_uid: authorization.uid, amount: 3000 }, shop);
      assert.equal(capture.body.transaction.status, 'successful');
      const refund = await gw.post('/transactions/refunds', { parent_uid: capture.body.transaction.uid, amount: 1000, reason: 'return' }, shop);
      assert.equal(refund.body.transaction.status, 'successful');
      const other = await challenged('authorizations', { amount: 700 });
      await submitPage(other.uid, 'authenticate');
      const voided = await gw.post('/transactions/voids', { parent_uid: other.uid, amount: 700 }, shop);
      assert.equal(voided.body.transaction.status, 'successful');
      // An incomplete authorization has no children.
      const pending = await challenged('authorizations', { amount: 900 });
      const refused = await gw.post('/transactions/captures', { parent_uid: pending.uid, amount: 100 }, shop);
      assert.equal(refused.status, 422);
    });

    it('finishes frictionless cards without the page, and fails status U and N cards', async () => {
      for (const [number, status] of [
        ['4012000000001006', 'successful'],
        ['5204240000015003', 'successful'],
        ['4012000000001022', 'failed'],
        ['4012000000001014', 'failed'],
      ]) {
        const answer = await gw.post('/transactions/payments', paymentRequest({ credit_card: card(number) }), shop);
        assert.equal(answer.body.transaction.status, status, number);
        assert.equal(answer.body.transaction.redirect_url, answer.body.transaction.receipt_url, 'finished: its receipt');
      }
    });

    it('expires an incomplete transaction after its expired_at, or 24 h without one, with its webhook', async () => {
      const expiresAt = new Date(gw.clock.now().getTime() + 3600_000).toISOString();
      const withDate = await challenged('payments', { expired_at: expiresAt });
      const withoutDate = await challenged();
      const deliveriesOf = async () =>
        (
          await gw.app.store.db
            .selectFrom('webhook_deliveries')
            .select('transaction_uid')
            .where('transaction_uid', 'in', [withDate.uid, withoutDate.uid])
            .execute()
        ).length;
      assert.equal(await deliveriesOf(), 0);
      assert.equal(await gw.app.expireIncomplete(), 0);
      gw.clock.advance(3600_000);
      assert.equal(await gw.app.expireIncomplete(), 1);
      const expired = (await gw.get(`/transactions/${withDate.uid}`, shop)).body.transaction;
      assert.equal(expired.status, 'expired');
      assert.equal(expired.expired_at, expiresAt);
      assert.equal((await gw.get(`/transactions/${withoutDate.uid}`, shop)).body.transaction.status, 'incomplete');
      gw.clock.advance(23 * 3600_000);
      assert.ok((await gw.app.expireIncomplete()) >= 1);
      assert.equal((await gw.get(`/transactions/${withoutDate.uid}`, shop)).body.transaction.status, 'expired');
      assert.equal(await deliveriesOf(), 2);
      // The page of an expired transaction can no longer complete it.
      const late = await submitPage(withDate.uid, 'authenticate');
      assert.equal(late.status, 200);
      assert.equal((await gw.get(`/transactions/${withDate.uid}`, shop)).body.transaction.status, 'expired');
    });

    it('serves the receipt only through the link in the transaction', async () => {
      const paid = (await gw.post('/transactions/payments', paymentRequest({ amount: 2050, currency: 'JPY', description: 'Tea set' }))).body
        .transaction;
      const receipt = await gw.request('GET', new URL(paid.receipt_url).pathname + new URL(paid.receipt_url).search, undefined, { auth: null });
      assert.equal(receipt.status, 200);
      assert.match(receipt.text, /Demo shop 361/);
      assert.match(receipt.text, /2050 JPY/);
      assert.match(receipt.text, /Visa •••• 0000/);
      assert.match(receipt.text, /successful/);
      assert.match(receipt.text, /Tea set/);
      const kwd = (await gw.post('/transactions/payments', paymentRequest({ amount: 1234, currency: 'KWD' }))).body.transaction;
      const kwdReceipt = await gw.request('GET', new URL(kwd.receipt_url).pathname + new URL(kwd.receipt_url).search, undefined, { auth: null });
      assert.match(kwdReceipt.text, /1\.234 KWD/);
      for (const path of [
        `/receipts/${paid.uid}`,
        `/receipts/${paid.uid}?token=0000`,
        `/receipts/${kwd.uid}?token=${new URL(paid.receipt_url).searchParams.get('token')}`,
      ]) {
        const refused = await gw.request('GET', path, undefined, { auth: null });
        assert.equal(refused.status, 404, path);
        assert.ok(!refused.text.includes('Tea set'));
      }
    });
  });
}
