import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { DEMO_SHOP, paymentRequest, startGateway, testStores, type TestGateway } from './support/gateway.js';

/**
 * Upgrade to the journal balance (migration 0012): an installation of the earlier version kept each shop's
 * sandbox account in `sandbox_accounts`, moved beside every approved journal row. After the upgrade the
 * balance is the journal's sum, and every account reports what it held before: an account its journal
 * already sums to is not counted twice, one written apart from any operation keeps its amount (past 2^53
 * too), and the table is gone.
 */

const HELD = { EUR: 2200, GBP: '9007199254740993', USD: 400 } as const;

for (const store of testStores()) {
  describe(`upgrade to the sandbox journal balance [${store}]`, () => {
    let gw: TestGateway;

    before(async () => {
      const old = await startGateway(store);
      for (const [amount, currency] of [
        [1500, 'EUR'],
        [700, 'EUR'],
        [1000, 'USD'],
      ] as const) {
        const paid = await old.post('/transactions/payments', paymentRequest({ amount, currency, duplicate_check: false }));
        assert.equal(paid.body.transaction.status, 'successful', paid.text);
      }

      // What an installation of the earlier version holds: no journal index, the accounts table beside the
      // journal (EUR as its journal sums, GBP written apart from any operation, USD less than its journal),
      // and no record of migration 0012.
      const db = old.app.store.db;
      await db.schema.dropIndex('sandbox_operations_shop_currency').execute();
      await db.schema
        .createTable('sandbox_accounts')
        .addColumn('shop_id', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('sandbox_accounts_pk', ['shop_id', 'currency'])
        .execute();
      for (const [currency, amount] of Object.entries(HELD)) {
        await sql`insert into sandbox_accounts (shop_id, currency, amount) values (${DEMO_SHOP.id}, ${currency}, cast(${String(amount)} as bigint))`.execute(
          db,
        );
      }
      await sql`delete from kysely_migration where name = '0012_sandbox_journal_balance'`.execute(db);
      await old.close({ keepDatabase: true });
      gw = await startGateway(store, {}, { reuse: old.database, clock: old.clock });
    });
    after(() => gw.close());

    it('reports each balance the accounts held, exactly, and drops the accounts table', async () => {
      for (const [currency, amount] of Object.entries(HELD)) {
        const balance = await gw.post('/balance', { currency });
        assert.equal(balance.status, 200, balance.text);
        assert.equal(balance.body.result.amount, amount, `${currency} after the upgrade`);
      }
      await assert.rejects(gw.count('sandbox_accounts'), 'the accounts table is gone');
    });

    it('moves the upgraded balance on with the next payment', async () => {
      const paid = await gw.post('/transactions/payments', paymentRequest({ amount: 100, currency: 'EUR', duplicate_check: false }));
      assert.equal(paid.body.transaction.status, 'successful', paid.text);
      const balance = await gw.post('/balance', { currency: 'EUR' });
      assert.equal(balance.body.result.amount, HELD.EUR + 100);
    });
  });
}
