/**
 * The routes of the official Ruby client beside `POST /credit_cards` (issue 15): the card-token update by
 * path (`POST /credit_cards/{token}`, `PUT /v2/credit_cards/{token}`), the v2 create (`POST /v2/credit_cards`),
 * the card fields of the `/credit_cards` answers, and `POST /process/{uid}/return` (the merchant's server
 * finishing a 3-D Secure challenge). Each with the API's authentication, shop isolation and error bodies.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { CARD_KEYS, luhnComplete } from './support/cards.js';
import { submitChallenge } from './support/challenge.js';
import {
  card,
  createShop,
  type Credentials,
  DEMO_3DS_SHOP,
  DEMO_SHOP,
  type HttpAnswer,
  paymentRequest,
  startGateway,
  type TestGateway,
  testStores,
} from './support/gateway.js';

const yearNow = new Date().getUTCFullYear();
const RETURN_URL = 'https://merchant.example/return';

function assertNotFound(answer: HttpAnswer, what: string) {
  assert.equal(answer.status, 404, `${what}: ${answer.text}`);
  assert.deepEqual(answer.body, { message: 'Record not found', response: { message: 'Record not found' } }, what);
}

function assertUnauthorized(answer: HttpAnswer, what: string) {
  assert.equal(answer.status, 401, `${what}: ${answer.text}`);
  assert.equal(answer.body.message, 'Invalid shop_id/secret_key.', what);
  assert.equal(answer.body.response.message, 'Invalid shop_id/secret_key.', what);
}

for (const store of testStores()) {
  describe(`card-token routes of the Ruby client [${store}]`, () => {
    let gw: TestGateway;
    let otherShop: Credentials;
    before(async () => {
      gw = await startGateway(store);
      otherShop = await createShop(gw, 6101);
    });
    after(() => gw.close());

    const created = async (number: string, auth: Credentials = DEMO_SHOP) => {
      const answer = await gw.post('/credit_cards', { number, holder: 'Ann Smith', exp_month: 7, exp_year: yearNow + 2 }, { auth });
      assert.equal(answer.status, 200, answer.text);
      return answer.body;
    };
    /** The two update routes, by path: the Ruby client's update_card_by_token and v2_update_card_by_token. */
    const updateRoutes = [
      {
        name: 'POST /credit_cards/{token}',
        send: (token: string, body: unknown, auth?: Credentials | null) => gw.request('POST', `/credit_cards/${token}`, body, { auth }),
      },
      {
        name: 'PUT /v2/credit_cards/{token}',
        send: (token: string, body: unknown, auth?: Credentials | null) => gw.request('PUT', `/v2/credit_cards/${token}`, body, { auth }),
      },
    ];

    it('answers bin, issuer_country, issuer_name and product on /credit_cards, and every field it answered before', async () => {
      const answer = await gw.post('/credit_cards', {
        number: '5555555555554444',
        holder: 'Ann Smith',
        exp_month: '07',
        exp_year: String(yearNow + 2),
      });
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual(Object.keys(answer.body).sort(), CARD_KEYS);
      assert.equal(answer.body.bin, '555555');
      assert.equal(answer.body.first_1, '5');
      assert.equal(answer.body.last_4, '4444');
      assert.equal(answer.body.brand, 'master');
      assert.equal(answer.body.holder, 'Ann Smith');
      assert.equal(answer.body.exp_month, 7);
      assert.equal(answer.body.exp_year, yearNow + 2);
      assert.match(answer.body.stamp, /^[0-9a-f]{64}$/);
      // The sandbox knows no issuers: the keys are there, their values null.
      assert.equal(answer.body.issuer_country, null);
      assert.equal(answer.body.issuer_name, null);
      assert.equal(answer.body.product, null);
      // The bin is the one a payment with the card shows.
      const paid = await gw.post('/transactions/payments', paymentRequest({ credit_card: { token: answer.body.token } }));
      assert.equal(paid.body.transaction.credit_card.bin, answer.body.bin);
      // A token update answers the same keys.
      const updated = await gw.post('/credit_cards', { token: answer.body.token, holder: 'Ann Jones' });
      assert.deepEqual(Object.keys(updated.body).sort(), CARD_KEYS);
      assert.equal(updated.body.bin, '555555');
    });

    it('cuts bin by the truncation rule: a short number shows no more of itself than its transactions do', async () => {
      for (const [length, shown] of [
        [12, 3],
        [13, 4],
        [15, 6],
        [19, 6],
      ] as const) {
        const number = luhnComplete('271828182845904523536'.slice(0, length - 1));
        const answer = await gw.post('/credit_cards', card(number));
        assert.equal(answer.status, 200, answer.text);
        assert.equal(answer.body.bin, number.slice(0, shown), `${length} digits`);
        assert.equal(answer.body.last_4, number.slice(-4));
        assert.ok(!answer.text.includes(number.slice(0, -1)), `${length} digits: the number less its check digit`);
        const paid = await gw.post('/transactions/payments', paymentRequest({ credit_card: { token: answer.body.token } }));
        assert.equal(paid.body.transaction.credit_card.bin, answer.body.bin, `${length} digits`);
      }
    });

    it('POST /v2/credit_cards creates a token as /credit_cards does, and updates one by token', async () => {
      const v2 = await gw.post('/v2/credit_cards', { number: '4111111111111111', holder: 'Bea Brown', exp_month: '03', exp_year: yearNow + 1 });
      assert.equal(v2.status, 200, v2.text);
      assert.deepEqual(Object.keys(v2.body).sort(), CARD_KEYS);
      assert.equal(v2.body.bin, '411111');
      assert.ok(!v2.text.includes('4111111111111111'));
      // One token per card and shop, whichever path stored it.
      const v1 = await gw.post('/credit_cards', { number: '4111111111111111', holder: 'Bea Brown', exp_month: 3, exp_year: yearNow + 1 });
      assert.equal(v1.body.token, v2.body.token);
      assert.equal(v1.body.stamp, v2.body.stamp);
      const updated = await gw.post('/v2/credit_cards', { token: v2.body.token, number: null, holder: 'Bea Green', exp_month: 9 });
      assert.equal(updated.status, 200, updated.text);
      assert.equal(updated.body.token, v2.body.token);
      assert.equal(updated.body.holder, 'Bea Green');
      assert.equal(updated.body.exp_month, 9);
      assert.equal(updated.body.exp_year, yearNow + 1);
    });

    it('POST /v2/credit_cards refuses what /credit_cards refuses, with the same bodies', async () => {
      for (const request of [
        { number: '4111111111111112', exp_month: 1, exp_year: yearNow + 1 },
        { number: '4111111111111111', exp_month: 1, exp_year: 2020 },
        { holder: 'No Number' },
        { token: 'no-such-token', holder: 'X' },
      ]) {
        const v1 = await gw.post('/credit_cards', request);
        const v2 = await gw.post('/v2/credit_cards', request);
        assert.equal(v2.status, 422, v2.text);
        assert.deepEqual(v2.body, v1.body, JSON.stringify(request));
      }
      assert.equal((await gw.post('/v2/credit_cards', { token: 'no-such-token' })).body.message, 'Token does not exist.');
      const unwrapped = await gw.request('POST', '/v2/credit_cards', { number: '4111111111111111', exp_month: 1, exp_year: yearNow + 1 });
      assert.equal(unwrapped.status, 422);
      assert.deepEqual(unwrapped.body.errors, { request: ["can't be blank"] });
      assertUnauthorized(await gw.request('POST', '/v2/credit_cards', { request: card() }, { auth: null }), 'no credentials');
      assertUnauthorized(
        await gw.request('POST', '/v2/credit_cards', { request: card() }, { auth: { id: DEMO_SHOP.id, secret: 'wrong' } }),
        'a wrong secret',
      );
    });

    for (const route of updateRoutes) {
      it(`${route.name}: updates holder and expiry, keeps the number, and the token pays with the new data`, async () => {
        const original = await created('5105105105105100');
        const answer = await route.send(original.token, { request: { holder: 'Ann Jones', exp_month: '11', exp_year: yearNow + 3 } });
        assert.equal(answer.status, 200, answer.text);
        assert.deepEqual(Object.keys(answer.body).sort(), CARD_KEYS);
        assert.equal(answer.body.token, original.token);
        assert.equal(answer.body.holder, 'Ann Jones');
        assert.equal(answer.body.exp_month, 11);
        assert.equal(answer.body.exp_year, yearNow + 3);
        for (const kept of ['stamp', 'brand', 'first_1', 'last_4', 'bin']) assert.equal(answer.body[kept], original[kept], kept);

        // What is not sent stays; a number sent along is not read (a token keeps its number).
        const holderOnly = await route.send(original.token, {
          request: { holder: 'Ann Brown', number: '4200000000000000', exp_month: null, exp_year: '' },
        });
        assert.equal(holderOnly.status, 200, holderOnly.text);
        assert.equal(holderOnly.body.holder, 'Ann Brown');
        assert.equal(holderOnly.body.exp_month, 11);
        assert.equal(holderOnly.body.exp_year, yearNow + 3);
        assert.equal(holderOnly.body.stamp, original.stamp);
        assert.equal(holderOnly.body.last_4, '5100');

        const paid = await gw.post('/transactions/payments', paymentRequest({ credit_card: { token: original.token } }));
        assert.equal(paid.body.transaction.status, 'successful', paid.text);
        assert.equal(paid.body.transaction.credit_card.holder, 'Ann Brown');
        assert.equal(paid.body.transaction.credit_card.exp_month, 11);
        assert.equal(paid.body.transaction.credit_card.stamp, original.stamp);
        // The stored row holds what the answer says, the number still sealed.
        const row = await gw.app.store.db.selectFrom('cards').selectAll().where('token', '=', original.token).executeTakeFirstOrThrow();
        assert.equal(row.holder, 'Ann Brown');
        assert.equal(gw.app.vault.decrypt(row.pan_enc), '5105105105105100');
        assert.ok(!JSON.stringify(row).includes('5105105105105100'));
      });

      it(`${route.name}: an unknown, malformed or another shop's token is 404 Record not found, and the card is unchanged`, async () => {
        const mine = await created('4012888888881881');
        const theirs = await created('4012888888881881', otherShop);
        const change = { request: { holder: 'Intruder' } };
        assertNotFound(await route.send(randomUUID(), change), 'unknown token');
        assertNotFound(await route.send(theirs.token, change), "another shop's token");
        assertNotFound(await route.send(mine.token, change, otherShop), 'my token sent by another shop');
        assertNotFound(await route.send('%00', change), 'a NUL byte');
        assertNotFound(await route.send('x'.repeat(200), change), 'a token longer than any stored one');
        const untouched = await gw.post('/credit_cards', { token: theirs.token }, { auth: otherShop });
        assert.equal(untouched.body.holder, 'Ann Smith');
        assert.equal((await gw.post('/credit_cards', { token: mine.token })).body.holder, 'Ann Smith');
      });

      it(`${route.name}: bad input is 422 with the API's error body, checked before the token`, async () => {
        const { token } = await created('4222222222222');
        const refusals: [unknown, Record<string, unknown>, string?][] = [
          [{ request: { exp_month: 13 } }, { exp_month: ['is invalid'] }],
          [{ request: { exp_year: 'soon' } }, { exp_year: ['is invalid'] }],
          [{ request: { exp_month: 1, exp_year: 2020 } }, { exp_date: ['is expired'] }, 'Date is expired.'],
          [{ request: { exp_year: yearNow - 1 } }, { exp_date: ['is expired'] }, 'Date is expired.'],
          [{ request: { holder: 'h'.repeat(256) } }, { holder: ['is too long (maximum is 255 characters)'] }],
          [{ request: { holder: 42 } }, { holder: ['is invalid'] }],
          [{ holder: 'Not wrapped' }, { request: ["can't be blank"] }],
          [undefined, { request: ["can't be blank"] }],
        ];
        for (const [body, errors, message] of refusals) {
          const answer = await route.send(token, body);
          assert.equal(answer.status, 422, `${JSON.stringify(body)}: ${answer.text}`);
          assert.deepEqual(answer.body.errors, errors, JSON.stringify(body));
          assert.deepEqual(answer.body.response.errors, errors);
          if (message) assert.equal(answer.body.message, message);
          assert.equal(answer.body.response.message, answer.body.message);
        }
        // The request alone first: bad input for an unknown token is still the 422.
        const unknown = await route.send(randomUUID(), { request: { exp_month: 13 } });
        assert.equal(unknown.status, 422);
        const kept = await gw.post('/credit_cards', { token });
        assert.equal(kept.body.exp_month, 7);
        assert.equal(kept.body.exp_year, yearNow + 2);
        assert.equal(kept.body.holder, 'Ann Smith');
      });

      it(`${route.name}: without valid credentials 401, and nothing changes`, async () => {
        const { token } = await created('6011000990139424');
        assertUnauthorized(await route.send(token, { request: { holder: 'Nobody' } }, null), 'no credentials');
        assertUnauthorized(await route.send(token, { request: { holder: 'Nobody' } }, { id: DEMO_SHOP.id, secret: 'wrong' }), 'a wrong secret');
        assert.equal((await gw.post('/credit_cards', { token })).body.holder, 'Ann Smith');
      });
    }

    it("answers 404 Record not found, as JSON, for the Ruby client's routes whose semantics the platform does not document", async () => {
      const paid = (await gw.post('/transactions/payments', paymentRequest())).body.transaction;
      const { token } = await created('4917610000000000');
      for (const [method, path] of [
        ['POST', `/transactions/${paid.uid}/recover`],
        ['POST', `/transactions/${paid.uid}/confirm`],
        ['POST', `/transactions/${paid.uid}/proof`],
        ['POST', '/transactions/close_days'],
        ['POST', '/transactions/fraud_advices'],
        ['POST', '/transactions/p2ps'],
        ['POST', '/p2p-restrictions'],
        ['POST', '/transactions/recipient_tokenizations'],
        ['POST', '/services/credit_cards/charges'],
        ['GET', '/bank_names'],
        ['GET', '/bank_names/1'],
        ['PATCH', '/bank_names/1'],
        ['GET', '/bank_names/issuers'],
        ['GET', `/v2/credit_cards/${token}`],
      ]) {
        const answer = await gw.request(method, path, method === 'GET' ? undefined : { request: { uid: paid.uid, gateway_id: 1 } });
        assertNotFound(answer, `${method} ${path}`);
        assert.match(answer.headers.get('content-type') ?? '', /application\/json/);
      }
      assert.equal((await gw.get(`/transactions/${paid.uid}`)).body.transaction.status, 'successful');
    });

    it('a RequestID makes an update by path safe to retry; the same key for another card is another request', async () => {
      const first = await created('3530111333300000');
      const second = await created('3566002020360505');
      const key = { headers: { RequestID: `card-update-${randomUUID()}` } };
      const body = { request: { holder: 'Retried Holder' } };
      const answer = await gw.request('POST', `/credit_cards/${first.token}`, body, key);
      assert.equal(answer.status, 200, answer.text);
      const again = await gw.request('POST', `/credit_cards/${first.token}`, body, key);
      assert.deepEqual(again.body, answer.body);
      const elsewhere = await gw.request('POST', `/credit_cards/${second.token}`, body, key);
      assert.equal(elsewhere.status, 422, elsewhere.text);
      assert.equal(elsewhere.body.message, 'RequestID was already used with a different request.');
      assert.equal((await gw.post('/credit_cards', { token: second.token })).body.holder, 'Ann Smith');
    });
  });

  describe(`POST /process/{uid}/return: the merchant finishes 3-D Secure [${store}]`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(store);
    });
    after(() => gw.close());

    const as3ds = { auth: DEMO_3DS_SHOP };
    const finish = (uid: string, body: unknown, auth: Credentials | null = DEMO_3DS_SHOP) =>
      gw.request('POST', `/process/${uid}/return`, body, { auth });
    const show = async (uid: string) => (await gw.get(`/transactions/${uid}`, as3ds)).body.transaction;
    const deliveriesOf = (uid: string) => gw.app.store.db.selectFrom('webhook_deliveries').selectAll().where('transaction_uid', '=', uid).execute();
    const ledgerOf = async (uid: string) =>
      (await gw.app.store.db.selectFrom('ledger_entries').select('amount').where('transaction_uid', '=', uid).execute()).map((e) => Number(e.amount));

    async function challenged(type = 'payments', extra: Record<string, unknown> = {}) {
      const answer = await gw.post(
        `/transactions/${type}`,
        paymentRequest({ credit_card: card('4012000000003010'), return_url: RETURN_URL, notification_url: 'http://127.0.0.1:9/hook', ...extra }),
        as3ds,
      );
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.transaction.status, 'incomplete');
      return answer.body.transaction;
    }

    /** The webhook a finished challenge queued, as the merchant will receive it. */
    async function webhookOf(uid: string) {
      const deliveries = await deliveriesOf(uid);
      assert.equal(deliveries.length, 1, `one webhook for ${uid}`);
      return JSON.parse(deliveries[0]!.payload).transaction;
    }

    /** What a webhook says about the outcome, without what differs between two transactions. */
    const outcomeOf = (tx: Record<string, any>) => ({
      keys: Object.keys(tx).sort(),
      status: tx.status,
      message: tx.message,
      code: tx.code,
      payment: tx.payment && { status: tx.payment.status, message: tx.payment.message },
      three_d_secure_verification: tx.three_d_secure_verification,
    });

    it("authenticated: the transaction is successful, booked once, with the webhook the page's Authenticate queues", async () => {
      const tx = await challenged();
      const answer = await finish(tx.uid, { request: { result: 'authenticated' } });
      assert.equal(answer.status, 200, answer.text);
      const finished = answer.body.transaction;
      assert.equal(finished.uid, tx.uid);
      assert.equal(finished.status, 'successful');
      assert.equal(finished.message, 'Successfully processed');
      assert.equal(finished.code, 'S.0000');
      assert.equal(finished.payment.status, 'successful');
      assert.equal(finished.three_d_secure_verification.status, 'successful');
      // A finished payment sends the customer back to the shop with its outcome, as the page's redirect does.
      assert.equal(finished.redirect_url, `${RETURN_URL}?uid=${tx.uid}&status=successful`);
      assert.ok(!answer.text.includes('4012000000003010'));
      assert.deepEqual(await show(tx.uid), finished);
      assert.deepEqual(await ledgerOf(tx.uid), [tx.amount], 'this payment, booked once');

      const byPage = await challenged();
      assert.equal((await submitChallenge(gw, byPage.uid, { outcome: 'authenticate' })).status, 303);
      assert.deepEqual(outcomeOf(await webhookOf(tx.uid)), outcomeOf(await webhookOf(byPage.uid)));
      assert.equal((await webhookOf(tx.uid)).status, 'successful');
    });

    it("failed: the transaction fails without asking the bank, with the webhook the page's Fail queues", async () => {
      const tx = await challenged();
      const bankCalls = await gw.count('sandbox_operations');
      const answer = await finish(tx.uid, { request: { result: 'failed' } });
      assert.equal(answer.status, 200, answer.text);
      const finished = answer.body.transaction;
      assert.equal(finished.status, 'failed');
      assert.equal(finished.message, 'Payment was declined');
      assert.match(finished.code, /^F\./);
      assert.equal(finished.three_d_secure_verification.status, 'failed');
      assert.equal(await gw.count('sandbox_operations'), bankCalls, 'the bank was not asked');
      assert.deepEqual(await ledgerOf(tx.uid), []);

      const byPage = await challenged();
      assert.equal((await submitChallenge(gw, byPage.uid, { outcome: 'fail' })).status, 303);
      assert.deepEqual(outcomeOf(await webhookOf(tx.uid)), outcomeOf(await webhookOf(byPage.uid)));
      assert.equal((await webhookOf(tx.uid)).status, 'failed');
    });

    it('finishes an authorization challenge too: it can be captured afterwards', async () => {
      const tx = await challenged('authorizations', { amount: 4000 });
      const answer = await finish(tx.uid, { request: { result: 'authenticated' } });
      assert.equal(answer.body.transaction.status, 'successful', answer.text);
      assert.equal(answer.body.transaction.authorization.status, 'successful');
      const capture = await gw.post('/transactions/captures', { parent_uid: tx.uid, amount: 4000 }, as3ds);
      assert.equal(capture.body.transaction.status, 'successful', capture.text);
    });

    it('refuses a second call, and a call after the page finished it, as the page refuses: nothing changes', async () => {
      const refusal = {
        message: 'Transaction is not waiting for 3-D Secure authentication.',
        errors: { base: ['Transaction is not waiting for 3-D Secure authentication'] },
      };
      const tx = await challenged();
      assert.equal((await finish(tx.uid, { request: { result: 'authenticated' } })).status, 200);
      for (const result of ['failed', 'authenticated']) {
        const again = await finish(tx.uid, { request: { result } });
        assert.equal(again.status, 422, again.text);
        assert.deepEqual(again.body, { ...refusal, response: refusal });
      }
      assert.equal((await show(tx.uid)).status, 'successful');
      assert.equal((await deliveriesOf(tx.uid)).length, 1, 'one webhook');
      assert.deepEqual(await ledgerOf(tx.uid), [tx.amount]);
      // The page, too, shows the outcome and changes nothing.
      const page = await submitChallenge(gw, tx.uid, { outcome: 'fail' });
      assert.equal(page.status, 200);
      assert.match(page.text, /Payment confirmed/);

      const byPage = await challenged();
      await submitChallenge(gw, byPage.uid, { outcome: 'fail' });
      const late = await finish(byPage.uid, { request: { result: 'authenticated' } });
      assert.equal(late.status, 422, late.text);
      assert.deepEqual(late.body.errors, refusal.errors);
      assert.equal((await show(byPage.uid)).status, 'failed');
      assert.equal((await deliveriesOf(byPage.uid)).length, 1);
    });

    it('refuses a transaction that is not incomplete: a finished payment, and one past its expiry (expired on the spot)', async () => {
      const paid = (await gw.post('/transactions/payments', paymentRequest({ credit_card: card('4012000000001006') }), as3ds)).body.transaction;
      assert.equal(paid.status, 'successful');
      const onPaid = await finish(paid.uid, { request: { result: 'authenticated' } });
      assert.equal(onPaid.status, 422, onPaid.text);
      assert.deepEqual(onPaid.body.errors, { base: ['Transaction is not waiting for 3-D Secure authentication'] });
      assert.deepEqual(await ledgerOf(paid.uid), [paid.amount]);

      const refund = (await gw.post('/transactions/refunds', { parent_uid: paid.uid, amount: 100, reason: 'Return' }, as3ds)).body.transaction;
      assert.equal((await finish(refund.uid, { request: { result: 'failed' } })).status, 422);

      const tx = await challenged('payments', { expired_at: new Date(gw.clock.now().getTime() + 60_000).toISOString() });
      gw.clock.advance(60_001);
      const bankCalls = await gw.count('sandbox_operations');
      const late = await finish(tx.uid, { request: { result: 'authenticated' } });
      assert.equal(late.status, 422, late.text);
      assert.deepEqual(late.body.errors, { base: ['Transaction is not waiting for 3-D Secure authentication'] });
      assert.equal((await show(tx.uid)).status, 'expired');
      assert.equal((await webhookOf(tx.uid)).status, 'expired', 'the expiry webhook, as the page sends it');
      assert.equal(await gw.count('sandbox_operations'), bankCalls);
      assert.deepEqual(await ledgerOf(tx.uid), []);
    });

    it("answers 404 Record not found for an unknown, malformed or another shop's uid, and leaves the challenge open", async () => {
      const tx = await challenged();
      const body = { request: { result: 'authenticated' } };
      assertNotFound(await finish(randomUUID(), body), 'unknown uid');
      assertNotFound(await finish('1234567890qwerty', body), 'malformed uid');
      assertNotFound(await finish(tx.uid, body, DEMO_SHOP), "another shop's transaction");
      assert.equal((await show(tx.uid)).status, 'incomplete');
      assert.equal((await deliveriesOf(tx.uid)).length, 0);
      // The uid in any case, as the status query takes it.
      const upper = await finish(tx.uid.toUpperCase(), body);
      assert.equal(upper.status, 200, upper.text);
      assert.equal(upper.body.transaction.status, 'successful');
    });

    it('refuses bad input with 422 and the API error body, before looking at the transaction', async () => {
      const tx = await challenged();
      const refusals: [unknown, Record<string, unknown>][] = [
        [{ request: {} }, { result: ["can't be blank"] }],
        [{ request: { result: null } }, { result: ["can't be blank"] }],
        [{ request: { result: 'maybe' } }, { result: ['is invalid'] }],
        [{ request: { result: 'toString' } }, { result: ['is invalid'] }],
        [{ request: { result: true } }, { result: ['is invalid'] }],
        [{ request: { result: 'r'.repeat(40) } }, { result: ['is too long (maximum is 32 characters)'] }],
        [{ result: 'authenticated' }, { request: ["can't be blank"] }],
        [undefined, { request: ["can't be blank"] }],
      ];
      for (const [body, errors] of refusals) {
        const answer = await finish(tx.uid, body);
        assert.equal(answer.status, 422, `${JSON.stringify(body)}: ${answer.text}`);
        assert.deepEqual(answer.body.errors, errors, JSON.stringify(body));
        assert.deepEqual(answer.body.response.errors, errors);
      }
      const missing = await finish(tx.uid, { request: {} });
      assert.equal(missing.body.message, "Result can't be blank.");
      assert.equal((await finish(randomUUID(), { request: { result: 'maybe' } })).status, 422, 'the request alone first');
      assert.equal((await show(tx.uid)).status, 'incomplete');
    });

    it('answers 401 without valid credentials, and leaves the challenge open', async () => {
      const tx = await challenged();
      assertUnauthorized(await finish(tx.uid, { request: { result: 'authenticated' } }, null), 'no credentials');
      assertUnauthorized(await finish(tx.uid, { request: { result: 'failed' } }, { id: DEMO_3DS_SHOP.id, secret: 'wrong' }), 'a wrong secret');
      assert.equal((await show(tx.uid)).status, 'incomplete');
      // The page still works afterwards.
      assert.equal((await submitChallenge(gw, tx.uid, { outcome: 'authenticate' })).status, 303);
    });
  });
}
