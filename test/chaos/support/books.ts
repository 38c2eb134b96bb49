import assert from 'node:assert/strict';
import { bankAccountsQuery } from '../../support/bank.js';
import type { ScratchDatabase } from '../../support/processes.js';

const SIGN: Record<string, number> = { payment: 1, capture: 1, refund: -1, payout: -1, credit: -1, chargeback: -1 };

export interface BookFigures {
  transactions: number;
  successful: number;
  failed: number;
  /** Transactions whose outcome was unknown after the acquirer call and was settled by an inquiry. */
  settledByInquiry: number;
  ledger: Record<string, number>;
}

/**
 * The checks that hold after any chaos, read straight from the database once the gateways are stopped:
 * nothing left in doubt, every operation the bank approved recorded by exactly one successful transaction
 * (and nothing successful the bank does not know), money limits kept, and each shop's ledger equal to its
 * account at the bank.
 */
export async function auditBooks(db: ScratchDatabase, shopIds: number[]): Promise<BookFigures> {
  const figures: BookFigures = { transactions: 0, successful: 0, failed: 0, settledByInquiry: 0, ledger: {} };
  for (const shopId of shopIds) {
    const rows = await db.rows(
      'select uid, type, status, amount, currency, parent_uid, acquirer_ref, message, inquiry_attempts, reserved_amount from transactions where shop_id = ?',
      shopId,
    );
    figures.transactions += rows.length;
    const open = rows.filter((row) => row.status === 'pending' || row.status === 'processing');
    assert.deepEqual(open, [], `shop ${shopId}: nothing may stay in doubt`);
    assert.equal(new Set(rows.map((row) => row.uid)).size, rows.length, `shop ${shopId}: a transaction uid appears twice`);
    assert.equal(new Set(rows.map((row) => row.acquirer_ref)).size, rows.length, `shop ${shopId}: two transactions share an acquirer reference`);
    for (const row of rows) assert.equal(Number(row.reserved_amount), 0, `transaction ${row.uid} still reserves money`);

    const successful = rows.filter((row) => row.status === 'successful');
    figures.successful += successful.length;
    figures.failed += rows.filter((row) => row.status === 'failed').length;
    figures.settledByInquiry += rows.filter((row) => Number(row.inquiry_attempts) > 0).length;

    // The bank against us: one successful transaction per approved operation, and the other way round.
    const operations = await db.rows('select reference, kind, amount, approved from sandbox_operations where shop_id = ?', shopId);
    const byRef = new Map(rows.map((row) => [row.acquirer_ref as string, row]));
    for (const operation of operations) {
      const row = byRef.get(operation.reference);
      assert.ok(row, `shop ${shopId}: the bank holds operation ${operation.reference} (${operation.kind}) of no transaction`);
      assert.equal(row.type, operation.kind, `transaction ${row.uid}`);
      assert.equal(Number(row.amount), Number(operation.amount), `transaction ${row.uid}`);
      const expected = Number(operation.approved) === 1 ? 'successful' : 'failed';
      assert.equal(row.status, expected, `transaction ${row.uid} (${row.type}) says ${row.status}, the bank ${expected}`);
    }
    const approvedRefs = new Set(operations.filter((op) => Number(op.approved) === 1).map((op) => op.reference as string));
    for (const row of successful) {
      if (row.type === 'checkup') continue; // risk rules only: never sent to the bank
      assert.ok(approvedRefs.has(row.acquirer_ref), `successful ${row.type} ${row.uid} is unknown to the bank`);
    }

    // Money limits: captures within the authorization, refunds within what was paid.
    const childrenOf = new Map<string, typeof rows>();
    for (const row of successful.filter((r) => r.parent_uid)) {
      childrenOf.set(row.parent_uid, [...(childrenOf.get(row.parent_uid) ?? []), row]);
    }
    for (const [parentUid, children] of childrenOf) {
      const parent = rows.find((row) => row.uid === parentUid);
      assert.ok(parent, `parent ${parentUid} of another shop`);
      for (const type of ['capture', 'refund']) {
        const total = children.filter((child) => child.type === type).reduce((sum, child) => sum + Number(child.amount), 0);
        assert.ok(total <= Number(parent.amount), `${type}s of ${parentUid} total ${total} > ${parent.amount}`);
      }
    }

    // Ledger: one entry per successful money movement, and its sum is the bank's account.
    const ledger = await db.rows('select transaction_uid, currency, amount from ledger_entries where shop_id = ?', shopId);
    const entries = new Map(ledger.map((entry) => [entry.transaction_uid as string, entry]));
    assert.equal(entries.size, ledger.length, `shop ${shopId}: a transaction has two ledger entries`);
    for (const row of successful) {
      const sign = SIGN[row.type] ?? 0;
      const entry = entries.get(row.uid);
      if (sign === 0) {
        assert.equal(entry, undefined, `${row.type} ${row.uid} moved no money but has a ledger entry`);
        continue;
      }
      assert.ok(entry, `successful ${row.type} ${row.uid} has no ledger entry`);
      assert.equal(Number(entry.amount), sign * Number(row.amount));
    }
    assert.equal(
      ledger.length,
      successful.filter((row) => (SIGN[row.type] ?? 0) !== 0).length,
      `shop ${shopId}: ledger entries of no successful transaction`,
    );
    const accounts = await db.rows(bankAccountsQuery, shopId);
    const currencies = new Set([...ledger.map((entry) => entry.currency as string), ...accounts.map((account) => account.currency as string)]);
    for (const currency of currencies) {
      const sum = ledger.filter((entry) => entry.currency === currency).reduce((total, entry) => total + Number(entry.amount), 0);
      const account = Number(accounts.find((a) => a.currency === currency)?.amount ?? 0);
      assert.equal(sum, account, `shop ${shopId} ${currency}: ledger ${sum} ≠ bank account ${account}`);
      figures.ledger[`${shopId} ${currency}`] = sum;
    }
  }
  return figures;
}

/**
 * Card data after the chaos: no full card number in any column of any table (task rows, webhook bodies
 * and idempotency records included) nor in any log line of any process, killed ones included.
 */
export async function findCardNumbers(db: ScratchDatabase, logLines: string[], pattern: RegExp): Promise<string[]> {
  const found: string[] = [];
  const tables = await db.rows(
    "select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'",
  );
  for (const { name } of tables) {
    for (const row of await db.rows(`select * from "${name}"`)) {
      const match = pattern.exec(JSON.stringify(row));
      if (match) found.push(`${name}: ${match[0]}`);
    }
  }
  for (const line of logLines) {
    const match = pattern.exec(line);
    if (match) found.push(`log: ${match[0]}`);
  }
  return found;
}
