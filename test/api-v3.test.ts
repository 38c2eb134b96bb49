/**
 * The API v3 response format (spec §10) through real HTTP: `X-API-Version: 3` on a §2 route answers the
 * transaction flat, its card as `payment_method` and its acquirer answer as `transaction`, and a validation
 * refusal as 422 `E.1025`; an async result keeps the version its submit asked for; without the header (or
 * with `2`, or any other value) every answer is byte for byte what it was.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { DECLINED_CARD } from './support/cards.js';
import { card, createShop, paymentRequest, startGateway, type TestGateway, testStores } from './support/gateway.js';

const V3 = { headers: { 'X-API-Version': '3' } };

/** The members v3 moves: the card (into `payment_method`), the `<type>` sub-object (into `transaction`) and the method type. */
const moved = (type: string) => new Set(['credit_card', 'recipient_credit_card', 'payment_method_type', type]);

/** `v3` is `v2` (the same transaction, asked for without the header) in the v3 format of spec §10. */
function assertV3Of(v3: any, v2: any) {
  assert.equal(v3.transaction?.status, v2[v2.type].status, 'transaction is the acquirer block');
  for (const [member, value] of Object.entries(v2)) {
    if (!moved(v2.type).has(member)) assert.deepEqual(v3[member], value, `v3 keeps ${member} as v2 has it`);
  }
  for (const member of moved(v2.type)) assert.equal(member in v3, false, `v3 has no ${member}`);
  const block = v2[v2.type];
  assert.deepEqual(v3.transaction, {
    auth_code: block.auth_code,
    bank_code: block.bank_code,
    rrn: block.rrn,
    ref_id: block.ref_id,
    message: block.message,
    gateway_id: block.gateway_id,
    billing_descriptor: block.billing_descriptor,
    status: block.status,
  });
  const shownCard = v2.credit_card ?? v2.recipient_credit_card;
  if (shownCard) {
    const { holder, stamp, brand, last_4, first_1, bin, exp_month, exp_year, token } = shownCard;
    assert.deepEqual(v3.payment_method, {
      payment_method_type: 'credit_card',
      holder,
      stamp,
      brand,
      last_4,
      first_1,
      bin,
      exp_month,
      exp_year,
      token,
    });
  } else {
    assert.deepEqual(v3.payment_method, { payment_method_type: 'credit_card' });
  }
}

