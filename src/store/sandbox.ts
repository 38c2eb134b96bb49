import type { SandboxOperationTable } from './schema.js';
import { type Sql, statement, type Tx } from './sql.js';

/** The sandbox bank's append-only journal (src/acquirers/sandbox.ts): one row per operation reference. */

const record = statement(
  'sandbox_operations.insert',
  `insert into sandbox_operations (reference, shop_id, kind, amount, currency, approved, response, settle_at, created_at)
   values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
   on conflict (reference) do nothing`,
);
const byReference = statement('sandbox_operations.find', 'select * from sandbox_operations where reference = $1');

/**
 * One autocommitted insert: its unique reference is what makes a repeated call idempotent, and a
 * conflicting insert returns only once the first one's row is committed, so it can be read after.
 * Answers whether this call made the row.
 */
export async function recordSandboxOperation(tx: Tx, row: SandboxOperationTable): Promise<boolean> {
  const changed = await tx.run(record, [
    row.reference, row.shop_id, row.kind, row.amount, row.currency, row.approved, row.response, row.settle_at, row.created_at,
  ]);
  return changed === 1;
}

export function findSandboxOperation(db: Sql, reference: string): Promise<SandboxOperationTable | undefined> {
  return db.one<SandboxOperationTable>(byReference, [reference]);
}
