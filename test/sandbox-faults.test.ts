import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { readConfig } from '../src/config.js';
import { card, createShop, paymentRequest, startGateway, type TestGateway, testStores } from './support/gateway.js';

/**
 * The sandbox's fault injection (README, shop `acquirer_settings`): `timeout_rate` of operations are
 * decided at the bank but their answer is lost (pending, then settled by inquiry to what the bank
 * decided), `error_rate` are refused with a 5xx and nothing done (failed, F.0500). Which operation faults
 * follows from its reference alone, so an inquiry meets the same fate as the call. And the resolver's
 * back-off between inquiries doubles up to ECOMGATE_INQUIRY_MAX_DELAY_MS and stays there.
 */

const TIMEOUT_RATE = 0.3;
const ERROR_RATE = 0.3;
const PAYMENTS = 40;

/** The documented draw, written out: a stable fraction in [0, 1) per reference. */
const roll = (reference: string) => createHash('sha256').update(`${reference}:fault`).digest().readUInt32BE(0) / 2 ** 32;

const createSandboxShop = (gw: TestGateway, id: number, settings: Record<string, unknown>) => createShop(gw, id, { acquirer_settings: settings });

const rowOf = (gw: TestGateway, uid: string) =>
  gw.app.store.db.selectFrom('transactions').selectAll().where('uid', '=', uid).executeTakeFirstOrThrow();

for (const kind of testStores()) {
  describe(`sandbox fault injection [${kind}]`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(kind, {
        inquiryDelayMs: 1000,
        inquiryMaxDelayMs: readConfig({ ECOMGATE_INQUIRY_MAX_DELAY_MS: '5000' }).inquiryMaxDelayMs,
      });
    });
    after(() => gw.close());

    it('timeout_rate and error_rate: each payment meets the fate its reference draws, and its inquiry the same', async () => {
      const shop = await createSandboxShop(gw, 7401, { timeout_rate: TIMEOUT_RATE, error_rate: ERROR_RATE });
      const fates = { timeout: [] as string[], error: [] as string[], none: [] as string[] };
      let expectedBalance = 0;
      for (let i = 0; i < PAYMENTS; i++) {
        const paid = await gw.post('/transactions/payments', paymentRequest({ amount: 100 + i }), { auth: shop });
        assert.equal(paid.status, 200, paid.text);
        const tx = paid.body.transaction;
        const draw = roll((await rowOf(gw, tx.uid)).acquirer_ref);
        if (draw < TIMEOUT_RATE) {
          fates.timeout.push(tx.uid);
          assert.equal(tx.status, 'pending', 'a lost answer leaves the payment in doubt');
          expectedBalance += tx.amount;
        } else if (draw < TIMEOUT_RATE + ERROR_RATE) {
          fates.error.push(tx.uid);
          assert.equal(tx.status, 'failed');
          assert.equal(tx.code, 'F.0500');
          assert.equal(tx.message, 'Acquirer error');
        } else {
          fates.none.push(tx.uid);
          assert.equal(tx.status, 'successful');
          expectedBalance += tx.amount;
        }
      }
      assert.ok(fates.timeout.length > 0 && fates.error.length > 0 && fates.none.length > 0, JSON.stringify(fates));
      // The bank did nothing for the refused ones, and decided the lost ones when they arrived.
      const atBank = await gw.app.store.db.selectFrom('sandbox_operations').select('reference').where('shop_id', '=', shop.id).execute();
      assert.equal(atBank.length, fates.timeout.length + fates.none.length);

      // Past settle_ms (2000) and the back-off: the inquiries settle every lost answer as the bank decided.
      gw.clock.advance(60_000);
      assert.equal(await gw.app.resolveInDoubt(), fates.timeout.length);
      for (const uid of fates.timeout) {
        const settled = (await gw.get(`/transactions/${uid}`, { auth: shop })).body.transaction;
        assert.equal(settled.status, 'successful', 'the inquiry meets the fate of the call: approved, not refused');
      }
      for (const uid of fates.error) assert.equal((await gw.get(`/transactions/${uid}`, { auth: shop })).body.transaction.status, 'failed');
      const balance = await gw.post('/balance', { currency: 'EUR' }, { auth: shop });
      assert.equal(balance.body.result.amount, expectedBalance);
    });

    it('ECOMGATE_INQUIRY_MAX_DELAY_MS caps the back-off between inquiries', async () => {
      const shop = await createSandboxShop(gw, 7402, { settle_ms: 3_600_000 });
      const paid = await gw.post('/transactions/payments', paymentRequest({ credit_card: card('4000000000000606') }), { auth: shop });
      assert.equal(paid.body.transaction.status, 'pending', paid.text);
      const uid = paid.body.transaction.uid;
      const delays: number[] = [];
      let row = await rowOf(gw, uid);
      delays.push(Date.parse(row.next_inquiry_at!) - gw.clock.now().getTime());
      for (let pass = 0; pass < 5; pass++) {
        gw.clock.advance(Date.parse(row.next_inquiry_at!) - gw.clock.now().getTime());
        assert.equal(await gw.app.resolveInDoubt(), 0, 'the bank is still processing');
        row = await rowOf(gw, uid);
        delays.push(Date.parse(row.next_inquiry_at!) - gw.clock.now().getTime());
      }
      assert.deepEqual(delays, [1000, 2000, 4000, 5000, 5000, 5000]);
      assert.equal(row.status, 'pending');
    });
  });
}
