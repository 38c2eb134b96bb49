import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { AS_OPERATOR, card, createShop, paymentRequest, startGateway, type TestGateway, testStores } from './support/gateway.js';
import { runCli } from './support/processes.js';
import { WebhookReceiver } from './support/webhookReceiver.js';
import { luhnComplete, luhnValid } from './support/cards.js';
import type { HttpAnswer } from './support/http.js';

/**
 * Card data in what a shop is given (security review items 1 and 2). A stamp is a shop's own: a second
 * shop that knows a card's bin_8 and last_4 and tokenizes every number behind them learns nothing it can
 * match against the first shop's answers. Within one shop, the card guard stops such a search before it
 * finds the number, and flags it to the AS_OPERATOR. Short numbers are truncated by their length.
 */

/** Every Luhn-valid 16-digit number with these first 8 and last 4 digits, in ascending order (1,000 of them). */
function numbersBehind(bin8: string, last4: string): string[] {
  const numbers: string[] = [];
  for (let middle = 0; middle < 10_000; middle++) {
    const number = `${bin8}${String(middle).padStart(4, '0')}${last4}`;
    if (luhnValid(number)) numbers.push(number);
  }
  return numbers;
}

/** The victim's card: its hidden digits (7931) sit far into the ascending search. */
const VICTIM = luhnComplete('414725307931286');

/** Runs the calls with at most `width` in flight, answers in order. */
async function inParallel<T, R>(items: T[], width: number, call: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += width) results.push(...(await Promise.all(items.slice(i, i + width).map(call))));
  return results;
}

/** What the truncation rule shows of a number: 8 leading digits from 16 on, below at most 6 and never fewer than 5 hidden. */
function expectedMask(number: string) {
  const prefix = number.length >= 16 ? 8 : number.length - 9;
  return { first_1: number[0], bin: number.slice(0, Math.min(6, prefix)), bin_8: number.slice(0, prefix), last_4: number.slice(-4) };
}

/** One valid number of each length 12 to 19 (digits of e: the sandbox approves them, brand Mastercard). */
const BY_LENGTH = [12, 13, 14, 15, 16, 17, 18, 19].map((length) => luhnComplete('271828182845904523536'.slice(0, length - 1)));

/** Nothing of the number beyond what is shown: not the number, not all but its check digit, not bin_8 and last_4 run together. */
function assertNothingMoreThanShown(text: string, number: string, where: string) {
  assert.ok(!text.includes(number), `${where}: the full number`);
  assert.ok(!text.includes(number.slice(0, -1)), `${where}: the number less its check digit`);
  if (number.length < 16) assert.ok(!text.includes(number.slice(0, 8)), `${where}: 8 leading digits of a ${number.length}-digit number`);
}