for (const store of testStores()) {
  describe(`API v3 response format [${store}]`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(store);
    });
    after(() => gw.close());

    /** A §2 operation with the v3 header: 200, flat, and the v3 form of what a v2 status query shows of it. */
    async function inV3(route: string, fields: unknown) {
      const answer = await gw.post(`/transactions/${route}`, fields, V3);
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.transaction?.uid, undefined, 'not wrapped');
      assert.equal(typeof answer.body.uid, 'string', answer.text);
      const v2 = await gw.get(`/transactions/${answer.body.uid}`);
      assert.equal(v2.status, 200, v2.text);
      assertV3Of(answer.body, v2.body.transaction);
      return answer.body;
    }

    it('every transaction operation answers v3 on success', async () => {
      const payment = await inV3('payments', paymentRequest());
      assert.equal(payment.status, 'successful');
      assert.equal(payment.code, 'S.0000');
      assert.equal(payment.message, 'Successfully processed');
      assert.equal(payment.type, 'payment');
      assert.equal(payment.payment_method.last_4, '0000');
      assert.equal(payment.transaction.status, 'successful');
      assert.doesNotMatch(JSON.stringify(payment), /4200000000000000/, 'never the full number');

      const authorization = await inV3('authorizations', paymentRequest());
      const toVoid = await inV3('authorizations', paymentRequest());
      await inV3('tokenizations', paymentRequest());
      await inV3('checkups', paymentRequest());
      const capture = await inV3('captures', { parent_uid: authorization.uid, amount: 500 });
      assert.equal(capture.parent_uid, authorization.uid);
      await inV3('voids', { parent_uid: toVoid.uid, amount: toVoid.amount });
      const refund = await inV3('refunds', { parent_uid: payment.uid, amount: 100, reason: 'Returned goods' });
      assert.equal(refund.reason, 'Returned goods');
      await inV3('chargebacks', { parent_uid: payment.uid, amount: 100, reason: 'Disputed' });
      const payout = await inV3('payouts', {
        amount: 400,
        currency: 'EUR',
        description: 'Payout',
        recipient_credit_card: { number: '5555555555554444', holder: 'Jane Doe', exp_month: 12, exp_year: new Date().getUTCFullYear() + 2 },
      });
      assert.equal(payout.payment_method.last_4, '4444');
      const credit = await inV3('credits', {
        amount: 300,
        currency: 'EUR',
        description: 'Credit',
        credit_card: { token: payment.payment_method.token },
      });
      assert.equal(credit.status, 'successful');
      for (const transaction of [payment, authorization, capture, refund, payout, credit]) assert.equal(transaction.code, 'S.0000');
    });

    it('a decline answers v3 with the F.0105 code the transaction carries', async () => {
      const declined = await inV3('payments', paymentRequest({ credit_card: card(DECLINED_CARD) }));
      assert.equal(declined.status, 'failed');
      assert.equal(declined.code, 'F.0105');
      assert.equal(declined.message, 'Payment was declined');
      assert.equal(typeof declined.friendly_message, 'string');
      assert.equal(declined.transaction.status, 'failed');
      const authorization = await inV3('authorizations', paymentRequest({ credit_card: card(DECLINED_CARD) }));
      assert.equal(authorization.code, 'F.0105');
      assert.equal(authorization.message, 'Authorization was declined');
    });

    it('a validation refusal answers 422 E.1025 with the message and errors of the v2 answer', async () => {
      const refusals: [string, unknown][] = [
        ['payments', { amount: 0, currency: 'EUR' }],
        ['captures', { parent_uid: randomUUID(), amount: 100 }],
        ['refunds', { parent_uid: randomUUID(), amount: 100 }],
        ['payments', paymentRequest({ credit_card: card('4200000000000001') })],
      ];
      for (const [route, fields] of refusals) {
        const v2 = await gw.post(`/transactions/${route}`, fields);
        assert.equal(v2.status, 422, v2.text);
        const v3 = await gw.post(`/transactions/${route}`, fields, V3);
        assert.equal(v3.status, 422, v3.text);
        const { message, errors } = v2.body;
        assert.deepEqual(v3.body, { code: 'E.1025', friendly_message: 'Invalid request params', message, errors, response: { message, errors } });
        assert.match(v3.headers.get('content-type') ?? '', /application\/json/);
      }
      const balance = await gw.post('/balance', {}, V3);
      assert.equal(balance.status, 422, balance.text);
      assert.equal(balance.body.code, 'E.1025');
      const unwrapped = await gw.request('POST', '/async/transactions/payments', { amount: 100 }, V3);
      assert.equal(unwrapped.status, 422, unwrapped.text);
      assert.deepEqual(unwrapped.body, {
        code: 'E.1025',
        friendly_message: 'Invalid request params',
        message: "Request can't be blank.",
        errors: { request: ["can't be blank"] },
        response: { message: "Request can't be blank.", errors: { request: ["can't be blank"] } },
      });
    });

    it('other refusals are the same in both versions: unknown uid, another shop, bad credentials', async () => {
      const payment = await inV3('payments', paymentRequest());
      const other = await createShop(gw, 9301);
      for (const [path, auth] of [
        [`/transactions/${randomUUID()}`, undefined],
        [`/transactions/${payment.uid}`, other],
        ['/transactions/1234567890qwerty', undefined],
        [`/transactions/${payment.uid}`, null],
      ] as const) {
        const v2 = await gw.get(path, { auth });
        const v3 = await gw.get(path, { ...V3, auth });
        assert.ok([401, 404].includes(v3.status), v3.text);
        assert.equal(v3.status, v2.status);
        assert.equal(v3.text, v2.text);
      }
      assert.equal((await gw.get(`/transactions/${payment.uid}`, { ...V3, auth: other })).body.message, 'Record not found');
    });

    it('status queries answer v3: by uid, by tracking id, and the legacy tracking route', async () => {
      const tracking_id = `v3-${randomUUID()}`;
      const payment = await inV3('payments', paymentRequest({ tracking_id }));
      const v2 = (await gw.get(`/transactions/${payment.uid}`)).body.transaction;
      const byUid = await gw.get(`/transactions/${payment.uid}`, V3);
      assert.equal(byUid.status, 200);
      assertV3Of(byUid.body, v2);
      const list = await gw.get(`/v2/transactions/tracking_id/${tracking_id}`, V3);
      assert.equal(list.status, 200);
      assert.equal(list.body.transactions.length, 1);
      assertV3Of(list.body.transactions[0], v2);
      assert.deepEqual((await gw.get(`/v2/transactions/tracking_id/none-${randomUUID()}`, V3)).body, { transactions: [] });
      const legacy = await gw.get(`/transactions/tracking_id/${tracking_id}`, V3);
      assertV3Of(legacy.body, v2);
    });

    it('without the header, with 2, or with another value, every answer is byte for byte v2', async () => {
      const payment = await gw.post('/transactions/payments', paymentRequest());
      const uid = payment.body.transaction.uid;
      const path = `/transactions/${uid}`;
      const plain = await gw.get(path);
      assert.ok(plain.body.transaction.credit_card);
      for (const value of ['2', '3.0', 'v3', '']) {
        assert.equal((await gw.get(path, { headers: { 'X-API-Version': value } })).text, plain.text, `X-API-Version: ${value}`);
      }
      const refused = { amount: 0, currency: 'EUR' };
      const plainRefusal = await gw.post('/transactions/payments', refused);
      assert.equal((await gw.post('/transactions/payments', refused, { headers: { 'X-API-Version': '2' } })).text, plainRefusal.text);
      assert.ok(plainRefusal.body.response, 'the v2 refusal keeps its response mirror');
      const balance = await gw.post('/balance', { currency: 'EUR' });
      assert.equal((await gw.post('/balance', { currency: 'EUR' }, V3)).text, balance.text, 'a balance has no v3 form of its own');
      const cardToken = await gw.post('/credit_cards', card('5555555555554444'));
      assert.equal((await gw.post('/credit_cards', card('5555555555554444'), V3)).text, cardToken.text, 'nor has a card token');
    });

    it('an async result keeps the version its submit asked for', async () => {
      const submit = async (path: string, fields: unknown, options = {}) => {
        const answer = await gw.post(`/async${path}`, fields, options);
        assert.equal(answer.status, 200, answer.text);
        assert.equal(answer.body.status, 'processing');
        return answer.body.request_id as string;
      };
      const v3Payment = await submit('/transactions/payments', paymentRequest(), V3);
      const v2Payment = await submit('/transactions/payments', paymentRequest());
      const v3Declined = await submit('/transactions/payments', paymentRequest({ credit_card: card(DECLINED_CARD) }), V3);
      const v3Refusal = await submit('/transactions/refunds', { parent_uid: randomUUID(), amount: 100, reason: 'x' }, V3);
      await gw.app.workers.drain();

      // The status poll is the same in both versions; the result is read with or without the header alike.
      assert.deepEqual((await gw.get(`/async/status/${v3Payment}`)).body.status, 'completed');
      const v3Result = await gw.get(`/async/result/${v3Payment}`);
      assert.equal(v3Result.status, 200, v3Result.text);
      assertV3Of(v3Result.body, (await gw.get(`/transactions/${v3Result.body.uid}`)).body.transaction);
      assert.equal(v3Result.body.status, 'successful');
      const v2Result = await gw.get(`/async/result/${v2Payment}`, V3);
      assert.equal(v2Result.status, 200, v2Result.text);
      assert.equal(v2Result.body.transaction.status, 'successful');
      assert.equal(v2Result.text, (await gw.get(`/async/result/${v2Payment}`)).text);
      const declined = (await gw.get(`/async/result/${v3Declined}`)).body;
      assert.equal(declined.code, 'F.0105');
      assert.equal(declined.status, 'failed');
      const refusal = await gw.get(`/async/result/${v3Refusal}`);
      assert.equal(refusal.status, 422, refusal.text);
      assert.equal(refusal.body.code, 'E.1025');
      assert.deepEqual(refusal.body.errors, { parent_uid: ['Parent transaction is not found'] });

      const query = await gw.get(`/async/transactions/${v3Result.body.uid}`, V3);
      assert.equal(query.status, 200, query.text);
      await gw.app.workers.drain();
      assertV3Of(
        (await gw.get(`/async/result/${query.body.request_id}`)).body,
        (await gw.get(`/transactions/${v3Result.body.uid}`)).body.transaction,
      );
    });
  });
}
