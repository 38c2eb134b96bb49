import type { SandboxOperationTable } from './schema.js';
import { type Sql, statement, type Tx } from './sql.js';

/**
 * The sandbox bank's append-only journal (src/acquirers/sandbox.ts): one row per operation reference. It is
 * also the merchant account: a shop's balance in a currency is the signed sum of its approved rows.
 */

/**
 * Kind of the journal entry migration 0012 wrote per (shop, currency) whose account, kept apart before the
 * journal was the balance, held more or less than its journal sums to. It moves the account by its amount.
 */
export const OPENING_KIND = 'opening';

/**
 * Money direction of each kind of journal row on the merchant account: in (1), out (-1), or none (0: a
 * hold, its release, a card check). The sandbox checks at compile time that every operation kind has one.
 */
export const JOURNAL_SIGNS = {
  payment: 1,
  authorization: 0,
  capture: 1,
  void: 0,
  refund: -1,
  payout: -1,
  credit: -1,
  tokenization: 0,
  chargeback: -1,
  [OPENING_KIND]: 1,
} as const;

/**
 * The amount one journal row moves the merchant account by, in SQL (signed by `JOURNAL_SIGNS`; zero for a
 * kind that moves nothing). Summed over a shop's approved rows of a currency it is the account's balance.
 */
export const signedJournalAmount = `case kind ${Object.entries(JOURNAL_SIGNS)
  .filter(([, sign]) => sign !== 0)
  .map(([kind, sign]) => `when '${kind}' then ${sign < 0 ? '-' : ''}amount`)
  .join(' ')} else 0 end`;

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
    row.reference,
    row.shop_id,
    row.kind,
    row.amount,
    row.currency,
    row.approved,
    row.response,
    row.settle_at,
    row.created_at,
  ]);
  return changed === 1;
}

export function findSandboxOperation(db: Sql, reference: string): Promise<SandboxOperationTable | undefined> {
  return db.one<SandboxOperationTable>(byReference, [reference]);
}

/**
 * A sum over the journal, read as text: it may pass 2^53, where a JavaScript number (and the store's bigint
 * parser) rounds. Both stores sum bigints exactly (PostgreSQL as numeric, SQLite as a 64-bit integer).
 * Nothing is locked: operations only append rows, so a concurrent one is in the sum entirely or not at all.
 */
const balanceOf = statement(
  'sandbox_operations.balance',
  `select cast(sum(${signedJournalAmount}) as text) as amount from sandbox_operations where shop_id = $1 and currency = $2 and approved = 1`,
);

/** The shop's merchant account in a currency, in minor units: the signed sum of its approved journal rows. */
export async function sandboxBalance(db: Sql, shopId: number, currency: string): Promise<bigint> {
  const row = await db.one<{ amount: string | null }>(balanceOf, [shopId, currency]);
  return BigInt(row?.amount ?? 0);
}
