import type { Dialect, Tx } from './sql.js';

/**
 * The transactions a group commit writes its batches in. The store builds them (store/db.ts) and its
 * group commits use them (store/groupCommit.ts): this type sits apart so neither imports the other.
 */
export interface CommitUnits {
  readonly dialect: Dialect;
  /** One transaction of its own, never shared: the unit group commit writes a batch in. */
  batch<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /** Statements that commit on their own, each (PostgreSQL); on SQLite the same as `batch`. */
  autocommit<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}
