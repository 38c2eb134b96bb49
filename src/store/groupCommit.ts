import type { CommitUnits } from './commitUnits.js';
import { statement, type Tx } from './sql.js';

/** Writes one batch inside the batch's transaction; answers one result per item, in order. */
export type BatchWrite<Item, Result> = (tx: Tx, items: Item[]) => Promise<Result[]>;

export interface GroupCommitOptions<Result> {
  /** A batch is flushed as soon as it holds this many items. */
  maxBatch?: number;
  /**
   * Batches committing at once. SQLite has one writer (and better-sqlite3 blocks while it syncs): 1.
   * PostgreSQL: a few, so the next batch is written while the previous one waits for its fsync.
   */
  concurrentBatches?: number;
  /**
   * Whether a batch runs inside BEGIN ... COMMIT (default). A batch written by one statement (a
   * multi-row INSERT) is atomic on its own: without them it saves two round trips on PostgreSQL.
   */
  transaction?: boolean;
  /**
   * A batch of one item is written without BEGIN and COMMIT (PostgreSQL): its one statement commits on
   * its own, two round trips fewer. Only for items that are one statement each.
   */
  aloneWithoutTransaction?: boolean;
  /** Called once per committed batch, after the commit (PostgreSQL: one NOTIFY per batch, never inside it). */
  afterCommit?: (results: Result[]) => void;
}

const MAX_BATCH = 128;
const POSTGRES_CONCURRENT_BATCHES = 4;

interface Pending<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit (DESIGN.md, Durability): concurrent requests whose answer must wait for a durable write
 * share one commit, so one fsync serves many of them instead of capping throughput at one fsync per
 * request. Items queue up and are flushed on a later turn of the event loop (`setImmediate`: after every
 * request that arrived in this turn has queued its item), or at once when `maxBatch` are waiting, or when
 * a committing batch frees its slot. Each item's promise settles only after its batch's COMMIT returned,
 * i.e. once the data is on disk (SQLite synchronous=FULL, PostgreSQL synchronous_commit=on).
 *
 * A batch that fails is retried item by item, each in its own transaction, so every item gets its own
 * answer and one bad item never fails or silently drops the others.
 */
export class GroupCommit<Item, Result> {
  private queue: Pending<Item, Result>[] = [];
  private committing = 0;
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly concurrentBatches: number;

  constructor(
    private readonly store: CommitUnits,
    private readonly write: BatchWrite<Item, Result>,
    private readonly options: GroupCommitOptions<Result> = {},
  ) {
    this.maxBatch = options.maxBatch ?? MAX_BATCH;
    this.concurrentBatches = options.concurrentBatches ?? (store.dialect === 'sqlite' ? 1 : POSTGRES_CONCURRENT_BATCHES);
  }

  /** Queues `item`; answers its result once the batch holding it is committed. */
  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.committing < this.concurrentBatches) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.committing++;
      void this.commit(batch).finally(() => {
        this.committing--;
        this.schedule();
      });
    }
  }

  private async commit(batch: Pending<Item, Result>[]): Promise<void> {
    let results: Result[];
    try {
      results = await this.run(batch.map((pending) => pending.item));
    } catch (error) {
      if (batch.length === 1) batch[0]!.reject(error);
      else await this.commitOneByOne(batch);
      return;
    }
    for (const [i, pending] of batch.entries()) pending.resolve(results[i]!);
    this.afterCommit(results);
  }

  private async commitOneByOne(batch: Pending<Item, Result>[]): Promise<void> {
    const committed: Result[] = [];
    for (const pending of batch) {
      try {
        const [result] = await this.run([pending.item]);
        committed.push(result!);
        pending.resolve(result!);
      } catch (error) {
        pending.reject(error);
      }
    }
    if (committed.length > 0) this.afterCommit(committed);
  }

  private run(items: Item[]): Promise<Result[]> {
    // SQLite: a transaction around one statement costs what the statement's own commit costs.
    if (this.store.dialect === 'postgres' && (this.options.transaction === false || (items.length === 1 && this.options.aloneWithoutTransaction))) {
      return this.store.autocommit((tx) => this.write(tx, items));
    }
    return this.store.batch((tx) => this.write(tx, items));
  }

  private afterCommit(results: Result[]): void {
    try {
      this.options.afterCommit?.(results);
    } catch {
      // A wake-up that fails must not undo answers already given; workers poll anyway.
    }
  }
}

type Work = (tx: Tx) => Promise<unknown>;

const savepoint = statement('work.savepoint', 'savepoint work');
const rollbackToSavepoint = statement('work.rollback', 'rollback to work');
const releaseSavepoint = statement('work.release', 'release work');
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Transactions of any shape sharing commits (SQLite): each runs in a savepoint of the batch's
 * transaction, one after the other on the one connection, so a work that fails (a refused payment, a
 * lost race) rolls back only itself and gets its own error, once the batch holding the others is
 * committed. A work must use only `tx` and must not wait on anything but the database.
 */
export function sharedTransactions(store: () => CommitUnits): <T>(work: (tx: Tx) => Promise<T>) => Promise<T> {
  const write: BatchWrite<Work, Outcome> = async (tx, works) => {
    const outcomes: Outcome[] = [];
    for (const work of works) {
      await tx.run(savepoint);
      try {
        outcomes.push({ ok: true, value: await work(tx) });
      } catch (error) {
        await tx.run(rollbackToSavepoint);
        outcomes.push({ ok: false, error });
      }
      await tx.run(releaseSavepoint);
    }
    return outcomes;
  };
  return sharedWorks(store, write, {});
}

/**
 * Single-statement writes sharing commits (PostgreSQL's `store.write`): the works of a batch run side by
 * side in one pipelined transaction, so BEGIN, their statements and COMMIT leave in one write and share one
 * WAL flush, instead of a round trip and a commit each. A work here is one statement, issued when the work
 * is called (what `store.write` promises: a second one would come after COMMIT and be refused); if any
 * fails, PostgreSQL aborts the batch's transaction and GroupCommit retries every work alone, so each gets
 * its own answer. Concurrent batches that lock rows in opposite orders (two children
 * of two parents) can meet in a deadlock: PostgreSQL aborts one, and its works are retried the same way.
 */
export function sharedStatements(store: () => CommitUnits): <T>(work: (tx: Tx) => Promise<T>) => Promise<T> {
  const write: BatchWrite<Work, Outcome> = async (tx, works) => {
    // Each work issues its one statement when called: COMMIT leaves in the same write, one round trip.
    const running = works.map((work) => work(tx));
    tx.commitWithLast();
    const outcomes = await Promise.allSettled(running);
    return outcomes.map((outcome) => (outcome.status === 'fulfilled' ? { ok: true, value: outcome.value } : { ok: false, error: outcome.reason }));
  };
  return sharedWorks(store, write, { aloneWithoutTransaction: true });
}

/** Works submitted to one group commit (made on first use: the store is still being built when this runs), each answered with its own outcome. */
function sharedWorks(
  store: () => CommitUnits,
  write: BatchWrite<Work, Outcome>,
  options: GroupCommitOptions<Outcome>,
): <T>(work: (tx: Tx) => Promise<T>) => Promise<T> {
  let committer: GroupCommit<Work, Outcome> | undefined;
  return async <T>(work: (tx: Tx) => Promise<T>): Promise<T> => {
    committer ??= new GroupCommit(store(), write, options);
    const outcome = await committer.submit(work);
    if (!outcome.ok) throw outcome.error;
    return outcome.value as T;
  };
}
