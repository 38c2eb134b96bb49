import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { it, until } from './support/deadline.js';
import {
  AuthenticationError,
  ConflictError,
  Gateway,
  GatewayError,
  NotFoundError,
  type PaymentRequest,
  RateLimitError,
  ValidationError,
} from '@ecomgate/client';
import { AS_OPERATOR, BankGate, card, DEMO_SHOP, startGateway, type TestGateway } from './support/gateway.js';
import { DECLINED_CARD } from './support/cards.js';

/**
 * @ecomgate/client against a real gateway (in process, random port, demo shop 361): every operation once,
 * and each error class as the gateway really answers it.
 */

let sequence = 0;
/** A payment request; amounts and tracking ids differ per call so duplicate_check never trips by accident. */
function order(extra: Partial<PaymentRequest> = {}): PaymentRequest {
  sequence++;
  return {
    amount: 2000 + sequence,
    currency: 'EUR',
    description: `Order ${sequence}`,
    tracking_id: `client-${randomUUID()}`,
    credit_card: card(),
    ...extra,
  };
}

const NO_NUMBER = /4200000000000000/;

describe('@ecomgate/client: operations', () => {
  let gw: TestGateway;
  let gateway: Gateway;

  before(async () => {
    gw = await startGateway('sqlite', {}, { asyncWorkers: true });
    gateway = new Gateway({ shopId: DEMO_SHOP.id, secretKey: DEMO_SHOP.secret, baseUrl: gw.url, timeoutMs: 10_000 });
  });
  after(() => gw.close());

  it('payment: resolves with the transaction object, unwrapped', async () => {
    const request = order();
    const payment = await gateway.payment(request);
    assert.equal(payment.type, 'payment');
    assert.equal(payment.status, 'successful');
    assert.equal(payment.message, 'Successfully processed');
    assert.equal(payment.uid, payment.id);
    assert.equal(payment.amount, request.amount);
    assert.equal(payment.currency, 'EUR');
    assert.equal(payment.tracking_id, request.tracking_id);
    assert.equal(payment.credit_card?.last_4, '0000');
    assert.equal(payment.payment?.status, 'successful');
    assert.doesNotMatch(JSON.stringify(payment), NO_NUMBER);
  });

  it('a declined payment is not an error: it resolves with status failed', async () => {
    const payment = await gateway.payment(order({ credit_card: card(DECLINED_CARD) }));
    assert.equal(payment.status, 'failed');
    assert.equal(payment.message, 'Payment was declined');
  });

  it('authorization, capture (partial) and void (of another authorization)', async () => {
    const authorization = await gateway.authorization(order());
    assert.equal(authorization.type, 'authorization');
    assert.equal(authorization.status, 'successful');
    const capture = await gateway.capture({ parent_uid: authorization.uid, amount: 500 });
    assert.equal(capture.type, 'capture');
    assert.equal(capture.status, 'successful');
    assert.equal(capture.parent_uid, authorization.uid);
    assert.equal(capture.amount, 500);
    assert.equal(capture.currency, 'EUR', 'a child takes its currency from the parent');

    const held = await gateway.authorization(order());
    const voided = await gateway.void({ parent_uid: held.uid, amount: held.amount });
    assert.equal(voided.type, 'void');
    assert.equal(voided.status, 'successful');
    assert.equal(voided.parent_uid, held.uid);
  });

  it('refund and chargeback of a payment', async () => {
    const payment = await gateway.payment(order());
    const refund = await gateway.refund({ parent_uid: payment.uid, amount: 300, reason: 'Returned goods' });
    assert.equal(refund.type, 'refund');
    assert.equal(refund.status, 'successful');
    assert.equal(refund.reason, 'Returned goods');
    const chargeback = await gateway.chargeback({ parent_uid: payment.uid, amount: 200, reason: 'Fraud' });
    assert.equal(chargeback.type, 'chargeback');
    assert.equal(chargeback.parent_uid, payment.uid);
    assert.equal(chargeback.reason, 'Fraud');
  });

  it('createCardToken and updateCardToken answer the bare card object; payout and credit push money to cards', async () => {
    const year = new Date().getUTCFullYear() + 3;
    const created = await gateway.createCardToken({ number: '5555555555554444', holder: 'Jane Roe', exp_month: '07', exp_year: year });
    assert.match(created.token, /\S/);
    assert.equal(created.brand, 'master');
    assert.equal(created.last_4, '4444');
    assert.equal(created.holder, 'Jane Roe');
    assert.equal((created as unknown as { transaction?: unknown }).transaction, undefined);
    const updated = await gateway.updateCardToken({ token: created.token, holder: 'Jane Doe', exp_month: 8, exp_year: year + 1 });
    assert.equal(updated.token, created.token);
    assert.equal(updated.holder, 'Jane Doe');
    assert.equal(updated.exp_month, 8);
    assert.equal(updated.exp_year, year + 1);

    const credit = await gateway.credit({
      amount: 700,
      currency: 'EUR',
      description: 'Winnings',
      tracking_id: 'credit-1',
      credit_card: { token: created.token },
    });
    assert.equal(credit.type, 'credit');
    assert.equal(credit.status, 'successful');
    const payout = await gateway.payout({
      amount: 900,
      currency: 'EUR',
      description: 'Payout',
      recipient_credit_card: { number: '4200000000000000', holder: 'John Doe', exp_month: '05', exp_year: year },
      recipient: { first_name: 'John' },
    });
    assert.equal(payout.type, 'payout');
    assert.equal(payout.status, 'successful');
    assert.doesNotMatch(JSON.stringify(payout), NO_NUMBER);
  });

  it('tokenization and checkup', async () => {
    const tokenization = await gateway.tokenization(order());
    assert.equal(tokenization.type, 'tokenization');
    assert.equal(tokenization.status, 'successful');
    assert.match(String(tokenization.credit_card?.token), /\S/);
    const checkup = await gateway.checkup({ ...order(), tracking_id: 'checkup-1' });
    assert.equal(checkup.type, 'checkup');
    assert.equal(checkup.status, 'successful');
  });

  it('transaction(uid), byTrackingId(id) (the v2 list, newest first) and balance(currency)', async () => {
    const trackingId = `shared-${randomUUID()}`;
    const first = await gateway.payment(order({ tracking_id: trackingId }));
    gw.clock.advance(1000); // the test gateway's clock stands still unless moved: make "newest" mean something
    const second = await gateway.payment(order({ tracking_id: trackingId, credit_card: card(DECLINED_CARD) }));
    const found = await gateway.transaction(first.uid);
    assert.equal(found.uid, first.uid);
    assert.equal(found.status, 'successful');
    const list = await gateway.byTrackingId(trackingId);
    assert.ok(Array.isArray(list));
    assert.deepEqual(
      list.map((t) => t.uid),
      [second.uid, first.uid],
    );
    assert.deepEqual(await gateway.byTrackingId(`none-${randomUUID()}`), []);

    const balance = await gateway.balance('EUR');
    assert.equal(balance.currency, 'EUR');
    assert.ok(Number.isInteger(balance.amount) && balance.amount > 0, `balance ${balance.amount}`);
    const before = balance.amount;
    const payment = await gateway.payment(order());
    assert.equal((await gateway.balance({ currency: 'EUR' })).amount, before + payment.amount, 'a payment adds its amount, in minor units');
  });
});

