/**
 * The fields real gateway answers carry beyond spec §2.2, per operation (redirect_url and gateway on
 * purchases, be_protected_verification on children, smart_routing_verification and mute_notifications on
 * captures and 3-D Secure answers), and the result code with its friendly_message of every declined
 * sandbox card and every failure the gateway decides itself, as the README's test card table lists them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe } from 'node:test';
import { results } from '../src/domain/codes.js';
import { submitChallenge } from './support/challenge.js';
import { it } from './support/deadline.js';
import { card, createShop, DEMO_3DS_SHOP, paymentRequest, startGateway, type TestGateway, testStores } from './support/gateway.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RETURN_URL = 'https://merchant.example/back?order=7';
const threeDs = { auth: DEMO_3DS_SHOP };
const UNJUDGED = { status: 'successful', message: null, rules: {} };

/** The README's test card table: the row naming a card, with its `code` column. */
function documentedCodeOf(number: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Sandbox test cards'), readme.indexOf('AVS/CVC:'));
  const row = table.split('\n').find((line) => line.startsWith('|') && line.includes(number));
  assert.ok(row, `the README's test card table lists ${number}`);
  return row.split('|').at(-2)!.trim();
}

/** The fields every transaction answer had before these were added: none of them may go. */
function assertOldFields(tx: Record<string, any>) {
  for (const field of ['uid', 'id', 'type', 'status', 'message', 'code', 'friendly_message', 'amount', 'currency', 'test', 'receipt_url']) {
    assert.ok(field in tx, `${tx.type} keeps ${field}`);
  }
  for (const field of ['created_at', 'updated_at', 'paid_at', 'expired_at', 'closed_at', 'settled_at', 'manually_corrected_at', 'additional_data']) {
    assert.ok(field in tx, `${tx.type} keeps ${field}`);
  }
  assert.ok(tx[tx.type], `${tx.type} keeps its acquirer sub-object`);
}

