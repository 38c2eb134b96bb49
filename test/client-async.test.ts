import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { it, until } from './support/deadline.js';
import { type AsyncHandle, Gateway, NotFoundError, type PaymentRequest, StillProcessingError, ValidationError } from '@ecomgate/client';
import { AS_OPERATOR, BankGate, card, DEMO_SHOP, startGateway, type TestGateway } from './support/gateway.js';

/** @ecomgate/client's async mode against a real gateway whose task workers run in the background. */

let sequence = 0;
function order(extra: Partial<PaymentRequest> = {}): PaymentRequest {
  sequence++;
  return {
    amount: 3000 + sequence,
    currency: 'EUR',
    description: `Order ${sequence}`,
    tracking_id: `async-${randomUUID()}`,
    credit_card: card(),
    ...extra,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('@ecomgate/client: async mode', () => {
  let gw: TestGateway;
  let gateway: Gateway;
  /** A shop whose bank takes its time on the slow card (4000000000000309). */
  let slow: Gateway;
  /** Holds that bank's answer while a test looks at a task still running. */
  const bank = new BankGate();

  before(async () => {
    gw = await startGateway('sqlite', {}, { asyncWorkers: true, sleep: bank.sleep });
    gateway = new Gateway({ shopId: DEMO_SHOP.id, secretKey: DEMO_SHOP.secret, baseUrl: gw.url, timeoutMs: 10_000 });
    const secret = randomUUID();
    const created = await gw.request(
      'POST',
      '/admin/shops',
      { id: 9401, secret_key: secret, test: true, acquirer_settings: { slow_ms: 1500 } },
      AS_OPERATOR,
    );
    assert.equal(created.status, 201, created.text);
    slow = new Gateway({ shopId: 9401, secretKey: secret, baseUrl: gw.url, timeoutMs: 10_000 });
  });
  after(() => gw.close());

  /** What the gateway itself answers for a request id now (bypassing the handle). */
  const rawResult = (requestId: string) => gw.get(`/async/result/${requestId}`);

  it('payment: the handle carries the request id and URLs; wait() resolves with the transaction, status() says completed', async () => {
    const request = order();
    const handle = await gateway.async.payment(request);
    assert.match(handle.requestId, UUID);
    assert.equal(handle.statusUrl, `${gw.url}/async/status/${handle.requestId}`);
    assert.equal(handle.responseUrl, `${gw.url}/async/result/${handle.requestId}`);
    const payment = await handle.wait({ timeoutMs: 10_000 });
    assert.equal(payment.type, 'payment');
    assert.equal(payment.status, 'successful');
    assert.equal(payment.amount, request.amount);
    assert.deepEqual(await handle.status(), { status: 'completed', request_id: handle.requestId, response_url: handle.responseUrl });
    assert.deepEqual(await handle.result(), payment);
    // A 200 result stays readable at the gateway too, and it is the sync answer: a status query agrees.
    assert.equal((await rawResult(handle.requestId)).status, 200);
    assert.equal((await gateway.transaction(payment.uid)).status, 'successful');
  });

  it('every operation is offered in async mode, and each handle unwraps its own result', async () => {
    const wait = <T>(handle: AsyncHandle<T>) => handle.wait({ timeoutMs: 10_000 });
    const payment = await wait(await gateway.async.payment(order()));
    const authorization = await wait(await gateway.async.authorization(order()));
    const capture = await wait(await gateway.async.capture({ parent_uid: authorization.uid, amount: 100 }));
    assert.equal(capture.type, 'capture');
    assert.equal(capture.parent_uid, authorization.uid);
    const held = await wait(await gateway.async.authorization(order()));
    const voided = await wait(await gateway.async.void({ parent_uid: held.uid, amount: held.amount }));
    assert.equal(voided.type, 'void');
    const refund = await wait(await gateway.async.refund({ parent_uid: payment.uid, amount: 100, reason: 'Returned' }));
    assert.equal(refund.type, 'refund');
    const chargeback = await wait(await gateway.async.chargeback({ parent_uid: payment.uid, amount: 100, reason: 'Fraud' }));
    assert.equal(chargeback.type, 'chargeback');
    const year = new Date().getUTCFullYear() + 2;
    const payout = await wait(
      await gateway.async.payout({
        amount: 500,
        currency: 'EUR',
        description: 'Payout',
        recipient_credit_card: { number: '4200000000000000', holder: 'A B', exp_month: 1, exp_year: year },
      }),
    );
    assert.equal(payout.type, 'payout');
    const token = payment.credit_card!.token;
    const credit = await wait(await gateway.async.credit({ amount: 600, currency: 'EUR', description: 'Credit', credit_card: { token } }));
    assert.equal(credit.type, 'credit');
    const tokenization = await wait(await gateway.async.tokenization(order()));
    assert.equal(tokenization.type, 'tokenization');
    const checkup = await wait(await gateway.async.checkup({ ...order(), tracking_id: 'async-checkup' }));
    assert.equal(checkup.type, 'checkup');
    for (const transaction of [payment, authorization, capture, voided, refund, chargeback, payout, credit, tokenization, checkup]) {
      assert.equal(transaction.status, 'successful', `${transaction.type}: ${transaction.message}`);
    }

    const found = await wait(await gateway.async.transaction(payment.uid));
    assert.equal(found.uid, payment.uid);
    const list = await wait(await gateway.async.byTrackingId(payment.tracking_id!));
    assert.deepEqual(
      list.map((t) => t.uid),
      [payment.uid],
    );
    const balance = await wait(await gateway.async.balance('EUR'));
    assert.equal(balance.currency, 'EUR');
    assert.equal(balance.amount, (await gateway.balance('EUR')).amount);
  });

  it('while the task runs: status() processing, result() StillProcessingError (425), wait() with too short a timeout gives up, a longer one resolves', async () => {
    bank.hold();
    const handle = await slow.async.payment(order({ credit_card: card('4000000000000309') }));
    await until(
      () => bank.waiting === 1,
      () => 'the task at the bank',
    );
    assert.equal((await handle.status()).status, 'processing');
    const early = await handle.result().catch((e: unknown) => e);
    assert.ok(early instanceof StillProcessingError, String(early));
    assert.equal(early.statusCode, 425);
    // The bank is held: only wait()'s own timeout can end this wait.
    const impatient = await handle.wait({ timeoutMs: 300 }).catch((e: unknown) => e);
    assert.ok(impatient instanceof StillProcessingError, String(impatient));
    bank.open();
    const payment = await handle.wait({ timeoutMs: 10_000 });
    assert.equal(payment.status, 'successful');
  });

  it('wait() stops when its signal aborts', async () => {
    bank.hold();
    const handle = await slow.async.payment(order({ credit_card: card('4000000000000309') }));
    await until(
      () => bank.waiting === 1,
      () => 'the task at the bank',
    );
    const controller = new AbortController();
    const waiting = handle.wait({ timeoutMs: 10_000, signal: controller.signal });
    controller.abort(new Error('merchant gave up'));
    await assert.rejects(waiting, /merchant gave up/);
    bank.open();
    assert.equal((await handle.wait({ timeoutMs: 10_000 })).status, 'successful', 'the handle is still usable');
  });

  it('once-only: a stored 422 is thrown once by the gateway; the handle keeps it and throws the same error again', async () => {
    const handle = await gateway.async.capture({ parent_uid: randomUUID(), amount: 100 });
    const error = await handle.wait({ timeoutMs: 10_000 }).catch((e: unknown) => e);
    assert.ok(error instanceof ValidationError, String(error));
    assert.equal(error.statusCode, 422);
    assert.deepEqual(error.errors, { parent_uid: ['Parent transaction is not found'] });
    // The gateway has served it: it no longer knows the request ...
    const gone = await rawResult(handle.requestId);
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.body, { status: 'unknown', request_id: handle.requestId });
    // ... but the handle answers the same thing, as often as asked.
    assert.equal(await handle.result().catch((e: unknown) => e), error);
    assert.equal(await handle.wait().catch((e: unknown) => e), error);
    assert.equal((await handle.status()).status, 'completed');
  });

  it('once-only under concurrency: simultaneous reads on one handle share the one read', async () => {
    const handle = await gateway.async.transaction(randomUUID());
    await until(
      async () => (await handle.status()).status === 'completed',
      () => `task ${handle.requestId} completed`,
    );
    const errors = await Promise.all([handle.result(), handle.result(), handle.wait()].map((p) => p.catch((e: unknown) => e)));
    assert.ok(errors[0] instanceof NotFoundError, String(errors[0]));
    assert.equal(errors[0].message, 'Record not found', "the task's own 404, not an unknown request");
    assert.equal(errors[1], errors[0]);
    assert.equal(errors[2], errors[0]);
  });

  it('an unknown request id: wait() rejects with NotFoundError, status() says unknown', async () => {
    const handle = gateway.async.handle(randomUUID());
    assert.deepEqual(await handle.status(), { status: 'unknown', request_id: handle.requestId });
    const error = await handle.wait({ timeoutMs: 5_000 }).catch((e: unknown) => e);
    assert.ok(error instanceof NotFoundError, String(error));
    assert.match(error.message, /does not know the async request/);
    // Another shop's request id is unknown too.
    const mine = await gateway.async.payment(order());
    const stranger = new Gateway({
      shopId: 362,
      secretKey: '9ad8ad735945919845b9a1996af72d886ab43d3375502256dbf8dd16bca59a4e',
      baseUrl: gw.url,
      timeoutMs: 10_000,
    });
    assert.ok(
      (await stranger.async
        .handle(mine.requestId)
        .result()
        .catch((e: unknown) => e)) instanceof NotFoundError,
    );
  });

  it('handle(requestId) resumes a request submitted elsewhere and unwraps its result by shape', async () => {
    const submitted = await gateway.async.payment(order());
    const resumed = gateway.async.handle(submitted.requestId);
    const payment = (await resumed.wait({ timeoutMs: 10_000 })) as { uid: string; status: string };
    assert.equal(payment.status, 'successful');
    assert.equal((await submitted.result()).uid, payment.uid);
  });

  it('a submit refused up front (no request fields at all) rejects with ValidationError', async () => {
    const error = await gateway.async.payment(null as never).catch((e: unknown) => e);
    assert.ok(error instanceof ValidationError, String(error));
    assert.equal(error.statusCode, 422);
  });
});
