import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { AS_OPERATOR, card, createShop, type Credentials, paymentRequest, startGateway, type TestGateway, testStores } from './support/gateway.js';
import { DECLINED_CARD } from './support/cards.js';

async function setRiskRules(gw: TestGateway, id: number, riskRules: Record<string, unknown>) {
  const answer = await gw.request('PATCH', `/admin/shops/${id}`, { risk_rules: riskRules }, AS_OPERATOR);
  assert.equal(answer.status, 200, answer.text);
}

/** The shop's own stamp of a number (stamps are per shop). */
async function stampOf(gw: TestGateway, number: string, shop: Credentials): Promise<string> {
  const answer = await gw.post('/credit_cards', card(number), { auth: shop });
  assert.equal(answer.status, 200, answer.text);
  return answer.body.stamp;
}

/** Milliseconds from the injected clock's now to the start of the next UTC day, plus a little. */
function untilNextUtcDay(gw: TestGateway): number {
  const now = gw.clock.now();
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime() + 1_000;
}

for (const store of testStores()) {
  describe(`check-ups and risk rules [${store}]`, () => {
    let gw: TestGateway;
    let nextShopId = 7000;
    const newShop = (fields: Record<string, unknown> = {}) => createShop(gw, ++nextShopId, fields);
    before(async () => {
      gw = await startGateway(store);
    });
    after(() => gw.close());

    it('requires tracking_id on a check-up: 422 "Tracking id can\'t be blank.", nothing stored', async () => {
      const before = await gw.count('transactions');
      const answer = await gw.post('/transactions/checkups', paymentRequest({ tracking_id: null }));
      assert.equal(answer.status, 422);
      assert.equal(answer.body.message, "Tracking id can't be blank.");
      assert.deepEqual(answer.body.errors.tracking_id, ["can't be blank"]);
      assert.equal(answer.body.response.message, answer.body.message);
      const empty = await gw.post('/transactions/checkups', paymentRequest({ tracking_id: '' }));
      assert.equal(empty.status, 422);
      assert.equal(empty.body.message, "Tracking id can't be blank.");
      assert.equal(await gw.count('transactions'), before);
    });

    it('passes a check-up with no rules, without calling the acquirer or moving money', async () => {
      const calls = await gw.count('sandbox_operations');
      const ledger = await gw.count('ledger_entries');
      const answer = await gw.post('/transactions/checkups', paymentRequest({ customer: { email: 'a@example.com', ip: '10.0.0.1' } }));
      assert.equal(answer.status, 200, answer.text);
      const tx = answer.body.transaction;
      assert.equal(tx.type, 'checkup');
      assert.equal(tx.status, 'successful');
      assert.equal(tx.be_protected_verification.status, 'successful');
      assert.deepEqual(tx.be_protected_verification.white_black_list, { email: 'absent', ip: 'absent', card_number: 'absent' });
      assert.ok(tx.credit_card.stamp);
      assert.equal(await gw.count('sandbox_operations'), calls);
      assert.equal(await gw.count('ledger_entries'), ledger);
    });

    it('fails a check-up for a black-listed email, IP or card stamp, without calling the acquirer', async () => {
      const shop = await newShop();
      const blackStamp = await stampOf(gw, '5555555555554444', shop);
      await setRiskRules(gw, shop.id, { black_list: { emails: ['Fraud@Example.com'], ips: ['6.6.6.6'], card_stamps: [blackStamp] } });
      const calls = await gw.count('sandbox_operations');
      const cases: [Record<string, unknown>, 'email' | 'ip' | 'card_number'][] = [
        [{ customer: { email: 'fraud@example.com' } }, 'email'],
        [{ customer: { ip: '6.6.6.6', email: 'ok@example.com' } }, 'ip'],
        [{ credit_card: card('5555555555554444') }, 'card_number'],
      ];
      for (const [extra, listed] of cases) {
        const answer = await gw.post('/transactions/checkups', paymentRequest(extra), { auth: shop });
        assert.equal(answer.status, 200, answer.text);
        const tx = answer.body.transaction;
        assert.equal(tx.status, 'failed', listed);
        assert.match(tx.code, /^F\./);
        assert.equal(tx.be_protected_verification.status, 'failed', listed);
        assert.equal(tx.be_protected_verification.white_black_list[listed], 'black', listed);
        assert.ok(tx.message, 'a failure has a message');
      }
      const clean = await gw.post('/transactions/checkups', paymentRequest({ customer: { email: 'ok@example.com', ip: '1.2.3.4' } }), { auth: shop });
      assert.equal(clean.body.transaction.status, 'successful');
      assert.equal(await gw.count('sandbox_operations'), calls);
    });

    it('fails black-listed payments and authorizations without calling the acquirer', async () => {
      const shop = await newShop();
      const blackStamp = await stampOf(gw, DECLINED_CARD, shop);
      await setRiskRules(gw, shop.id, { black_list: { emails: ['fraud@example.com'], ips: ['6.6.6.6'], card_stamps: [blackStamp] } });
      const calls = await gw.count('sandbox_operations');
      const ledger = await gw.count('ledger_entries');
      for (const path of ['/transactions/payments', '/transactions/authorizations']) {
        for (const extra of [{ customer: { email: 'FRAUD@example.com' } }, { customer: { ip: '6.6.6.6' } }, { credit_card: card(DECLINED_CARD) }]) {
          const answer = await gw.post(path, paymentRequest(extra), { auth: shop });
          assert.equal(answer.status, 200, answer.text);
          const tx = answer.body.transaction;
          assert.equal(tx.status, 'failed', `${path} ${JSON.stringify(extra)}`);
          assert.equal(tx.be_protected_verification.status, 'failed');
          assert.ok(Object.values(tx.be_protected_verification.white_black_list).includes('black'));
          assert.equal(tx.paid_at, null);
        }
      }
      assert.equal(await gw.count('sandbox_operations'), calls, 'the acquirer was never asked');
      assert.equal(await gw.count('ledger_entries'), ledger);
    });

    it('applies max_amount to one payment or authorization', async () => {
      const shop = await newShop({ risk_rules: { max_amount: 5000 } });
      const atLimit = (await gw.post('/transactions/payments', paymentRequest({ amount: 5000 }), { auth: shop })).body.transaction;
      assert.equal(atLimit.status, 'successful');
      assert.equal(atLimit.be_protected_verification.limit.max, 5000);
      const calls = await gw.count('sandbox_operations');
      for (const path of ['/transactions/payments', '/transactions/authorizations']) {
        const over = (await gw.post(path, paymentRequest({ amount: 5001 }), { auth: shop })).body.transaction;
        assert.equal(over.status, 'failed', path);
        assert.equal(over.be_protected_verification.status, 'failed');
        assert.equal(over.be_protected_verification.rules.max_amount, 'failed');
      }
      assert.equal(await gw.count('sandbox_operations'), calls);
    });

    it('limits the daily count per card and UTC day, and resets it the next day', async () => {
      const shop = await newShop({ risk_rules: { daily_count: 2 } });
      const pay = (number: string, path = '/transactions/payments') =>
        gw.post(path, paymentRequest({ credit_card: card(number) }), { auth: shop }).then((a) => a.body.transaction);
      assert.equal((await pay('4200000000000000')).status, 'successful');
      const second = await pay('4200000000000000', '/transactions/authorizations');
      assert.equal(second.status, 'successful', 'authorizations count with payments');
      assert.equal(second.be_protected_verification.limit.current_count, 1);
      const third = await pay('4200000000000000');
      assert.equal(third.status, 'failed');
      assert.equal(third.be_protected_verification.rules.daily_count, 'failed');
      assert.equal(third.be_protected_verification.limit.count, 2);
      assert.equal(third.be_protected_verification.limit.current_count, 2);
      // Another card is not affected; a declined payment does not count.
      assert.equal((await pay('5555555555554444')).status, 'successful');
      assert.equal((await pay(DECLINED_CARD)).status, 'failed');
      assert.equal((await pay(DECLINED_CARD)).be_protected_verification.status, 'successful');

      gw.clock.advance(untilNextUtcDay(gw));
      const nextDay = await pay('4200000000000000');
      assert.equal(nextDay.status, 'successful');
      assert.equal(nextDay.be_protected_verification.limit.current_count, 0);
    });

    it('limits the daily volume per card and UTC day, and resets it the next day', async () => {
      const shop = await newShop({ risk_rules: { daily_volume: 5000 } });
      const pay = (amount: number, number = '4200000000000000') =>
        gw.post('/transactions/payments', paymentRequest({ amount, credit_card: card(number) }), { auth: shop }).then((a) => a.body.transaction);
      assert.equal((await pay(3000)).status, 'successful');
      assert.equal((await pay(2000)).status, 'successful', 'exactly at the limit');
      const over = await pay(1);
      assert.equal(over.status, 'failed');
      assert.equal(over.be_protected_verification.rules.daily_volume, 'failed');
      assert.equal(over.be_protected_verification.limit.current_volume, 5000);
      assert.equal((await pay(4000, '5555555555554444')).status, 'successful', 'another card has its own volume');

      gw.clock.advance(untilNextUtcDay(gw));
      assert.equal((await pay(5000)).status, 'successful');
      assert.equal((await pay(2)).status, 'failed');
    });

    it('holds the daily count under concurrency', async () => {
      const shop = await newShop({ risk_rules: { daily_count: 3 } });
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          gw.post('/transactions/payments', paymentRequest({ amount: 100 + i, credit_card: card('9112300000000000') }), { auth: shop }),
        ),
      );
      const statuses = answers.map((a) => a.body.transaction.status);
      assert.equal(statuses.filter((s) => s === 'successful').length, 3, statuses.join(','));
      assert.equal(statuses.filter((s) => s === 'failed').length, 9);
    });

    it('lets a white-listed email bypass the limits, but not a black list', async () => {
      const shop = await newShop();
      const blackStamp = await stampOf(gw, '5555555555554444', shop);
      await setRiskRules(gw, shop.id, {
        max_amount: 100,
        daily_count: 1,
        white_list: { emails: ['vip@example.com'] },
        black_list: { card_stamps: [blackStamp] },
      });
      const vip = { email: 'VIP@example.com' };
      const big = (await gw.post('/transactions/payments', paymentRequest({ amount: 10_000, customer: vip }), { auth: shop })).body.transaction;
      assert.equal(big.status, 'successful');
      assert.equal(big.be_protected_verification.status, 'successful');
      assert.equal(big.be_protected_verification.white_black_list.email, 'white');
      const again = (await gw.post('/transactions/authorizations', paymentRequest({ amount: 10_001, customer: vip }), { auth: shop })).body
        .transaction;
      assert.equal(again.status, 'successful', 'daily count bypassed too');

      const stranger = (await gw.post('/transactions/payments', paymentRequest({ amount: 50, customer: { email: 'x@example.com' } }), { auth: shop }))
        .body.transaction;
      assert.equal(stranger.status, 'failed', 'the same card without the white-listed email is over the daily count');
      const tooBig = (await gw.post('/transactions/payments', paymentRequest({ amount: 101, credit_card: card('9112300000000000') }), { auth: shop }))
        .body.transaction;
      assert.equal(tooBig.status, 'failed');

      const blackCard = (
        await gw.post('/transactions/payments', paymentRequest({ amount: 50, customer: vip, credit_card: card('5555555555554444') }), { auth: shop })
      ).body.transaction;
      assert.equal(blackCard.status, 'failed', 'the black list wins over the white list');
      assert.equal(blackCard.be_protected_verification.white_black_list.card_number, 'black');
    });
  });
}