for (const store of testStores()) {
  describe(`card stamps per shop [${store}]`, () => {
    let gw: TestGateway;
    before(async () => {
      // The guard off: the stamps alone must keep the shops apart.
      gw = await startGateway(store, { cardGuardMaxNumbers: 0 });
    });
    after(() => gw.close());

    it('a second shop that tokenizes all 1,000 numbers behind a masked card learns nothing matching the first shop', async () => {
      const paid = await gw.post('/transactions/payments', paymentRequest({ credit_card: card(VICTIM) }));
      assert.equal(paid.status, 200, paid.text);
      const shown = paid.body.transaction.credit_card;
      const tokenized = await gw.post('/credit_cards', card(VICTIM));
      const queried = await gw.get(`/transactions/${paid.body.transaction.uid}`);
      const victimGiven = new Set([shown.stamp, shown.token, tokenized.body.stamp, tokenized.body.token, queried.body.transaction.credit_card.stamp]);

      const attacker = await createShop(gw, 8101);
      const candidates = numbersBehind(shown.bin_8, shown.last_4);
      assert.equal(candidates.length, 1000);
      assert.ok(candidates.includes(VICTIM));
      const answers = await inParallel(candidates, 16, (number) => gw.post('/credit_cards', card(number), { auth: attacker }));
      const learned = new Set<string>();
      answers.forEach((answer, i) => {
        assert.equal(answer.status, 200, `${candidates[i]}: ${answer.text}`);
        learned.add(answer.body.stamp);
        learned.add(answer.body.token);
      });
      assert.equal(learned.size, 2000, 'every stamp and token the attacker got is distinct');
      for (const value of victimGiven) assert.ok(!learned.has(value), 'nothing the attacker got matches what the victim shop was given');
      const attackersOwn = answers[candidates.indexOf(VICTIM)]!.body;
      assert.notEqual(attackersOwn.stamp, shown.stamp, "the attacker's stamp of the very number differs from the victim shop's");

      // Paying with it does not help either; within the attacker's shop the stamp is stable.
      const attackerPaid = await gw.post('/transactions/payments', paymentRequest({ credit_card: card(VICTIM) }), { auth: attacker });
      assert.equal(attackerPaid.status, 200, attackerPaid.text);
      assert.equal(attackerPaid.body.transaction.credit_card.stamp, attackersOwn.stamp);
      assert.ok(!victimGiven.has(attackerPaid.body.transaction.credit_card.stamp));
      assert.equal((await gw.post('/credit_cards', card(VICTIM))).body.stamp, shown.stamp, "the victim shop's stamp is stable too");
    });
  });

  describe(`card guard [${store}]`, () => {
    let gw: TestGateway;
    // On PostgreSQL the attacker alternates between two gateway processes on one database.
    let other: TestGateway;
    before(async () => {
      gw = await startGateway(store);
      other = store === 'postgres' ? await startGateway(store, {}, { reuse: gw.database, clock: gw.clock }) : gw;
    });
    after(async () => {
      if (other !== gw) await other.close({ keepDatabase: true });
      await gw.close();
    });

    it('stops a shop searching the numbers behind a masked card before it finds it, stores nothing, flags it to the operator', async () => {
      const shop = await createShop(gw, 8201);
      const gateways = [gw, other];
      const paid = await gw.post('/transactions/payments', paymentRequest({ credit_card: card(VICTIM) }), { auth: shop });
      assert.equal(paid.status, 200, paid.text);
      const shown = paid.body.transaction.credit_card;
      const candidates = numbersBehind(shown.bin_8, shown.last_4).filter((n) => n !== VICTIM);

      // The search, one number at a time, as the review ran it.
      let accepted = 0;
      let found = false;
      let refusal: HttpAnswer | undefined;
      let next = 0;
      for (; next < candidates.length; next++) {
        const answer = await gateways[next % 2]!.post('/credit_cards', card(candidates[next]!), { auth: shop });
        if (answer.status !== 200) {
          refusal = answer;
          break;
        }
        accepted++;
        if (answer.body.stamp === shown.stamp || answer.body.token === shown.token) found = true;
      }
      assert.equal(found, false);
      assert.equal(accepted, 4, "the victim's card and 4 more: 5 different numbers with the same shown digits");
      assert.ok(refusal, 'the search was stopped');
      const message = 'Card number is refused: too many different card numbers with the same first and last digits were used recently.';
      assert.equal(refusal.status, 422, refusal.text);
      assert.deepEqual(refusal.body, {
        message,
        errors: { number: ['is refused: too many different card numbers with the same first and last digits'] },
        response: { message, errors: { number: ['is refused: too many different card numbers with the same first and last digits'] } },
      });
      let refused = 1;

      // Every way in is closed the same way, and nothing is stored or moved.
      const counts = async () => Promise.all(['cards', 'transactions', 'sandbox_operations', 'ledger_entries'].map((t) => gw.count(t)));
      const before = await counts();
      const untried = () => candidates[++next]!;
      for (const [path, body] of [
        ['/transactions/payments', paymentRequest({ credit_card: card(untried()) })],
        ['/transactions/authorizations', paymentRequest({ credit_card: card(untried()) })],
        ['/transactions/tokenizations', paymentRequest({ credit_card: card(untried()) })],
        ['/transactions/payouts', { amount: 100, currency: 'EUR', description: 'Payout', recipient_credit_card: card(untried()) }],
      ] as const) {
        const answer = await gateways[refused % 2]!.post(path, body, { auth: shop });
        assert.equal(answer.status, 422, `${path}: ${answer.text}`);
        assert.match(answer.body.message, /^Card number is refused/);
        refused++;
      }
      const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => gateways[i % 2]!.post('/credit_cards', card(untried()), { auth: shop })));
      assert.deepEqual(
        burst.map((a) => a.status),
        Array(10).fill(422),
        'concurrent requests on both processes are refused too',
      );
      refused += burst.length;
      assert.deepEqual(await counts(), before, 'nothing stored for a refused request, no money moved');

      // The shop's customers with cards it already saw are not affected.
      const customer = await other.post('/transactions/payments', paymentRequest({ credit_card: card(VICTIM) }), { auth: shop });
      assert.equal(customer.body.transaction?.status, 'successful', customer.text);

      // The AS_OPERATOR sees it: an alert, a counter, a log line without card data.
      const alerts = await gw.request('GET', `/admin/alerts?shop_id=${shop.id}`, undefined, AS_OPERATOR);
      assert.equal(alerts.status, 200, alerts.text);
      assert.ok(alerts.body.alerts.length >= 1);
      for (const alert of alerts.body.alerts) assert.deepEqual([alert.shop_id, alert.kind], [shop.id, 'card_enumeration']);
      assert.equal(
        alerts.body.alerts.reduce((sum: number, a: { refused: number }) => sum + a.refused, 0),
        refused,
      );
      const everyShop = await gw.request('GET', '/admin/alerts', undefined, AS_OPERATOR);
      assert.ok(everyShop.body.alerts.some((a: { shop_id: number }) => a.shop_id === shop.id));
      let counted = 0;
      for (const g of new Set(gateways)) {
        const metrics = (await g.get('/metrics', { auth: null })).text;
        const line = new RegExp(`^ecomgate_card_enumeration_refused_total\\{shop="${shop.id}"\\} (\\d+)$`, 'm').exec(metrics);
        counted += Number(line?.[1] ?? 0);
      }
      assert.equal(counted, refused);
      const logs = [...new Set(gateways)].flatMap((g) => g.logs);
      const warnings = logs.filter((line) => line.includes('card guard refused'));
      assert.equal(warnings.length, refused);
      for (const line of warnings) {
        assert.equal(JSON.parse(line).level, 40);
        assert.equal(JSON.parse(line).shop, shop.id);
        assert.ok(!line.includes(shown.bin_8), 'no card digits in the warning');
      }
      for (const line of logs)
        for (const number of [VICTIM, ...candidates.slice(0, next + 1)]) assert.ok(!line.includes(number), 'no card number in any log line');

      // The window ends: a new number is taken again.
      gw.clock.advance(10 * 60_000 + 1_000);
      const later = await gw.post('/credit_cards', card(untried()), { auth: shop });
      assert.equal(later.status, 200, later.text);
    });

    it('a concurrent burst of look-alike numbers on both processes admits exactly 5', async () => {
      const shop = await createShop(gw, 8203);
      const numbers = numbersBehind('41472530', VICTIM.slice(-4)).slice(0, 12);
      const answers = await Promise.all(numbers.map((number, i) => [gw, other][i % 2]!.post('/credit_cards', card(number), { auth: shop })));
      const statuses = answers.map((a) => a.status);
      assert.equal(statuses.filter((s) => s === 200).length, 5, statuses.join(','));
      assert.equal(statuses.filter((s) => s === 422).length, 7, statuses.join(','));
      const kept = await gw.app.store.db.selectFrom('cards').select('token').where('shop_id', '=', shop.id).execute();
      assert.equal(kept.length, 5, 'only the admitted numbers are stored');
    });

    it('different cards of one shop that only share a BIN, or only the last 4, are never refused', async () => {
      const shop = await createShop(gw, 8202);
      const sameBin = Array.from({ length: 8 }, (_, i) => luhnComplete(`41472530${String(1000 + i * 7).padStart(4, '0')}00${i}`));
      const sameLast4 = Array.from({ length: 8 }, (_, i) => luhnComplete(`4147253${i}79312862`.slice(0, 15)));
      for (const number of [...sameBin, ...sameLast4]) {
        const answer = await gw.post('/credit_cards', card(number), { auth: shop });
        assert.equal(answer.status, 200, `${number}: ${answer.text}`);
      }
    });
  });

  describe(`card truncation by length [${store}]`, () => {
    let gw: TestGateway;
    let endpoint: WebhookReceiver;
    before(async () => {
      gw = await startGateway(store);
      endpoint = await WebhookReceiver.start();
    });
    after(async () => {
      await gw.close();
      await endpoint.close();
    });

    for (const number of BY_LENGTH) {
      it(`${number.length} digits: shows ${JSON.stringify(expectedMask(number))} in answers, webhooks and the receipt${store === 'sqlite' ? ' and the CLI' : ''}`, async () => {
        const mask = expectedMask(number);
        const paid = await gw.post('/transactions/payments', paymentRequest({ credit_card: card(number), notification_url: endpoint.url }));
        assert.equal(paid.status, 200, paid.text);
        const tx = paid.body.transaction;
        assert.equal(tx.status, 'successful', paid.text);
        const pick = (c: Record<string, unknown>) => ({ first_1: c.first_1, bin: c.bin, bin_8: c.bin_8, last_4: c.last_4 });
        assert.deepEqual(pick(tx.credit_card), mask);
        assertNothingMoreThanShown(paid.text, number, 'payment answer');

        const queried = await gw.get(`/transactions/${tx.uid}`);
        assert.deepEqual(pick(queried.body.transaction.credit_card), mask);
        const token = await gw.post('/credit_cards', card(number));
        assert.deepEqual({ first_1: token.body.first_1, last_4: token.body.last_4 }, { first_1: mask.first_1, last_4: mask.last_4 });
        const tokenized = await gw.post('/transactions/tokenizations', paymentRequest({ credit_card: card(number) }));
        assert.deepEqual(pick(tokenized.body.transaction.credit_card), mask);

        const received = endpoint.received.length;
        await gw.app.webhooks.drain();
        assert.equal(endpoint.received.length, received + 1);
        const webhook = endpoint.received[received]!;
        assert.deepEqual(pick(webhook.body.transaction.credit_card), mask);
        assertNothingMoreThanShown(webhook.raw.toString(), number, 'webhook');

        const receipt = await gw.request('GET', new URL(tx.receipt_url).pathname + new URL(tx.receipt_url).search, undefined, { auth: null });
        assert.equal(receipt.status, 200);
        assert.ok(receipt.text.includes(`•••• ${mask.last_4}`), receipt.text);
        assertNothingMoreThanShown(receipt.text, number, 'receipt');

        if (store === 'sqlite') {
          const shown = await runCli(['tx', tx.uid], { ECOMGATE_BASE_URL: gw.url, NO_COLOR: '1' });
          assert.equal(shown.code, 0, shown.stderr);
          assert.match(shown.stdout, new RegExp(`card\\s+Mastercard •••• ${mask.last_4}`));
          assertNothingMoreThanShown(shown.stdout + shown.stderr, number, 'CLI');
          const json = await runCli(['tx', tx.uid, '--json'], { ECOMGATE_BASE_URL: gw.url });
          assert.deepEqual(pick(JSON.parse(json.stdout).credit_card), mask);
        }
      });
    }
  });
}