describe('@ecomgate/client: errors', () => {
  let gw: TestGateway;
  let gateway: Gateway;
  const bank = new BankGate();

  before(async () => {
    gw = await startGateway('sqlite', {}, { asyncWorkers: true, sleep: bank.sleep });
    gateway = new Gateway({ shopId: DEMO_SHOP.id, secretKey: DEMO_SHOP.secret, baseUrl: gw.url, timeoutMs: 10_000 });
  });
  after(() => gw.close());

  async function createShop(fields: Record<string, unknown>) {
    const secret = randomUUID();
    const answer = await gw.request('POST', '/admin/shops', { secret_key: secret, ...fields }, AS_OPERATOR);
    assert.equal(answer.status, 201, answer.text);
    return new Gateway({ shopId: fields.id as number, secretKey: secret, baseUrl: gw.url, timeoutMs: 10_000 });
  }

  it('ValidationError (422): the API message and the field errors, nested like the request', async () => {
    const error = await gateway.payment({ ...order(), amount: 0, currency: '' }).catch((e: unknown) => e);
    assert.ok(error instanceof ValidationError);
    assert.ok(error instanceof GatewayError);
    assert.equal(error.statusCode, 422);
    assert.equal(error.message, "Amount must be greater than 0. Currency can't be blank.");
    assert.deepEqual(error.errors, { amount: ['must be greater than 0'], currency: ["can't be blank"] });
    assert.match(String(error.requestId), /^[0-9a-f-]{36}$/);

    const nested = await gateway.payment(order({ credit_card: card('4200000000000001') })).catch((e: unknown) => e);
    assert.ok(nested instanceof ValidationError);
    assert.deepEqual((nested.errors.credit_card as Record<string, unknown>).number, ['is invalid']);

    const payment = await gateway.payment(order());
    const refund = await gateway.refund({ parent_uid: payment.uid, amount: payment.amount + 1 } as never).catch((e: unknown) => e);
    assert.ok(refund instanceof ValidationError);
    assert.equal(refund.message, "Reason can't be blank.");
    const tooMuch = await gateway.refund({ parent_uid: payment.uid, amount: payment.amount + 1, reason: 'x' }).catch((e: unknown) => e);
    assert.ok(tooMuch instanceof ValidationError);
    assert.equal(tooMuch.message, `Amount can't be greater than ${payment.amount}.`);
    const orphan = await gateway.capture({ parent_uid: randomUUID(), amount: 1 }).catch((e: unknown) => e);
    assert.ok(orphan instanceof ValidationError);
    assert.deepEqual(orphan.errors.parent_uid, ['Parent transaction is not found']);
  });

  it('AuthenticationError (401) for a wrong secret key', async () => {
    const stranger = new Gateway({ shopId: DEMO_SHOP.id, secretKey: 'wrong', baseUrl: gw.url, timeoutMs: 10_000 });
    const error = await stranger.payment(order()).catch((e: unknown) => e);
    assert.ok(error instanceof AuthenticationError);
    assert.equal(error.statusCode, 401);
    assert.equal(error.message, 'Invalid shop_id/secret_key.');
  });

  it('NotFoundError (404) for an unknown uid, with the gateway X-Request-Id', async () => {
    const error = await gateway.transaction(randomUUID()).catch((e: unknown) => e);
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.statusCode, 404);
    assert.equal(error.message, 'Record not found');
    assert.deepEqual(error.body, { message: 'Record not found', response: { message: 'Record not found' } });
    assert.match(String(error.requestId), /^[0-9a-f-]{36}$/);
    assert.ok((await gateway.transaction('1234567890qwerty').catch((e: unknown) => e)) instanceof NotFoundError);
  });

  it('ConflictError (409) while a request with the same RequestID runs; afterwards the same key answers the first transaction', async () => {
    const slow = await createShop({ id: 9301, test: true, acquirer_settings: { slow_ms: 800 } });
    const request = order({ credit_card: card('4000000000000309') });
    const requestId = randomUUID();
    // The first request is held at the bank (its key claimed) while the repeat comes in.
    bank.hold();
    const first = slow.payment(request, { requestId });
    await until(
      () => bank.waiting === 1,
      () => 'the first request at the bank',
    );
    const conflict = await slow.payment(request, { requestId }).catch((e: unknown) => e);
    bank.open();
    assert.ok(conflict instanceof ConflictError, String(conflict));
    assert.equal(conflict.statusCode, 409);
    const payment = await first;
    assert.equal(payment.status, 'successful');
    const repeat = await slow.payment(request, { requestId });
    assert.equal(repeat.uid, payment.uid);
    const otherBody = await slow.payment({ ...request, amount: request.amount + 1 }, { requestId }).catch((e: unknown) => e);
    assert.ok(otherBody instanceof ValidationError, 'the same key with another body is refused');
    assert.equal((await slow.byTrackingId(request.tracking_id!)).length, 1);
  });

  it('GatewayError for any other status: a chargeback on a live (non-test) shop is 403', async () => {
    const live = await createShop({ id: 9302, test: false });
    const error = await live.chargeback({ parent_uid: randomUUID(), amount: 100, reason: 'Fraud' }).catch((e: unknown) => e);
    assert.ok(error instanceof GatewayError);
    assert.equal(error.constructor, GatewayError);
    assert.equal(error.statusCode, 403);
    assert.match(error.message, /test mode/);
  });

  it('RateLimitError (429) with retryAfter in seconds when the client has no retries left', async () => {
    const limited = await startGateway('sqlite', { rateLimit: 1 });
    try {
      const impatient = new Gateway({ shopId: DEMO_SHOP.id, secretKey: DEMO_SHOP.secret, baseUrl: limited.url, timeoutMs: 10_000, retries: 0 });
      await impatient.balance('EUR');
      const error = await impatient.balance('EUR').catch((e: unknown) => e);
      assert.ok(error instanceof RateLimitError, String(error));
      assert.equal(error.statusCode, 429);
      assert.equal(error.retryAfter, 1);
    } finally {
      await limited.close();
    }
  });

  it('refuses a misconfigured client at construction', () => {
    assert.throws(() => new Gateway({ shopId: 361, secretKey: '', baseUrl: gw.url }), TypeError);
    assert.throws(() => new Gateway({ shopId: 361, secretKey: 's', baseUrl: 'not a url' }), TypeError);
    assert.throws(() => new Gateway({ shopId: 361, secretKey: 's', baseUrl: gw.url, retries: -1 }), TypeError);
  });
});
