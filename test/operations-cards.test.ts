import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { it, until } from './support/deadline.js';
import { newTransactionRow } from '../src/processing/pipeline.js';
import { insertTransaction } from '../src/store/transactions.js';
import { CARD_KEYS } from './support/cards.js';
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

async function balanceOf(gw: TestGateway, currency = 'EUR', auth?: Credentials): Promise<number> {
  const answer = await gw.post('/balance', { currency }, { auth });
  assert.equal(answer.status, 200, answer.text);
  return answer.body.result.amount;
}

async function ledgerEntriesOf(gw: TestGateway, uid: string) {
  return gw.app.store.db.selectFrom('ledger_entries').selectAll().where('transaction_uid', '=', uid).execute();
}

async function sandboxCallsOf(gw: TestGateway, reference: string): Promise<number> {
  const rows = await gw.app.store.db.selectFrom('sandbox_operations').select('reference').where('reference', '=', reference).execute();
  return rows.length;
}

async function rowOf(gw: TestGateway, uid: string) {
  return gw.app.store.db.selectFrom('transactions').selectAll().where('uid', '=', uid).executeTakeFirstOrThrow();
}

for (const store of testStores()) {
  describe(`card operations [${store}]`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(store);
    });
    after(() => gw.close());

    it('authorizes: successful, with an authorization sub-object and no money moved', async () => {
      const balance = await balanceOf(gw);
      const request = paymentRequest();
      const answer = await gw.post('/transactions/authorizations', request);
      assert.equal(answer.status, 200);
      const tx = answer.body.transaction;
      assert.equal(tx.type, 'authorization');
      assert.equal(tx.status, 'successful');
      assert.equal(tx.message, 'Successfully processed');
      assert.equal(tx.code, 'S.0000');
      assert.equal(tx.authorization.status, 'successful');
      assert.equal(tx.authorization.message, 'Authorization was approved');
      assert.match(tx.authorization.auth_code, /^\d{6}$/);
      assert.equal(tx.authorization.amount, request.amount);
      assert.equal(tx.authorization.currency, 'EUR');
      assert.equal(tx.payment, undefined);
      assert.ok(tx.credit_card.token);
      assert.equal(tx.be_protected_verification.status, 'successful');
      assert.equal(await balanceOf(gw), balance, 'an authorization only holds funds');
      assert.equal((await ledgerEntriesOf(gw, tx.uid)).length, 0);
    });

    it('tokenizes a card on a non-3-D Secure shop: the token pays, no money moves', async () => {
      const balance = await balanceOf(gw);
      const answer = await gw.post('/transactions/tokenizations', paymentRequest({ credit_card: card('5555555555554444') }));
      assert.equal(answer.status, 200);
      const tx = answer.body.transaction;
      assert.equal(tx.type, 'tokenization');
      assert.equal(tx.status, 'successful');
      assert.equal(tx.tokenization.status, 'successful');
      assert.equal(tx.credit_card.brand, 'master');
      assert.equal(tx.credit_card.last_4, '4444');
      assert.match(tx.credit_card.token, /.+/);
      assert.ok(!answer.text.includes('5555555555554444'));
      assert.equal(await balanceOf(gw), balance);

      const paid = await gw.post('/transactions/payments', paymentRequest({ credit_card: { token: tx.credit_card.token } }));
      assert.equal(paid.body.transaction.status, 'successful');
      assert.equal(paid.body.transaction.credit_card.stamp, tx.credit_card.stamp);
      assert.equal(await balanceOf(gw), balance + paid.body.transaction.amount);
    });

    it('tokenizes 4012000000003010 on the 3-D Secure shop as incomplete, message null, with redirect_url', async () => {
      const answer = await gw.post('/transactions/tokenizations', paymentRequest({ credit_card: card('4012000000003010') }), { auth: DEMO_3DS_SHOP });
      assert.equal(answer.status, 200);
      const tx = answer.body.transaction;
      assert.equal(tx.type, 'tokenization');
      assert.equal(tx.status, 'incomplete');
      assert.ok('message' in tx, 'message is present');
      assert.equal(tx.message, null);
      assert.equal(tx.redirect_url, `${gw.app.ctx.publicUrl}/process/${tx.uid}`);
      assert.ok(tx.three_d_secure_verification, 'three_d_secure_verification is present');
      assert.equal(typeof tx.three_d_secure_verification.status, 'string');
      assert.ok(tx.credit_card.token);

      const shown = await gw.get(`/transactions/${tx.uid}`, { auth: DEMO_3DS_SHOP });
      assert.equal(shown.body.transaction.status, 'incomplete');
      assert.equal(shown.body.transaction.message, null);
      assert.equal(shown.body.transaction.redirect_url, tx.redirect_url);
    });

    it('runs the 3-D Secure cards of §3 on the 3-D Secure shop', async () => {
      for (const number of ['4012000000001006', '5204240000015003']) {
        const tx = (await gw.post('/transactions/payments', paymentRequest({ credit_card: card(number) }), { auth: DEMO_3DS_SHOP })).body.transaction;
        assert.equal(tx.status, 'successful', `frictionless ${number}`);
        assert.equal(tx.three_d_secure_verification.status, 'successful', `frictionless ${number}`);
        assert.equal(tx.redirect_url, tx.receipt_url, 'a finished payment: its receipt');
      }
      for (const number of ['4012000000001097', '5204240000015029']) {
        const tx = (await gw.post('/transactions/payments', paymentRequest({ credit_card: card(number) }), { auth: DEMO_3DS_SHOP })).body.transaction;
        assert.equal(tx.status, 'incomplete', `challenge ${number}`);
        assert.ok('message' in tx);
        assert.equal(tx.message, null);
        assert.equal(tx.redirect_url, `${gw.app.ctx.publicUrl}/process/${tx.uid}`);
        assert.ok(tx.three_d_secure_verification);
      }
      for (const number of ['4012000000001022', '5204240000015045', '4012000000001014', '5204240000015060']) {
        const tx = (await gw.post('/transactions/payments', paymentRequest({ credit_card: card(number) }), { auth: DEMO_3DS_SHOP })).body.transaction;
        assert.equal(tx.status, 'failed', `U/N ${number}`);
        assert.equal(tx.message, 'Payment was declined');
        assert.match(tx.code, /^F\./);
        assert.equal(tx.three_d_secure_verification.status, 'failed', `U/N ${number}`);
        assert.equal(tx.redirect_url, tx.receipt_url, 'a finished payment: its receipt');
      }
      const auth = (await gw.post('/transactions/authorizations', paymentRequest({ credit_card: card('4012000000001097') }), { auth: DEMO_3DS_SHOP }))
        .body.transaction;
      assert.equal(auth.status, 'incomplete');
      assert.equal(auth.message, null);
      const declinedAuth = (
        await gw.post('/transactions/authorizations', paymentRequest({ credit_card: card('4012000000001014') }), { auth: DEMO_3DS_SHOP })
      ).body.transaction;
      assert.equal(declinedAuth.status, 'failed');
      assert.equal(declinedAuth.message, 'Authorization was declined');
    });

    it('skips 3-D Secure with skip_three_d_secure_verification: true, and never runs it on shop 361', async () => {
      const threeDsCards = ['4012000000003010', '4012000000001097', '4012000000001022', '4012000000001014', '4012000000001006', '5204240000015060'];
      for (const number of threeDsCards) {
        const skipped = (
          await gw.post('/transactions/payments', paymentRequest({ credit_card: card(number, { skip_three_d_secure_verification: true }) }), {
            auth: DEMO_3DS_SHOP,
          })
        ).body.transaction;
        assert.equal(skipped.status, 'successful', `skip ${number}`);
        assert.equal(skipped.three_d_secure_verification, undefined, `3-D Secure did not run for ${number}`);
        const plain = (await gw.post('/transactions/payments', paymentRequest({ credit_card: card(number) }))).body.transaction;
        assert.equal(plain.status, 'successful', `shop 361 ${number}`);
        assert.equal(plain.three_d_secure_verification, undefined);
        assert.equal(plain.redirect_url, plain.receipt_url, 'a finished payment: its receipt');
      }
      const token = (await gw.post('/transactions/tokenizations', paymentRequest({ credit_card: card('4012000000003010') }))).body.transaction;
      assert.equal(token.status, 'successful');
    });

    it('pays out to a recipient card number and to a token; the balance goes down', async () => {
      const before = await balanceOf(gw);
      const byNumber = await gw.post('/transactions/payouts', {
        amount: 700,
        currency: 'EUR',
        description: 'Payout',
        tracking_id: 'payout-1',
        recipient_credit_card: { number: '4200000000000000', holder: 'Jane Roe', exp_month: 12, exp_year: new Date().getUTCFullYear() + 2 },
        recipient: { first_name: 'Jane' },
      });
      assert.equal(byNumber.status, 200, byNumber.text);
      const tx = byNumber.body.transaction;
      assert.equal(tx.type, 'payout');
      assert.equal(tx.status, 'successful');
      assert.equal(tx.payout.status, 'successful');
      assert.equal(tx.recipient_credit_card.last_4, '0000');
      assert.equal(tx.recipient_credit_card.holder, 'Jane Roe');
      assert.ok(tx.recipient_credit_card.token);
      assert.deepEqual(tx.recipient, { first_name: 'Jane' });
      assert.ok(!byNumber.text.includes('4200000000000000'));
      assert.equal(await balanceOf(gw), before - 700);
      assert.deepEqual(
        (await ledgerEntriesOf(gw, tx.uid)).map((e) => Number(e.amount)),
        [-700],
      );

      const byToken = await gw.post('/transactions/payouts', {
        amount: 300,
        currency: 'EUR',
        description: 'Payout',
        recipient_credit_card: { token: tx.recipient_credit_card.token },
      });
      assert.equal(byToken.status, 200, byToken.text);
      assert.equal(byToken.body.transaction.status, 'successful');
      assert.equal(byToken.body.transaction.recipient_credit_card.token, tx.recipient_credit_card.token);
      assert.equal(await balanceOf(gw), before - 1000);
    });

    it('credits a stored card token; the balance goes down', async () => {
      const token = (await gw.post('/transactions/payments', paymentRequest())).body.transaction.credit_card.token;
      const before = await balanceOf(gw);
      const answer = await gw.post('/transactions/credits', {
        amount: 450,
        currency: 'EUR',
        description: 'Credit',
        tracking_id: 'credit-1',
        credit_card: { token },
      });
      assert.equal(answer.status, 200, answer.text);
      const tx = answer.body.transaction;
      assert.equal(tx.type, 'credit');
      assert.equal(tx.status, 'successful');
      assert.equal(tx.credit.status, 'successful');
      assert.equal(tx.credit_card.token, token);
      assert.equal(await balanceOf(gw), before - 450);
    });

    it('refuses a credit without a token (422) and with an unknown token ("Token does not exist."), storing nothing', async () => {
      const before = await gw.count('transactions');
      const base = { amount: 450, currency: 'EUR', description: 'Credit' };
      for (const creditCard of [{}, { number: '4200000000000000', exp_month: 5, exp_year: new Date().getUTCFullYear() + 1 }]) {
        const answer = await gw.post('/transactions/credits', { ...base, credit_card: creditCard });
        assert.equal(answer.status, 422, answer.text);
        assert.deepEqual(answer.body.errors.credit_card.token, ["can't be blank"]);
      }
      const missing = await gw.post('/transactions/credits', base);
      assert.equal(missing.status, 422);
      assert.ok(missing.body.errors.credit_card);
      const unknown = await gw.post('/transactions/credits', { ...base, credit_card: { token: '00000000-0000-4000-8000-000000000000' } });
      assert.equal(unknown.status, 422);
      assert.equal(unknown.body.message, 'Token does not exist.');
      assert.equal(unknown.body.response.message, 'Token does not exist.');
      assert.equal(await gw.count('transactions'), before);
    });

    it('creates a card token with POST /credit_cards, updates it, and pays with it', async () => {
      const year = new Date().getUTCFullYear() + 2;
      const created = await gw.post('/credit_cards', { number: '5555555555554444', holder: 'Ann Smith', exp_month: '07', exp_year: String(year) });
      assert.equal(created.status, 200, created.text);
      assert.deepEqual(Object.keys(created.body).sort(), CARD_KEYS);
      assert.equal(created.body.brand, 'master');
      assert.equal(created.body.first_1, '5');
      assert.equal(created.body.last_4, '4444');
      assert.equal(created.body.holder, 'Ann Smith');
      assert.equal(created.body.exp_month, 7);
      assert.equal(created.body.exp_year, year);
      assert.match(created.body.stamp, /^[0-9a-f]{64}$/);
      assert.ok(!created.text.includes('5555555555554444'));
      const { token } = created.body;

      const updated = await gw.post('/credit_cards', { token, number: null, holder: 'Ann Jones', exp_month: 11, exp_year: year + 1 });
      assert.equal(updated.status, 200, updated.text);
      assert.equal(updated.body.token, token);
      assert.equal(updated.body.holder, 'Ann Jones');
      assert.equal(updated.body.exp_month, 11);
      assert.equal(updated.body.exp_year, year + 1);
      assert.equal(updated.body.stamp, created.body.stamp);
      assert.equal(updated.body.last_4, '4444');

      const paid = await gw.post('/transactions/payments', paymentRequest({ credit_card: { token } }));
      assert.equal(paid.body.transaction.status, 'successful');
      assert.equal(paid.body.transaction.credit_card.token, token);
      assert.equal(paid.body.transaction.credit_card.holder, 'Ann Jones');
      assert.equal(paid.body.transaction.credit_card.exp_month, 11);
      assert.equal(paid.body.transaction.credit_card.exp_year, year + 1);
    });

    it('refuses to update a token to an expiry in the past ("Date is expired") and keeps the card as it was', async () => {
      const year = new Date().getUTCFullYear() + 1;
      const { token } = (await gw.post('/credit_cards', { number: '4200000000000000', holder: 'Old', exp_month: 3, exp_year: year })).body;
      for (const change of [{ exp_month: 1, exp_year: 2020 }, { exp_year: 2021 }]) {
        const answer = await gw.post('/credit_cards', { token, ...change });
        assert.equal(answer.status, 422, answer.text);
        assert.equal(answer.body.message, 'Date is expired.');
      }
      const unknown = await gw.post('/credit_cards', { token: 'no-such-token', exp_month: 1, exp_year: 2020 });
      assert.equal(unknown.body.message, 'Date is expired.', 'the request alone is checked before the token');
      const kept = await gw.post('/credit_cards', { token, holder: 'Old' });
      assert.equal(kept.status, 200);
      assert.equal(kept.body.exp_year, year);
    });

    it('answers 422 "Token does not exist." when updating an unknown or foreign token', async () => {
      const unknown = await gw.post('/credit_cards', { token: 'no-such-token', holder: 'X' });
      assert.equal(unknown.status, 422);
      assert.equal(unknown.body.message, 'Token does not exist.');
      const foreign = (await gw.post('/credit_cards', card('4200000000000000'), { auth: DEMO_3DS_SHOP })).body.token;
      const answer = await gw.post('/credit_cards', { token: foreign, holder: 'X' });
      assert.equal(answer.status, 422);
      assert.equal(answer.body.message, 'Token does not exist.');
    });

    it('declines 4000000000000051 for insufficient funds (F.0107)', async () => {
      const tx = (await gw.post('/transactions/payments', paymentRequest({ credit_card: card('4000000000000051') }))).body.transaction;
      assert.equal(tx.status, 'failed');
      assert.equal(tx.message, 'Insufficient funds');
      assert.equal(tx.code, 'F.0107');
      assert.equal((await ledgerEntriesOf(gw, tx.uid)).length, 0);
    });

    it('waits for the slow bank (4000000000000309, slow_ms) and completes successfully', async () => {
      const shop = await createShop(gw, 5001, { acquirer_settings: { slow_ms: 300 } });
      const started = Date.now();
      const answer = await gw.post('/transactions/payments', paymentRequest({ credit_card: card('4000000000000309') }), { auth: shop });
      const elapsed = Date.now() - started;
      assert.equal(answer.body.transaction.status, 'successful');
      assert.ok(elapsed >= 250, `took ${elapsed} ms`);
      assert.equal(await balanceOf(gw, 'EUR', shop), answer.body.transaction.amount);
    });

    it('settles the timeout card (4000000000000408) by the immediate inquiry, without a second call', async () => {
      const before = await balanceOf(gw);
      const tx = (await gw.post('/transactions/payments', paymentRequest({ credit_card: card('4000000000000408') }))).body.transaction;
      assert.equal(tx.status, 'successful');
      assert.equal(tx.message, 'Successfully processed');
      assert.equal(await sandboxCallsOf(gw, (await rowOf(gw, tx.uid)).acquirer_ref), 1);
      assert.equal((await ledgerEntriesOf(gw, tx.uid)).length, 1);
      assert.equal(await balanceOf(gw), before + tx.amount);
    });

    it('fails on the acquirer error card (4000000000000507) with F.0500 and moves nothing', async () => {
      const before = await balanceOf(gw);
      const tx = (await gw.post('/transactions/payments', paymentRequest({ credit_card: card('4000000000000507') }))).body.transaction;
      assert.equal(tx.status, 'failed');
      assert.equal(tx.code, 'F.0500');
      assert.equal((await ledgerEntriesOf(gw, tx.uid)).length, 0);
      assert.equal(await balanceOf(gw), before);
      const payout = (
        await gw.post('/transactions/payouts', { amount: 100, currency: 'EUR', description: 'P', recipient_credit_card: card('4000000000000507') })
      ).body.transaction;
      assert.equal(payout.status, 'failed');
      assert.equal(payout.code, 'F.0500');
      assert.equal(await balanceOf(gw), before);
    });
  });

  describe(`in-doubt outcomes [${store}]`, () => {
    let gw: TestGateway;
    const bank = new BankGate();
    before(async () => {
      gw = await startGateway(store, {}, { sleep: bank.sleep });
    });
    after(() => gw.close());

    it('keeps the unknown-outcome card (4000000000000606) pending until an inquiry after settle_ms settles it, once', async () => {
      const balance = await balanceOf(gw);
      const answer = await gw.post('/transactions/payments', paymentRequest({ credit_card: card('4000000000000606') }));
      assert.equal(answer.status, 200);
      const tx = answer.body.transaction;
      assert.equal(tx.status, 'pending');
      assert.equal(tx.paid_at, null);
      assert.equal((await gw.get(`/transactions/${tx.uid}`)).body.transaction.status, 'pending');
      const reference = (await rowOf(gw, tx.uid)).acquirer_ref;
      assert.equal(await sandboxCallsOf(gw, reference), 1);

      // Not yet due: the resolver leaves it alone.
      assert.equal(await gw.app.resolveInDoubt(), 0);
      assert.equal((await gw.get(`/transactions/${tx.uid}`)).body.transaction.status, 'pending');

      // Beyond settle_ms (2000) but before next_inquiry_at: still not asked.
      gw.clock.advance(2_500);
      const row = await rowOf(gw, tx.uid);
      assert.ok(row.next_inquiry_at! > gw.clock.now().toISOString(), 'next inquiry is later');
      assert.equal(await gw.app.resolveInDoubt(), 0);
      assert.equal((await gw.get(`/transactions/${tx.uid}`)).body.transaction.status, 'pending');
      assert.equal(await balanceOf(gw), balance + tx.amount, 'the bank moved the money already');
      assert.equal((await ledgerEntriesOf(gw, tx.uid)).length, 0);

      gw.clock.advance(Date.parse(row.next_inquiry_at!) - gw.clock.now().getTime() + 1);
      assert.equal(await gw.app.resolveInDoubt(), 1);
      const settled = (await gw.get(`/transactions/${tx.uid}`)).body.transaction;
      assert.equal(settled.status, 'successful');
      assert.equal(settled.message, 'Successfully processed');
      assert.equal(settled.code, 'S.0000');
      assert.equal(settled.payment.status, 'successful');
      assert.ok(settled.paid_at);
      assert.deepEqual(
        (await ledgerEntriesOf(gw, tx.uid)).map((e) => Number(e.amount)),
        [tx.amount],
      );

      // Settled exactly once: later passes find nothing, the bank was never called again.
      gw.clock.advance(3_600_000);
      assert.equal(await gw.app.resolveInDoubt(), 0);
      assert.equal((await ledgerEntriesOf(gw, tx.uid)).length, 1);
      assert.equal(await sandboxCallsOf(gw, reference), 1);
      assert.equal(await balanceOf(gw), balance + tx.amount);
    });

    it('settles an unknown-outcome payout by inquiry, taking the money out once', async () => {
      const balance = await balanceOf(gw);
      const tx = (
        await gw.post('/transactions/payouts', {
          amount: 640,
          currency: 'EUR',
          description: 'Payout',
          recipient_credit_card: card('4000000000000606'),
        })
      ).body.transaction;
      assert.equal(tx.status, 'pending');
      assert.equal(tx.payout.status, 'pending');
      gw.clock.advance(Date.parse((await rowOf(gw, tx.uid)).next_inquiry_at!) - gw.clock.now().getTime() + 1);
      assert.equal(await gw.app.resolveInDoubt(), 1);
      const settled = (await gw.get(`/transactions/${tx.uid}`)).body.transaction;
      assert.equal(settled.status, 'successful');
      assert.equal(settled.payout.status, 'successful');
      assert.deepEqual(
        (await ledgerEntriesOf(gw, tx.uid)).map((e) => Number(e.amount)),
        [-640],
      );
      assert.equal(await balanceOf(gw), balance - 640);
      assert.equal(await gw.app.resolveInDoubt(), 0);
    });

    it('backs off between inquiries while the bank is still processing', async () => {
      const shop = await createShop(gw, 5101, { acquirer_settings: { settle_ms: 20_000 } });
      const tx = (await gw.post('/transactions/authorizations', paymentRequest({ credit_card: card('4000000000000606') }), { auth: shop })).body
        .transaction;
      assert.equal(tx.status, 'pending');
      const first = await rowOf(gw, tx.uid);
      assert.equal(first.inquiry_attempts, 1, 'the immediate inquiry counted');
      const t0 = gw.clock.now().getTime();
      const firstDelay = Date.parse(first.next_inquiry_at!) - t0;
      assert.ok(firstDelay > 0);

      gw.clock.advance(firstDelay + 1);
      assert.equal(await gw.app.resolveInDoubt(), 0, 'the bank is still processing');
      const second = await rowOf(gw, tx.uid);
      assert.equal(second.status, 'pending');
      assert.equal(second.inquiry_attempts, 2);
      const secondDelay = Date.parse(second.next_inquiry_at!) - gw.clock.now().getTime();
      assert.ok(secondDelay > firstDelay, `back-off grows: ${firstDelay} then ${secondDelay}`);

      gw.clock.advance(Math.max(secondDelay, 20_000 - (gw.clock.now().getTime() - t0)) + 1);
      assert.equal(await gw.app.resolveInDoubt(), 1);
      const settled = (await gw.get(`/transactions/${tx.uid}`, { auth: shop })).body.transaction;
      assert.equal(settled.status, 'successful');
      assert.equal(settled.authorization.status, 'successful');
      assert.equal((await ledgerEntriesOf(gw, tx.uid)).length, 0, 'an authorization moves no money');
    });

    it('does not touch a transaction whose acquirer call is still in flight', async () => {
      const shop = await createShop(gw, 5102, { acquirer_settings: { slow_ms: 300 } });
      bank.hold();
      const inFlight = gw.post('/transactions/payments', paymentRequest({ credit_card: card('4000000000000309') }), { auth: shop });
      // Transaction A has committed and the call is held at the bank.
      await until(
        () => bank.waiting === 1,
        () => 'the payment at the bank',
      );
      const row = await gw.app.store.db.selectFrom('transactions').select(['uid', 'status']).where('shop_id', '=', shop.id).executeTakeFirstOrThrow();
      assert.equal(row.status, 'processing');
      // The resolver leaves a call still in flight alone.
      assert.equal(await gw.app.resolveInDoubt(), 0);
      bank.open();
      const answer = await inFlight;
      assert.equal(answer.body.transaction.status, 'successful');
      assert.equal((await ledgerEntriesOf(gw, answer.body.transaction.uid)).length, 1);
    });

    it('settles a `processing` transaction left by a crash after the bank acted, by inquiry and without calling again', async () => {
      const shop = (await gw.app.shops.find(361))!;
      const row = newTransactionRow(
        gw.app.ctx,
        { shop, body: {} },
        { type: 'payment', amount: 777, currency: 'EUR', description: 'crashed', tracking_id: 'crash-1' },
      );
      await gw.app.store.write((tx) => insertTransaction(tx, row));
      // The bank got the call (and approved) before the process died; transaction B never ran.
      const bank = gw.app.ctx.acquirerFor(shop);
      const outcome = await bank.authorize(
        {
          reference: row.acquirer_ref,
          shopId: shop.id,
          amount: 777,
          currency: 'EUR',
          card: { number: '4200000000000000', holder: null, expMonth: 1, expYear: 2099 },
          settings: {},
        },
        true,
      );
      assert.equal(outcome.outcome, 'approved');
      const balance = await balanceOf(gw);

      const shown = (await gw.get(`/transactions/${row.uid}`)).body.transaction;
      assert.equal(shown.status, 'pending', 'processing is shown as pending');
      assert.equal(await gw.app.resolveInDoubt(), 0, 'the call could still be in flight');

      gw.clock.advance(Date.parse(row.next_inquiry_at!) - gw.clock.now().getTime() + 1);
      assert.equal(await gw.app.resolveInDoubt(), 1);
      const settled = (await gw.get(`/transactions/${row.uid}`)).body.transaction;
      assert.equal(settled.status, 'successful');
      assert.deepEqual(
        (await ledgerEntriesOf(gw, row.uid)).map((e) => Number(e.amount)),
        [777],
      );
      assert.equal(await sandboxCallsOf(gw, row.acquirer_ref), 1);
      assert.equal(await balanceOf(gw), balance, 'the bank is not charged twice');
    });

    it('fails a `processing` transaction the bank never received (crash before the call)', async () => {
      const shop = (await gw.app.shops.find(361))!;
      const row = newTransactionRow(gw.app.ctx, { shop, body: {} }, { type: 'payment', amount: 778, currency: 'EUR', description: 'crashed early' });
      await gw.app.store.write((tx) => insertTransaction(tx, row));
      const balance = await balanceOf(gw);
      gw.clock.advance(Date.parse(row.next_inquiry_at!) - gw.clock.now().getTime() + 1);
      assert.equal(await gw.app.resolveInDoubt(), 1);
      const settled = (await gw.get(`/transactions/${row.uid}`)).body.transaction;
      assert.equal(settled.status, 'failed');
      assert.match(settled.code, /^F\./);
      assert.equal((await ledgerEntriesOf(gw, row.uid)).length, 0);
      assert.equal(await sandboxCallsOf(gw, row.acquirer_ref), 0, 'the resolver never sends the operation');
      assert.equal(await balanceOf(gw), balance);
    });
  });

  describe(`acquirer deadline [${store}]`, () => {
    let gw: TestGateway;
    const bank = new BankGate();
    before(async () => {
      gw = await startGateway(store, { acquirerTimeoutMs: 150 }, { sleep: bank.sleep });
    });
    after(() => gw.close());

    it('keeps a payment pending when the bank is slower than the deadline, and settles it by inquiry once the bank answered', async () => {
      const shop = await createShop(gw, 5201, { acquirer_settings: { slow_ms: 600 } });
      // The bank holds the call until after the gateway's deadline has passed.
      bank.hold();
      const answer = await gw.post('/transactions/payments', paymentRequest({ credit_card: card('4000000000000309') }), { auth: shop });
      assert.equal(answer.status, 200);
      const tx = answer.body.transaction;
      assert.equal(tx.status, 'pending', 'the bank may still act: the outcome is unknown, not a failure');
      const row = await rowOf(gw, tx.uid);

      // The bank's call is still running in the background: let it answer, and wait until it has recorded it.
      assert.equal(bank.waiting, 1);
      bank.open();
      await until(
        async () => (await sandboxCallsOf(gw, row.acquirer_ref)) === 1,
        () => 'the bank recording its answer',
      );
      assert.equal(await balanceOf(gw, 'EUR', shop), tx.amount, 'the bank moved the money');

      gw.clock.advance(Date.parse((await rowOf(gw, tx.uid)).next_inquiry_at!) - gw.clock.now().getTime() + 1);
      assert.equal(await gw.app.resolveInDoubt(), 1);
      const settled = (await gw.get(`/transactions/${tx.uid}`, { auth: shop })).body.transaction;
      assert.equal(settled.status, 'successful');
      assert.deepEqual(
        (await ledgerEntriesOf(gw, tx.uid)).map((e) => Number(e.amount)),
        [tx.amount],
      );
      assert.equal(await balanceOf(gw, 'EUR', shop), tx.amount);
    });
  });
}