for (const store of testStores()) {
  describe(`fields of the platform's answers, and result codes [${store}]`, () => {
    let gw: TestGateway;
    let nextShopId = 8400;
    before(async () => {
      gw = await startGateway(store);
    });
    after(() => gw.close());

    const pay = (type: string, extra: Record<string, unknown> = {}, options = {}) => gw.post(`/transactions/${type}`, paymentRequest(extra), options);
    const shown = async (uid: string, options = {}) => (await gw.get(`/transactions/${uid}`, options)).body.transaction;

    async function authorized() {
      const answer = await pay('authorizations');
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.transaction.status, 'successful');
      return answer.body.transaction;
    }

    it('payment: redirect_url (return_url with uid and status, else the receipt) and gateway.iframe, old fields kept', async () => {
      const tx = (await pay('payments', { return_url: RETURN_URL })).body.transaction;
      assert.equal(tx.status, 'successful');
      assertOldFields(tx);
      assert.equal(tx.code, 'S.0000');
      assert.equal(tx.credit_card.last_4, '0000');
      assert.equal(tx.be_protected_verification.status, 'successful');
      const redirect = new URL(tx.redirect_url);
      assert.equal(redirect.origin + redirect.pathname, 'https://merchant.example/back');
      assert.equal(redirect.searchParams.get('order'), '7');
      assert.equal(redirect.searchParams.get('uid'), tx.uid);
      assert.equal(redirect.searchParams.get('status'), 'successful');
      assert.deepEqual(tx.gateway, { iframe: false });
      assert.equal(tx.smart_routing_verification, undefined);
      assert.equal(tx.mute_notifications, undefined);
      assert.deepEqual(await shown(tx.uid), tx, 'the status query answers the same');

      const plain = (await pay('payments')).body.transaction;
      assert.equal(plain.redirect_url, plain.receipt_url, 'without a return_url: the receipt');
      const declined = (await pay('payments', { credit_card: card('4005550000000019'), return_url: RETURN_URL })).body.transaction;
      assert.equal(declined.status, 'failed');
      assert.equal(new URL(declined.redirect_url).searchParams.get('status'), 'failed');
      assert.deepEqual(declined.gateway, { iframe: false });
    });

    it('authorization: redirect_url and gateway.iframe as a payment', async () => {
      const tx = (await pay('authorizations', { return_url: RETURN_URL })).body.transaction;
      assert.equal(tx.status, 'successful');
      assertOldFields(tx);
      assert.equal(new URL(tx.redirect_url).searchParams.get('uid'), tx.uid);
      assert.deepEqual(tx.gateway, { iframe: false });
      assert.equal(tx.be_protected_verification.status, 'successful');
      assert.equal(tx.smart_routing_verification, undefined);
    });

    it('capture: be_protected_verification, smart_routing_verification and mute_notifications false', async () => {
      const parent = await authorized();
      const answer = await gw.post('/transactions/captures', { parent_uid: parent.uid, amount: 600 });
      assert.equal(answer.status, 200, answer.text);
      const tx = answer.body.transaction;
      assert.equal(tx.status, 'successful');
      assertOldFields(tx);
      assert.equal(tx.parent_uid, parent.uid);
      assert.equal(tx.capture.status, 'successful');
      assert.deepEqual(tx.be_protected_verification, UNJUDGED);
      assert.deepEqual(tx.smart_routing_verification, { status: 'successful' });
      assert.equal(tx.mute_notifications, false);
      assert.equal(tx.redirect_url, undefined, 'a capture sends no customer anywhere');
      assert.equal(tx.gateway, undefined);
      assert.equal(tx.credit_card, undefined, 'children stay lean');
      assert.deepEqual(await shown(tx.uid), tx, 'the status query answers the same');
    });

    it('void and refund: be_protected_verification, and no capture-only fields', async () => {
      const parent = await authorized();
      const voided = (await gw.post('/transactions/voids', { parent_uid: parent.uid, amount: parent.amount })).body.transaction;
      assert.equal(voided.status, 'successful');
      assertOldFields(voided);
      assert.deepEqual(voided.be_protected_verification, UNJUDGED);
      assert.equal(voided.smart_routing_verification, undefined);
      assert.equal(voided.mute_notifications, undefined);

      const payment = (await pay('payments')).body.transaction;
      const refund = (await gw.post('/transactions/refunds', { parent_uid: payment.uid, amount: 100, reason: 'Returned' })).body.transaction;
      assert.equal(refund.status, 'successful');
      assertOldFields(refund);
      assert.equal(refund.reason, 'Returned');
      assert.deepEqual(refund.be_protected_verification, UNJUDGED);
      assert.equal(refund.smart_routing_verification, undefined);
      assert.equal(refund.mute_notifications, undefined);
      assert.deepEqual(await shown(refund.uid), refund);
    });

    it('refusals around the children: unknown uid and another shop answer 404, bad input 422 with the API body', async () => {
      const parent = await authorized();
      const capture = (await gw.post('/transactions/captures', { parent_uid: parent.uid, amount: 500 })).body.transaction;
      const other = await createShop(gw, ++nextShopId);
      const foreign = await gw.get(`/transactions/${capture.uid}`, { auth: other });
      assert.equal(foreign.status, 404);
      assert.deepEqual(foreign.body, { message: 'Record not found', response: { message: 'Record not found' } });
      const unknown = await gw.get('/transactions/2b0e6f1c-8d47-4d8f-9b1f-3f7a1f0c2d11');
      assert.equal(unknown.status, 404);
      const foreignParent = await gw.post('/transactions/captures', { parent_uid: parent.uid, amount: 500 }, { auth: other });
      assert.equal(foreignParent.status, 422);
      assert.deepEqual(foreignParent.body.errors, { parent_uid: ['Parent transaction is not found'] });
      const bad = await gw.post('/transactions/captures', { parent_uid: parent.uid });
      assert.equal(bad.status, 422);
      assert.equal(bad.body.response.message, bad.body.message);
      assert.ok(bad.body.errors.amount, bad.text);
    });

    it('incomplete 3-D Secure answer (4012000000003010): smart_routing_verification, the page, P.4011', async () => {
      const answer = await pay('payments', { credit_card: card('4012000000003010'), return_url: RETURN_URL }, threeDs);
      const tx = answer.body.transaction;
      assert.equal(tx.status, 'incomplete');
      assertOldFields(tx);
      assert.equal(tx.message, null);
      assert.equal(tx.code, results.challenge.code);
      assert.equal(tx.friendly_message, results.challenge.friendly_message);
      assert.equal(tx.redirect_url, `${gw.app.ctx.publicUrl}/process/${tx.uid}`);
      assert.deepEqual(tx.smart_routing_verification, { status: 'successful' });
      assert.deepEqual(tx.gateway, { iframe: false });
      assert.equal(tx.three_d_secure_verification.status, 'pending');
      assert.equal(tx.be_protected_verification.status, 'successful');
      assert.deepEqual(await shown(tx.uid, threeDs), tx);

      assert.equal((await submitChallenge(gw, tx.uid, { outcome: 'authenticate' })).status, 303);
      const paid = await shown(tx.uid, threeDs);
      assert.equal(paid.status, 'successful');
      assert.equal(new URL(paid.redirect_url).searchParams.get('status'), 'successful', 'no page left: back to the merchant');
    });

    /** Pays `number` on the shop it needs and answers the transaction as it ends up. */
    async function outcomeOf(number: string, type = 'payments') {
      const options = number.startsWith('4012') || number.startsWith('5204') ? threeDs : {};
      const answer = await pay(type, { credit_card: card(number) }, options);
      assert.equal(answer.status, 200, answer.text);
      return answer.body.transaction;
    }

    it('every declined or failing card of the README table carries its code and friendly_message', async () => {
      const cases: [string, (typeof results)[keyof typeof results]][] = [
        ['4005550000000019', results.cardDeclined],
        ['4000000000000051', results.insufficientFunds],
        ['4000000000000507', results.acquirerError],
        ['4012000000001022', results.authenticationFailed],
        ['5204240000015045', results.authenticationFailed],
        ['4012000000001014', results.authenticationFailed],
        ['5204240000015060', results.authenticationFailed],
      ];
      for (const [number, result] of cases) {
        assert.equal(documentedCodeOf(number), result.code, `README code of ${number}`);
        for (const type of ['payments', 'authorizations']) {
          const tx = await outcomeOf(number, type);
          assert.equal(tx.status, 'failed', `${type} ${number}`);
          assert.equal(tx.code, result.code, `${type} ${number}`);
          assert.equal(tx.friendly_message, result.friendly_message, `${type} ${number}`);
          assert.ok(tx.message, `${type} ${number} has a message`);
          assert.deepEqual(await shown(tx.uid, number.startsWith('4000') || number.startsWith('4005') ? {} : threeDs), tx);
        }
      }
      const funds = await outcomeOf('4000000000000051');
      assert.equal(funds.message, results.insufficientFunds.message);
      assert.equal((await outcomeOf('4000000000000507')).message, results.acquirerError.message);
    });

    it('the successful and settled-later cards of the README table carry S.0000 (and P.1001 while in doubt)', async () => {
      for (const number of ['4200000000000000', '4000000000000408', '4012000000001006', '5204240000015003']) {
        assert.equal(documentedCodeOf(number), 'S.0000', `README code of ${number}`);
        const tx = await outcomeOf(number);
        assert.equal(tx.status, 'successful', number);
        assert.equal(tx.code, results.successful.code, number);
        assert.equal(tx.friendly_message, results.successful.friendly_message, number);
      }
      assert.match(documentedCodeOf('4000000000000606'), /^P\.1001, S\.0000$/);
      const pending = await outcomeOf('4000000000000606');
      assert.equal(pending.status, 'pending');
      assert.equal(pending.code, results.pending.code);
      assert.equal(pending.friendly_message, results.pending.friendly_message);
      gw.clock.advance(3_600_000);
      assert.ok((await gw.app.resolveInDoubt()) >= 1);
      const settled = await shown(pending.uid);
      assert.equal(settled.status, 'successful');
      assert.equal(settled.code, results.successful.code);
      assert.equal(settled.friendly_message, results.successful.friendly_message);
    });

    it('failures the gateway decides: failed challenge F.0301, expiry F.0109, risk rules F.0401', async () => {
      assert.match(documentedCodeOf('4012000000003010'), /^P\.4011, S\.0000 \(failed: F\.0301\)$/);
      const failing = await outcomeOf('4012000000003010');
      assert.equal((await submitChallenge(gw, failing.uid, { outcome: 'fail' })).status, 200);
      const failed = await shown(failing.uid, threeDs);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.code, results.authenticationFailed.code);
      assert.equal(failed.friendly_message, results.authenticationFailed.friendly_message);
      assert.equal(failed.message, 'Payment was declined');

      const expiring = await pay(
        'payments',
        { credit_card: card('4012000000003010'), expired_at: new Date(gw.clock.now().getTime() + 60_000).toISOString() },
        threeDs,
      );
      gw.clock.advance(120_000);
      assert.ok((await gw.app.expireIncomplete()) >= 1);
      const expired = await shown(expiring.body.transaction.uid, threeDs);
      assert.equal(expired.status, 'expired');
      assert.equal(expired.code, results.expired.code);
      assert.equal(expired.message, results.expired.message);
      assert.equal(expired.friendly_message, results.expired.friendly_message);

      const guarded = await createShop(gw, ++nextShopId, { risk_rules: { max_amount: 500 } });
      const refused = (await pay('payments', { amount: 900 }, { auth: guarded })).body.transaction;
      assert.equal(refused.status, 'failed');
      assert.equal(refused.code, results.riskRefused.code);
      assert.equal(refused.friendly_message, results.riskRefused.friendly_message);
      assert.equal(refused.message, 'Amount exceeds the limit of one transaction');
      assert.equal(refused.be_protected_verification.status, 'failed');
    });
  });
}
