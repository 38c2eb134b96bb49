import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { sql } from 'kysely';
import {
  AS_OPERATOR,
  card,
  DEMO_3DS_SHOP,
  DEMO_SHOP,
  startGateway,
  testStores,
  type Credentials,
  type HttpAnswer,
  type TestGateway,
} from './support/gateway.js';
import { DECLINED_CARD } from './support/cards.js';

/**
 * Child money operations (capture, void, refund, chargeback) and the money rules of spec §2.4, through
 * real HTTP on each store: limits, exact error wording, order of checks, lean child objects, duplicate
 * check, the balance and the ledger, and the limits under concurrency.
 */

const AMOUNT_TOO_LARGE = /^Amount can't be greater than \d+\.$/;

for (const store of testStores()) {
  describe(`child operations [${store}]`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(store);
    });
    after(() => gw.close());

    /** A successful parent (duplicate_check off so equal amounts never trip it). */
    async function parent(
      kind: 'payments' | 'authorizations',
      amount: number,
      currency = 'EUR',
      extra: Record<string, unknown> = {},
      auth?: Credentials,
    ): Promise<Record<string, any>> {
      const answer = await gw.post(
        `/transactions/${kind}`,
        { amount, currency, description: 'Order', tracking_id: `parent-${amount}`, duplicate_check: false, credit_card: card(), ...extra },
        auth ? { auth } : {},
      );
      assert.equal(answer.status, 200, answer.text);
      return answer.body.transaction;
    }

    const capture = (parentUid: string, amount: number, extra: Record<string, unknown> = {}) =>
      gw.post('/transactions/captures', { parent_uid: parentUid, amount, ...extra });
    const voidOf = (parentUid: string, amount: number, extra: Record<string, unknown> = {}) =>
      gw.post('/transactions/voids', { parent_uid: parentUid, amount, ...extra });
    const refund = (parentUid: string, amount: number, extra: Record<string, unknown> = {}) =>
      gw.post('/transactions/refunds', { parent_uid: parentUid, amount, reason: 'Customer returned the goods', ...extra });
    const chargeback = (parentUid: string, amount: number, extra: Record<string, unknown> = {}) =>
      gw.post('/transactions/chargebacks', { parent_uid: parentUid, amount, reason: 'Fraud dispute', ...extra });

    function successful(answer: HttpAnswer, type: string, amount: number): Record<string, any> {
      assert.equal(answer.status, 200, answer.text);
      const tx = answer.body.transaction;
      assert.equal(tx.type, type);
      assert.equal(tx.status, 'successful', answer.text);
      assert.equal(tx.message, 'Successfully processed');
      assert.equal(tx.amount, amount);
      return tx;
    }

    function tooLarge(answer: HttpAnswer, max: number): void {
      assert.equal(answer.status, 422, answer.text);
      assert.equal(answer.body.message, `Amount can't be greater than ${max}.`);
      assert.deepEqual(answer.body.errors, { amount: [`can't be greater than ${max}`] });
      assert.equal(answer.body.response.message, answer.body.message);
    }

    function cannotBe(answer: HttpAnswer, verb: string): void {
      assert.equal(answer.status, 422, answer.text);
      assert.match(answer.body.message, new RegExp(`transaction can't be ${verb}`));
    }

    function parentNotFound(answer: HttpAnswer): void {
      assert.equal(answer.status, 422, answer.text);
      assert.deepEqual(answer.body.errors, { parent_uid: ['Parent transaction is not found'] });
      assert.match(answer.body.message, /Parent transaction is not found/);
      assert.deepEqual(answer.body.response.errors, answer.body.errors);
    }

    async function moneyState(uid: string): Promise<{ child: number; reserved: number; voided: number }> {
      const row = await gw.app.store.db
        .selectFrom('transactions')
        .select(['child_amount', 'reserved_amount', 'voided'])
        .where('uid', '=', uid)
        .executeTakeFirstOrThrow();
      return { child: Number(row.child_amount), reserved: Number(row.reserved_amount), voided: Number(row.voided) };
    }

    async function balanceOf(currency: string): Promise<Record<string, any>> {
      const answer = await gw.post('/balance', { currency }, { headers: { 'x-api-version': '2' } });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.status, 'successful');
      return answer.body.result;
    }

    async function ledgerSum(shopId: number, currency: string): Promise<number> {
      const row = await gw.app.store.db
        .selectFrom('ledger_entries')
        .select(sql<number>`coalesce(sum(amount), 0)`.as('total'))
        .where('shop_id', '=', shopId)
        .where('currency', '=', currency)
        .executeTakeFirstOrThrow();
      return Number(row.total);
    }

    async function createShop(id: number, test: boolean): Promise<Credentials> {
      const secret = `secret-of-shop-${id}-0123456789`;
      const answer = await gw.request('POST', '/admin/shops', { id, secret_key: secret, test }, AS_OPERATOR);
      assert.equal(answer.status, 201, answer.text);
      assert.equal(answer.body.test, test);
      return { id, secret };
    }

    describe('capture and void of an authorization', () => {
      it('captures partially, several times up to the amount, and refuses what is beyond with the exact wording', async () => {
        const auth = await parent('authorizations', 1000);
        assert.equal(auth.status, 'successful');
        successful(await capture(auth.uid, 250), 'capture', 250);
        successful(await capture(auth.uid, 450), 'capture', 450);
        tooLarge(await capture(auth.uid, 301), 300);
        assert.deepEqual(await moneyState(auth.uid), { child: 700, reserved: 0, voided: 0 });
        successful(await capture(auth.uid, 300), 'capture', 300);
        tooLarge(await capture(auth.uid, 1), 0);
        assert.deepEqual(await moneyState(auth.uid), { child: 1000, reserved: 0, voided: 0 });
        // After a full capture, no void.
        cannotBe(await voidOf(auth.uid, 1000), 'voided');
      });

      it('refuses a capture larger than the authorization at once', async () => {
        const auth = await parent('authorizations', 500);
        tooLarge(await capture(auth.uid, 501), 500);
        assert.deepEqual(await moneyState(auth.uid), { child: 0, reserved: 0, voided: 0 });
      });

      it('voids an authorization while nothing is captured, and then refuses a capture and a second void', async () => {
        const auth = await parent('authorizations', 800);
        tooLarge(await voidOf(auth.uid, 801), 800);
        const voided = successful(await voidOf(auth.uid, 800), 'void', 800);
        assert.equal(voided.parent_uid, auth.uid);
        assert.equal(voided.currency, 'EUR');
        const afterVoid = await capture(auth.uid, 100);
        assert.equal(afterVoid.status, 422, afterVoid.text);
        assert.match(afterVoid.body.message, /transaction can't be captured/);
        cannotBe(await voidOf(auth.uid, 800), 'voided');
        assert.deepEqual(await moneyState(auth.uid), { child: 0, reserved: 0, voided: 1 });
      });

      it('refuses a void once part of the authorization is captured', async () => {
        const auth = await parent('authorizations', 900);
        successful(await capture(auth.uid, 100), 'capture', 100);
        cannotBe(await voidOf(auth.uid, 900), 'voided');
        assert.deepEqual(await moneyState(auth.uid), { child: 100, reserved: 0, voided: 0 });
      });

      it('refuses captures and voids of declined authorizations and of payments', async () => {
        const declined = await parent('authorizations', 700, 'EUR', { credit_card: card(DECLINED_CARD) });
        assert.equal(declined.status, 'failed');
        cannotBe(await capture(declined.uid, 100), 'captured');
        cannotBe(await voidOf(declined.uid, 700), 'voided');
        const payment = await parent('payments', 700);
        const captured = await capture(payment.uid, 100);
        assert.equal(captured.status, 422, captured.text);
        const voided = await voidOf(payment.uid, 700);
        assert.equal(voided.status, 422, voided.text);
        assert.deepEqual(await moneyState(payment.uid), { child: 0, reserved: 0, voided: 0 }, 'the payment is untouched');
      });

      it("gives a capture no card, description or tracking id of its own, and the parent's currency", async () => {
        const auth = await parent('authorizations', 1200, 'USD');
        const answer = await capture(auth.uid, 200, { currency: 'EUR', description: 'ignored', tracking_id: 'ignored' });
        const tx = successful(answer, 'capture', 200);
        assert.equal(tx.currency, 'USD');
        assert.equal(tx.parent_uid, auth.uid);
        assert.equal(tx.uid, tx.id);
        for (const field of ['credit_card', 'description', 'tracking_id']) assert.ok(!(field in tx), `capture carries ${field}`);
        assert.equal(tx.capture.status, 'successful');
        assert.equal(tx.capture.amount, 200);
        assert.equal(tx.capture.currency, 'USD');
        assert.ok(!answer.text.includes('4200000000000000'));
        const found = await gw.get(`/transactions/${tx.uid}`);
        assert.equal(found.status, 200);
        assert.equal(found.body.transaction.parent_uid, auth.uid);
        assert.equal(found.body.transaction.currency, 'USD');
        assert.ok(!('credit_card' in found.body.transaction));
      });
    });

    describe('refunds', () => {
      it('refunds a payment in several parts, never beyond its amount', async () => {
        const payment = await parent('payments', 1000, 'EUR');
        const first = successful(await refund(payment.uid, 250), 'refund', 250);
        assert.equal(first.reason, 'Customer returned the goods');
        assert.equal(first.parent_uid, payment.uid);
        assert.equal(first.currency, 'EUR');
        for (const field of ['credit_card', 'description', 'tracking_id']) assert.ok(!(field in first), `refund carries ${field}`);
        successful(await refund(payment.uid, 450), 'refund', 450);
        tooLarge(await refund(payment.uid, 301), 300);
        // A refund is no parent of anything.
        cannotBe(await refund(first.uid, 10), 'refunded');
        const tooLong = await refund(payment.uid, 10, { reason: 'r'.repeat(256) });
        assert.equal(tooLong.status, 422);
        assert.deepEqual(tooLong.body.errors, { reason: ['is too long (maximum is 255 characters)'] });
        successful(await refund(payment.uid, 300), 'refund', 300);
        tooLarge(await refund(payment.uid, 1), 0);
        assert.deepEqual(await moneyState(payment.uid), { child: 1000, reserved: 0, voided: 0 });
      });

      it('refunds a capture in several parts, never beyond the capture', async () => {
        const auth = await parent('authorizations', 1000, 'GBP');
        const captured = successful(await capture(auth.uid, 600), 'capture', 600);
        const refunded = successful(await refund(captured.uid, 200), 'refund', 200);
        assert.equal(refunded.currency, 'GBP');
        assert.equal(refunded.parent_uid, captured.uid);
        successful(await refund(captured.uid, 350), 'refund', 350);
        tooLarge(await refund(captured.uid, 51), 50);
        successful(await refund(captured.uid, 50), 'refund', 50);
        assert.deepEqual(await moneyState(captured.uid), { child: 600, reserved: 0, voided: 0 });
        // The authorization itself is still capturable for the rest.
        assert.deepEqual(await moneyState(auth.uid), { child: 600, reserved: 0, voided: 0 });
      });

      it('refuses to refund an authorization, a declined payment or an incomplete payment', async () => {
        const auth = await parent('authorizations', 400);
        cannotBe(await refund(auth.uid, 100), 'refunded');
        const declined = await parent('payments', 400, 'EUR', { credit_card: card(DECLINED_CARD) });
        assert.equal(declined.status, 'failed');
        cannotBe(await refund(declined.uid, 100), 'refunded');
        cannotBe(await chargeback(declined.uid, 100), 'charged back');
        const incomplete = await parent('payments', 400, 'EUR', { credit_card: card('4012000000003010') }, DEMO_3DS_SHOP);
        assert.equal(incomplete.status, 'incomplete');
        const answer = await gw.post(
          '/transactions/refunds',
          { parent_uid: incomplete.uid, amount: 100, reason: 'Changed mind' },
          { auth: DEMO_3DS_SHOP },
        );
        cannotBe(answer, 'refunded');
        const incompleteCapture = await gw.post('/transactions/captures', { parent_uid: incomplete.uid, amount: 100 }, { auth: DEMO_3DS_SHOP });
        assert.equal(incompleteCapture.status, 422);
      });

      it('checks the request before the state: no reason and too large an amount answers "Reason can\'t be blank."', async () => {
        const payment = await parent('payments', 300);
        const before = await gw.count('transactions');
        const answer = await gw.post('/transactions/refunds', { parent_uid: payment.uid, amount: 100_000 });
        assert.equal(answer.status, 422);
        assert.equal(answer.body.message, "Reason can't be blank.");
        assert.deepEqual(answer.body.errors, { reason: ["can't be blank"] });
        const unknownParent = await gw.post('/transactions/refunds', { parent_uid: 'nope', amount: 100, reason: '' });
        assert.equal(unknownParent.body.message, "Reason can't be blank.");
        const missing = await gw.post('/transactions/refunds', { reason: 'x' });
        assert.equal(missing.status, 422);
        assert.deepEqual(Object.keys(missing.body.errors).sort(), ['amount', 'parent_uid']);
        for (const amount of [0, -5, 1.5, '100']) {
          const bad = await refund(payment.uid, amount as number);
          assert.equal(bad.status, 422, `amount ${amount}`);
          assert.ok(bad.body.errors.amount, `amount ${amount}`);
        }
        assert.equal(await gw.count('transactions'), before);
      });
    });

    describe('parent_uid', () => {
      it('answers "Parent transaction is not found" for unknown, foreign and malformed parents, storing nothing', async () => {
        const foreign = await parent('payments', 500, 'EUR', {}, DEMO_3DS_SHOP);
        assert.equal(foreign.status, 'successful');
        const foreignAuth = await parent('authorizations', 500, 'EUR', {}, DEMO_3DS_SHOP);
        const before = await gw.count('transactions');
        for (const uid of ['00000000-0000-4000-8000-000000000000', 'not-a-uid', '1234567890qwerty', foreign.uid, "'; drop table transactions; --"]) {
          parentNotFound(await refund(uid, 100));
          parentNotFound(await chargeback(uid, 100));
        }
        for (const uid of ['00000000-0000-4000-8000-000000000000', 'x', foreignAuth.uid]) {
          parentNotFound(await capture(uid, 100));
          parentNotFound(await voidOf(uid, 500));
        }
        // A parent_uid of the wrong JSON type or of any other shape is a parent that is not found.
        for (const uid of [12345, 'f'.repeat(65), ['a'], { uid: foreign.uid }, true]) {
          parentNotFound(await refund(uid as unknown as string, 100));
        }
        assert.equal(await gw.count('transactions'), before);
        assert.deepEqual(await moneyState(foreign.uid), { child: 0, reserved: 0, voided: 0 });
        assert.deepEqual(await moneyState(foreignAuth.uid), { child: 0, reserved: 0, voided: 0 });
      });
    });

    describe('chargebacks', () => {
      it('creates chargebacks for a test shop; refunds and chargebacks together never exceed the parent', async () => {
        const payment = await parent('payments', 1000, 'CHF');
        const cb = successful(await chargeback(payment.uid, 400), 'chargeback', 400);
        assert.equal(cb.parent_uid, payment.uid);
        assert.equal(cb.reason, 'Fraud dispute');
        assert.equal(cb.currency, 'CHF');
        assert.ok(!('credit_card' in cb));
        successful(await refund(payment.uid, 500), 'refund', 500);
        tooLarge(await chargeback(payment.uid, 101), 100);
        tooLarge(await refund(payment.uid, 101), 100);
        successful(await chargeback(payment.uid, 100), 'chargeback', 100);
        tooLarge(await refund(payment.uid, 1), 0);
        assert.deepEqual(await moneyState(payment.uid), { child: 1000, reserved: 0, voided: 0 });
        // A chargeback of a capture, and none of an authorization.
        const auth = await parent('authorizations', 700, 'CHF');
        const captured = successful(await capture(auth.uid, 700), 'capture', 700);
        successful(await chargeback(captured.uid, 700), 'chargeback', 700);
        cannotBe(await chargeback(auth.uid, 100), 'charged back');
        const noReason = await gw.post('/transactions/chargebacks', { parent_uid: payment.uid, amount: 5000 });
        assert.equal(noReason.body.message, "Reason can't be blank.");
      });

      it('refuses a merchant chargeback for a shop not in test mode, while the operator may create one', async () => {
        const live = await createShop(7001, false);
        const payment = await parent('payments', 900, 'EUR', {}, live);
        assert.equal(payment.status, 'successful');
        const before = await gw.count('transactions');
        const refused = await gw.post('/transactions/chargebacks', { parent_uid: payment.uid, amount: 100, reason: 'Dispute' }, { auth: live });
        assert.ok(refused.status >= 400 && refused.status < 500, refused.text);
        assert.equal(typeof refused.body.message, 'string');
        assert.equal(await gw.count('transactions'), before);

        const byOperator = await gw.request(
          'POST',
          `/admin/shops/${live.id}/chargebacks`,
          { request: { parent_uid: payment.uid, amount: 300, reason: 'Dispute' } },
          AS_OPERATOR,
        );
        const cb = successful(byOperator, 'chargeback', 300);
        assert.equal(cb.parent_uid, payment.uid);
        const seen = await gw.get(`/transactions/${cb.uid}`, { auth: live });
        assert.equal(seen.body.transaction.type, 'chargeback');
        // The operator is held to the same limit.
        const beyond = await gw.request(
          'POST',
          `/admin/shops/${live.id}/chargebacks`,
          { request: { parent_uid: payment.uid, amount: 601, reason: 'Dispute' } },
          AS_OPERATOR,
        );
        tooLarge(beyond, 600);
        // The operator names the shop: another shop's payment is not found.
        const demoPayment = await parent('payments', 900, 'EUR');
        parentNotFound(
          await gw.request(
            'POST',
            `/admin/shops/${live.id}/chargebacks`,
            { request: { parent_uid: demoPayment.uid, amount: 100, reason: 'Dispute' } },
            AS_OPERATOR,
          ),
        );
        // Without the operator token, no chargeback.
        const anonymous = await gw.request(
          'POST',
          `/admin/shops/${live.id}/chargebacks`,
          { request: { parent_uid: payment.uid, amount: 100, reason: 'Dispute' } },
          { auth: live },
        );
        assert.equal(anonymous.status, 401);
        assert.deepEqual(await moneyState(payment.uid), { child: 300, reserved: 0, voided: 0 });
      });
    });

    describe('duplicate_check on children', () => {
      it('refuses the same type, parent and amount within 30 s, and accepts it after the window or unchecked', async () => {
        const payment = await parent('payments', 1000, 'SEK');
        successful(await refund(payment.uid, 100), 'refund', 100);
        const duplicate = await refund(payment.uid, 100);
        assert.equal(duplicate.status, 422);
        assert.match(duplicate.body.message, /Duplicate transaction/);
        assert.deepEqual(duplicate.body.errors, { base: ['Duplicate transaction'] });
        // Another amount, another type or duplicate_check false are not duplicates.
        successful(await refund(payment.uid, 101), 'refund', 101);
        successful(await chargeback(payment.uid, 100), 'chargeback', 100);
        successful(await refund(payment.uid, 100, { duplicate_check: false }), 'refund', 100);
        gw.clock.advance(30_001);
        successful(await refund(payment.uid, 100), 'refund', 100);
        assert.deepEqual(await moneyState(payment.uid), { child: 501, reserved: 0, voided: 0 });

        const auth = await parent('authorizations', 1000, 'SEK');
        successful(await capture(auth.uid, 200), 'capture', 200);
        const again = await capture(auth.uid, 200);
        assert.equal(again.status, 422);
        assert.match(again.body.message, /Duplicate transaction/);
        // The same amount on another parent is no duplicate.
        const other = await parent('authorizations', 1000, 'SEK');
        successful(await capture(other.uid, 200), 'capture', 200);
        gw.clock.advance(30_001);
        successful(await capture(auth.uid, 200), 'capture', 200);
        assert.deepEqual(await moneyState(auth.uid), { child: 400, reserved: 0, voided: 0 });
      });
    });

    describe('webhooks of children', () => {
      it("queues a chargeback's webhook with the parent transaction inside, to the parent's notification_url", async () => {
        const url = 'https://merchant.example/hooks';
        const payment = await parent('payments', 1000, 'EUR', { notification_url: url });
        const cb = successful(await chargeback(payment.uid, 200), 'chargeback', 200);
        const delivery = await gw.app.store.db
          .selectFrom('webhook_deliveries')
          .selectAll()
          .where('transaction_uid', '=', cb.uid)
          .executeTakeFirstOrThrow();
        assert.equal(delivery.url, url);
        const payload = JSON.parse(delivery.payload);
        assert.equal(payload.transaction.uid, cb.uid);
        assert.equal(payload.transaction.type, 'chargeback');
        assert.equal(payload.transaction.parent_transaction.uid, payment.uid);
        assert.equal(payload.transaction.parent_transaction.type, 'payment');
        const refunded = successful(await refund(payment.uid, 100, { notification_url: 'https://merchant.example/refunds' }), 'refund', 100);
        const refundDelivery = await gw.app.store.db
          .selectFrom('webhook_deliveries')
          .selectAll()
          .where('transaction_uid', '=', refunded.uid)
          .executeTakeFirstOrThrow();
        assert.equal(refundDelivery.url, 'https://merchant.example/refunds');
        assert.equal(JSON.parse(refundDelivery.payload).transaction.parent_transaction, undefined);
      });
    });

    describe('balance and ledger', () => {
      it('answers the balance in the documented shape', async () => {
        const result = await balanceOf('NOK');
        assert.deepEqual(Object.keys(result).sort(), ['account', 'amount', 'bankInfo', 'currency', 'gatewayId']);
        assert.equal(result.amount, 0);
        assert.equal(result.currency, 'NOK');
        assert.equal(typeof result.account, 'string');
        assert.ok(result.gatewayId !== undefined && result.gatewayId !== null);
        const missing = await gw.post('/balance', {});
        assert.equal(missing.status, 422);
        assert.ok(missing.body.errors.currency);
      });

      it('moves the balance by payments and captures in, refunds and chargebacks out, equal to the ledger', async () => {
        const currency = 'PLN';
        assert.equal((await balanceOf(currency)).amount, 0);
        const payment = await parent('payments', 10_000, currency); // +10000
        await parent('payments', 5_000, currency, { credit_card: card(DECLINED_CARD) }); // declined: 0
        const auth = await parent('authorizations', 8_000, currency); // 0
        assert.equal((await balanceOf(currency)).amount, 10_000);
        const captured = successful(await capture(auth.uid, 3_000), 'capture', 3_000); // +3000
        successful(await capture(auth.uid, 2_000), 'capture', 2_000); // +2000
        const released = await parent('authorizations', 4_000, currency);
        successful(await voidOf(released.uid, 4_000), 'void', 4_000); // 0
        successful(await refund(payment.uid, 1_500), 'refund', 1_500); // -1500
        successful(await refund(captured.uid, 500), 'refund', 500); // -500
        successful(await chargeback(payment.uid, 2_500), 'chargeback', 2_500); // -2500
        tooLarge(await refund(payment.uid, 6_001), 6_000); // refused: 0
        const expected = 10_000 + 3_000 + 2_000 - 1_500 - 500 - 2_500;
        const result = await balanceOf(currency);
        assert.equal(result.amount, expected);
        assert.equal(result.currency, currency);
        assert.equal(await ledgerSum(DEMO_SHOP.id, currency), expected);
        // Each successful money movement has exactly one ledger entry; voids, authorizations and declines none.
        const entries = await gw.app.store.db
          .selectFrom('ledger_entries')
          .select(['amount'])
          .where('shop_id', '=', DEMO_SHOP.id)
          .where('currency', '=', currency)
          .orderBy('id')
          .execute();
        assert.deepEqual(
          entries.map((e) => Number(e.amount)),
          [10_000, 3_000, 2_000, -1_500, -500, -2_500],
        );
      });

      it("keeps every currency's balance equal to the shop's ledger sum", async () => {
        // Money moves here in four currencies (one with three decimals, one with none), whatever ran before.
        const moved = ['EUR', 'JPY', 'KWD', 'CHF'];
        for (const [i, currency] of moved.entries()) {
          const payment = await parent('payments', 2_000 + i, currency);
          successful(await refund(payment.uid, 300 + i), 'refund', 300 + i);
        }
        const rows = await gw.app.store.db.selectFrom('ledger_entries').select('currency').distinct().where('shop_id', '=', DEMO_SHOP.id).execute();
        for (const currency of moved)
          assert.ok(
            rows.some((row) => row.currency === currency),
            currency,
          );
        for (const { currency } of rows) {
          assert.equal((await balanceOf(currency)).amount, await ledgerSum(DEMO_SHOP.id, currency), currency);
        }
      });
    });

    describe('concurrency', () => {
      async function race(requests: (() => Promise<HttpAnswer>)[]): Promise<HttpAnswer[]> {
        return Promise.all(requests.map((send) => send()));
      }

      function tally(answers: HttpAnswer[]): { ok: HttpAnswer[]; refused: HttpAnswer[] } {
        const ok = answers.filter((a) => a.status === 200);
        const refused = answers.filter((a) => a.status !== 200);
        for (const answer of ok) assert.equal(answer.body.transaction.status, 'successful', answer.text);
        return { ok, refused };
      }

      it('50 parallel partial refunds on one payment never exceed it', async () => {
        const currency = 'CZK';
        const payment = await parent('payments', 1000, currency);
        const balanceBefore = (await balanceOf(currency)).amount;
        const answers = await race(Array.from({ length: 50 }, () => () => refund(payment.uid, 30, { duplicate_check: false })));
        const { ok, refused } = tally(answers);
        const sum = ok.reduce((total, a) => total + a.body.transaction.amount, 0);
        assert.ok(sum <= 1000);
        assert.equal(ok.length, Math.floor(1000 / 30));
        assert.equal(refused.length, 50 - ok.length);
        for (const answer of refused) {
          assert.equal(answer.status, 422, answer.text);
          assert.match(answer.body.message, AMOUNT_TOO_LARGE);
        }
        assert.deepEqual(await moneyState(payment.uid), { child: sum, reserved: 0, voided: 0 });
        assert.equal((await balanceOf(currency)).amount, balanceBefore - sum);
        assert.equal(await ledgerSum(DEMO_SHOP.id, currency), balanceBefore - sum);
      });

      it('50 parallel partial captures on one authorization never exceed it', async () => {
        const currency = 'HUF';
        const auth = await parent('authorizations', 1000, currency);
        const answers = await race(Array.from({ length: 50 }, () => () => capture(auth.uid, 45, { duplicate_check: false })));
        const { ok, refused } = tally(answers);
        const sum = ok.reduce((total, a) => total + a.body.transaction.amount, 0);
        assert.ok(sum <= 1000);
        assert.equal(ok.length, Math.floor(1000 / 45));
        for (const answer of refused) {
          assert.equal(answer.status, 422, answer.text);
          assert.match(answer.body.message, AMOUNT_TOO_LARGE);
        }
        assert.deepEqual(await moneyState(auth.uid), { child: sum, reserved: 0, voided: 0 });
        assert.equal((await balanceOf(currency)).amount, sum);
        assert.equal(await ledgerSum(DEMO_SHOP.id, currency), sum);
      });

      it('parallel refunds and chargebacks on one payment together never exceed it', async () => {
        const currency = 'DKK';
        const payment = await parent('payments', 1000, currency);
        const answers = await race(
          Array.from(
            { length: 50 },
            (_, i) => () =>
              i % 2 === 0 ? refund(payment.uid, 30, { duplicate_check: false }) : chargeback(payment.uid, 30, { duplicate_check: false }),
          ),
        );
        const { ok, refused } = tally(answers);
        const sum = ok.reduce((total, a) => total + a.body.transaction.amount, 0);
        assert.equal(ok.length, 33);
        for (const answer of refused) assert.match(answer.body.message, AMOUNT_TOO_LARGE);
        assert.deepEqual(await moneyState(payment.uid), { child: sum, reserved: 0, voided: 0 });
        assert.equal((await balanceOf(currency)).amount, 1000 - sum);
      });

      it('parallel identical refunds with duplicate_check: exactly one is made', async () => {
        const payment = await parent('payments', 1000, 'EUR');
        const answers = await race(Array.from({ length: 10 }, () => () => refund(payment.uid, 70)));
        const { ok, refused } = tally(answers);
        assert.equal(ok.length, 1);
        for (const answer of refused) {
          assert.equal(answer.status, 422, answer.text);
          assert.match(answer.body.message, /Duplicate transaction/);
        }
        assert.deepEqual(await moneyState(payment.uid), { child: 70, reserved: 0, voided: 0 });
      });

      it('a void racing a capture: exactly one wins', async () => {
        const currency = 'RON';
        const auths = await Promise.all(Array.from({ length: 8 }, (_, i) => parent('authorizations', 500 + i, currency)));
        let captures = 0;
        await Promise.all(
          auths.map(async (auth, i) => {
            const requests = [() => voidOf(auth.uid, auth.amount), () => capture(auth.uid, i % 2 === 0 ? auth.amount : 100)];
            if (i % 2 === 1) requests.reverse();
            const answers = await race(requests);
            const winners = answers.filter((a) => a.status === 200 && a.body.transaction.status === 'successful');
            assert.equal(winners.length, 1, answers.map((a) => a.text).join('\n'));
            const loser = answers.find((a) => a !== winners[0])!;
            assert.equal(loser.status, 422, loser.text);
            const winner = winners[0].body.transaction;
            const state = await moneyState(auth.uid);
            if (winner.type === 'void') {
              assert.deepEqual(state, { child: 0, reserved: 0, voided: 1 });
            } else {
              captures += winner.amount;
              assert.equal(winner.type, 'capture');
              assert.deepEqual(state, { child: winner.amount, reserved: 0, voided: 0 });
            }
          }),
        );
        assert.equal((await balanceOf(currency)).amount, captures);
        assert.equal(await ledgerSum(DEMO_SHOP.id, currency), captures);
      });
    });
  });
}
