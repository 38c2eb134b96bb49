import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { AS_OPERATOR, card, DEMO_SHOP, paymentRequest, startGateway, type TestGateway, testStores } from './support/gateway.js';
import { WebhookReceiver } from './support/webhookReceiver.js';

/**
 * Upgrade to per-shop stamps: cards stored while stamps were installation-wide (migration 0008 keeps the
 * old one in `legacy_stamp`) are re-stamped at start, and everything that held the old stamp follows —
 * the card is found again by its number, duplicate checks and risk lists still match it, stored answers
 * and queued webhooks show the new stamp and the truncated digits. No old stamp survives anywhere.
 */

const LONG = '4147253012345675';
const SHORT = '271828182847';
const OTHER_SHOP = { id: 8301, secret: 'secret-of-shop-8301-0123456789' };

for (const store of testStores()) {
  describe(`upgrade to per-shop card stamps [${store}]`, () => {
    let gw: TestGateway;
    let endpoint: WebhookReceiver;
    const legacy = { long: randomBytes(32).toString('hex'), short: randomBytes(32).toString('hex') };
    const before_ = {} as { payment: any; shortPayment: any; token: string };

    before(async () => {
      endpoint = await WebhookReceiver.start();
      const old = await startGateway(store);
      const created = await old.request('POST', '/admin/shops', { id: OTHER_SHOP.id, secret_key: OTHER_SHOP.secret, test: true }, AS_OPERATOR);
      assert.equal(created.status, 201, created.text);
      const paid = await old.post(
        '/transactions/payments',
        paymentRequest({ amount: 4242, credit_card: card(LONG), notification_url: endpoint.url }),
      );
      const shortPaid = await old.post('/transactions/payments', paymentRequest({ credit_card: card(SHORT) }));
      assert.equal(paid.status, 200, paid.text);
      assert.equal(shortPaid.status, 200, shortPaid.text);
      before_.payment = paid.body.transaction;
      before_.shortPayment = shortPaid.body.transaction;
      before_.token = paid.body.transaction.credit_card.token;

      // What an installation of the earlier version holds once migration 0008 ran: each card's one
      // installation-wide stamp (in stamp and legacy_stamp), in its transactions and queued webhooks, 12-digit
      // numbers shown as bin_8 + last_4, and operators' risk lists with stamps pasted from any shop.
      const db = old.app.store.db;
      for (const [number, stamp] of [
        [LONG, legacy.long],
        [SHORT, legacy.short],
      ] as const) {
        const tx = number === LONG ? before_.payment : before_.shortPayment;
        const oldView = { ...tx.credit_card, stamp, bin: number.slice(0, 6), bin_8: number.slice(0, 8) };
        await db
          .updateTable('cards')
          .set({ stamp, legacy_stamp: stamp, bin: oldView.bin, bin_8: oldView.bin_8 })
          .where('token', '=', tx.credit_card.token)
          .execute();
        await db
          .updateTable('transactions')
          .set({ card_stamp: stamp, credit_card: JSON.stringify(oldView) })
          .where('card_token', '=', tx.credit_card.token)
          .execute();
        const deliveries = await db.selectFrom('webhook_deliveries').select(['id', 'payload']).where('transaction_uid', '=', tx.uid).execute();
        for (const d of deliveries) {
          await db
            .updateTable('webhook_deliveries')
            .set({ payload: d.payload.replaceAll(tx.credit_card.stamp, stamp) })
            .where('id', '=', d.id)
            .execute();
        }
      }
      for (const [shop, stamp] of [
        [OTHER_SHOP.id, legacy.long],
        [DEMO_SHOP.id, legacy.short],
      ] as const) {
        const patched = await old.request(
          'PATCH',
          `/admin/shops/${shop}`,
          { risk_rules: { black_list: { card_stamps: [stamp, 'a-stamp-of-no-card'] } } },
          AS_OPERATOR,
        );
        assert.equal(patched.status, 200, patched.text);
      }
      await old.close({ keepDatabase: true });
      gw = await startGateway(store, {}, { reuse: old.database, clock: old.clock });
    });
    after(async () => {
      await gw.close();
      await endpoint.close();
    });

    it('re-stamps at start: the card is found again by its number, its transactions carry the new stamp', async () => {
      assert.ok(
        gw.logs.some((line) => line.includes('now carry their shop') && JSON.parse(line).cards === 2),
        'the upgrade is logged',
      );
      const again = await gw.post('/credit_cards', card(LONG));
      assert.equal(again.status, 200, again.text);
      assert.equal(again.body.token, before_.token, 'the same card, not a second one');
      assert.notEqual(again.body.stamp, legacy.long);
      const queried = await gw.get(`/transactions/${before_.payment.uid}`);
      assert.equal(queried.body.transaction.credit_card.stamp, again.body.stamp);
      const paid = await gw.post('/transactions/payments', paymentRequest({ credit_card: card(LONG) }));
      assert.equal(paid.body.transaction.credit_card.stamp, again.body.stamp);
    });

    it('duplicate checks still match transactions recorded before the upgrade', async () => {
      const repeat = await gw.post('/transactions/payments', paymentRequest({ amount: 4242, credit_card: card(LONG) }));
      assert.equal(repeat.status, 422, repeat.text);
      assert.equal(repeat.body.message, 'Duplicate transaction.');
    });

    it("risk lists hold each shop's own stamp of the listed card, also when the stamp was pasted from another shop", async () => {
      const blocked = await gw.post('/transactions/payments', paymentRequest({ credit_card: card(LONG) }), { auth: OTHER_SHOP });
      assert.equal(blocked.status, 200, blocked.text);
      assert.equal(blocked.body.transaction.status, 'failed');
      assert.equal(blocked.body.transaction.be_protected_verification.white_black_list.card_number, 'black');
      const ownShort = await gw.post('/transactions/payments', paymentRequest({ credit_card: card(SHORT) }));
      assert.equal(ownShort.body.transaction.be_protected_verification.white_black_list.card_number, 'black');
      const shop = await gw.request('GET', `/admin/shops/${OTHER_SHOP.id}`, undefined, AS_OPERATOR);
      assert.deepEqual(shop.body.risk_rules.black_list.card_stamps, [blocked.body.transaction.credit_card.stamp, 'a-stamp-of-no-card']);
      assert.notEqual(blocked.body.transaction.credit_card.stamp, (await gw.post('/credit_cards', card(LONG))).body.stamp, 'per shop');
    });

    it('stored answers and queued webhooks show the new stamp and the truncated digits; no old stamp is left anywhere', async () => {
      const short = (await gw.get(`/transactions/${before_.shortPayment.uid}`)).body.transaction.credit_card;
      assert.deepEqual([short.first_1, short.bin, short.bin_8, short.last_4], ['2', '271', '271', '2847']);
      await gw.app.webhooks.drain();
      const webhook = endpoint.received.find((w) => w.body.transaction.uid === before_.payment.uid);
      assert.ok(webhook, 'the queued webhook was delivered');
      assert.equal(webhook.body.transaction.credit_card.stamp, (await gw.post('/credit_cards', card(LONG))).body.stamp);

      const db = gw.app.store.db;
      assert.equal((await db.selectFrom('cards').select('token').where('legacy_stamp', 'is not', null).execute()).length, 0);
      const stored = JSON.stringify([
        await db.selectFrom('cards').selectAll().execute(),
        await db.selectFrom('transactions').selectAll().execute(),
        await db.selectFrom('shops').selectAll().execute(),
        await db.selectFrom('webhook_deliveries').selectAll().execute(),
      ]);
      assert.ok(!stored.includes(legacy.long) && !stored.includes(legacy.short), 'an installation-wide stamp survived');
      assert.ok(!stored.includes(SHORT.slice(0, 8)), 'a 12-digit number still shown as bin_8 + last_4');
    });
  });
}
