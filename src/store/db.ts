import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { CommitUnits } from './commitUnits.js';
import { sharedStatements, sharedTransactions } from './groupCommit.js';
import { countingPgClient, countStatement, type QueryCounts } from './queryCounts.js';
import {
  type Dialect,
  handled,
  PgPipelinedReads,
  PgPoolStatements,
  PgTransaction,
  type Sql,
  SqliteStatements,
  statement,
  type Tx,
  txOver,
} from './sql.js';
import type { Database } from './schema.js';
import { migrateToLatest } from './migrations.js';
import { isStoreUnavailable } from '../domain/faults.js';

export type { Dialect, Sql, Tx } from './sql.js';

/**
 * The one way to write. A write is a function of src/store that takes a `Tx` and holds its SQL; its
 * caller hands it to
 * - `store.write` when it sends exactly one named statement, issued as the function is called (claims,
 *   leases, completions, the payment path's settle): concurrent ones share one commit;
 * - `store.transaction` when several statements must commit together, or when it writes through Kysely
 *   (`tx.db`, whose query leaves a tick late, after the shared COMMIT of a `write`).
 * On SQLite the two are the same group commit, so a one-statement function may read back there in a second
 * statement what PostgreSQL answers in one (the idempotency claim). Reads are `store.sql`, or a store
 * function given the Store. Nothing outside src/store touches `db`, `batch` or `autocommit`: they are the
 * store's own (migrations, listings, group commit), and so is the NOTIFY that must leave outside any
 * transaction (store/notify.ts).
 */
export interface Store extends CommitUnits {
  /** Kysely, inside src/store only: migrations, listings, the rarer writes (through `tx.db` in a transaction). */
  db: Kysely<Database>;
  /** Named statements outside any transaction: reads, on PostgreSQL on the pool (store/sql.ts). */
  sql: Sql;
  /**
   * A short transaction whose result the caller answers only once it is durable. On SQLite concurrent
   * ones share one commit (group commit: src/store/groupCommit.ts), each in a savepoint of its own; on
   * PostgreSQL each is its own transaction, pipelined on one connection (store/sql.ts PgTransaction: the
   * pool's concurrent commits already share WAL flushes, and batching would hold one payment's row locks
   * for another's).
   */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * One statement, issued when the work is called, answered once durable: on SQLite it shares a group
   * commit as `transaction` does; on PostgreSQL concurrent ones share one pipelined transaction whose
   * COMMIT leaves with them (groupCommit.ts sharedStatements), and one alone is autocommitted.
   */
  write<T>(statement: (tx: Tx) => Promise<T>): Promise<T>;
  /** Where the store lives, for logs (never with a password). */
  location: string;
  /** Statements and round trips sent so far (src/store/queryCounts.ts). */
  queryCounts: QueryCounts;
  close(): Promise<void>;
}

// bigint columns hold minor units well inside 2^53: read them as numbers, not strings.
pg.types.setTypeParser(20, (value) => Number(value));

export interface OpenOptions {
  url: string;
  /** PostgreSQL only: a schema to create and use (tests isolate themselves this way). */
  schema?: string;
  poolSize?: number;
  /**
   * PostgreSQL: run named statements as named prepared statements (default). Off for a pooler in
   * transaction mode that cannot carry prepared statements across server connections (docs/performance.md, PgBouncer).
   */
  namedStatements?: boolean;
}

/**
 * A connection lost while idle (server restart) or while checked out (a network cut mid-query) must not
 * crash the process: pg emits 'error' on the pool or on the client itself, and nobody listens on a
 * checked-out client. The query in flight fails on its own (and is answered 503); the broken client is
 * dropped from the pool when it is released, and the next query connects afresh.
 */
export function quietPoolErrors(pool: pg.Pool): void {
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
}

export function parseStoreUrl(url: string): { dialect: Dialect; target: string } {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { dialect: 'postgres', target: url };
  if (url.startsWith('sqlite:')) return { dialect: 'sqlite', target: url.slice('sqlite:'.length) };
  throw new Error(`ECOMGATE_DATABASE_URL must be postgres://... or sqlite:<path>, got "${url.split(':')[0]}:..."`);
}

/** Prepared SQLite statements kept for reuse (LRU): the named queries are a few hundred distinct texts at most. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every query anew on SQLite; preparing costs more than running a small statement. The
 * same SQL text gets the same prepared statement back (safe: one connection, and Kysely runs one query
 * at a time on it).
 */
function withStatementCache(connection: SqliteDatabase.Database, counts: QueryCounts) {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => connection.close(),
    // Kysely's SQLite driver asks for the statement once per query it runs: the place to count them.
    prepare(text: string) {
      countStatement(counts, text);
      let statement = statements.get(text);
      if (statement) {
        statements.delete(text);
      } else {
        statement = connection.prepare(text);
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
      }
      statements.set(text, statement);
      return statement;
    },
  };
}

// SQLite's batch transaction: IMMEDIATE takes the write lock at BEGIN, so a second process waits there
// (busy_timeout) instead of failing to upgrade a read lock halfway through.
const begin = statement('sqlite.begin', 'begin immediate');
const commit = statement('sqlite.commit', 'commit');
const rollback = statement('sqlite.rollback', 'rollback');

export async function openStore(options: OpenOptions): Promise<Store> {
  const { dialect, target } = parseStoreUrl(options.url);
  const queryCounts: QueryCounts = { statements: 0, roundTrips: 0 };
  if (dialect === 'sqlite') {
    if (target !== ':memory:') mkdirSync(dirname(target), { recursive: true });
    const connection = new SqliteDatabase(target);
    // WAL with synchronous=FULL: a commit returns only once it is on disk (durability rule of DESIGN.md).
    connection.pragma('journal_mode = WAL');
    connection.pragma('synchronous = FULL');
    connection.pragma('busy_timeout = 5000');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(connection, queryCounts) }) });
    const statements = new SqliteStatements(connection, queryCounts);
    // While a batch's transaction is open on the one connection, a read waits for its commit: it would
    // otherwise see rows not yet durable (or about to be rolled back).
    let open: Promise<void> | undefined;
    const whenClosed = <T>(read: () => Promise<T>): Promise<T> => handled(open ? open.then(() => whenClosed(read)) : read());
    const reads: Sql = {
      all: (s, p) => whenClosed(() => statements.all(s, p)),
      one: (s, p) => whenClosed(() => statements.one(s, p)),
      run: (s, p) => whenClosed(() => statements.run(s, p)),
    };
    // Kysely's connection lock is held for the batch, so no Kysely query of anyone else runs inside it.
    const batch = <T>(work: (tx: Tx) => Promise<T>): Promise<T> =>
      db.connection().execute(async (conn) => {
        let closed!: () => void;
        open = new Promise<void>((resolve) => (closed = resolve));
        try {
          statements.runNow(begin);
          try {
            const result = await work(txOver(statements, 'sqlite', conn));
            statements.runNow(commit);
            return result;
          } catch (error) {
            if (connection.inTransaction) statements.runNow(rollback);
            throw error;
          }
        } finally {
          open = undefined;
          closed();
        }
      });
    const shared = sharedTransactions(() => store);
    const store: Store = {
      db,
      sql: reads,
      dialect,
      location: `sqlite:${target}`,
      queryCounts,
      transaction: shared,
      write: shared,
      batch,
      autocommit: batch,
      close: () => db.destroy(),
    };
    return store;
  }

  const pool = new pg.Pool({
    connectionString: target,
    // A transaction's statements go out without waiting for each other's answers (store/sql.ts).
    pipeline: true,
    max: options.poolSize ?? 10,
    // A database that refuses connections fails a request at once (503); one that does not answer at all
    // (a dropped network) fails it after this. The wait for a free pooled connection counts too, so it
    // stays well above any wait under load.
    connectionTimeoutMillis: 30_000,
    Client: countingPgClient(queryCounts),
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  quietPoolErrors(pool);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  if (options.schema) await sql`create schema if not exists ${sql.id(options.schema)}`.execute(db);
  const location = new URL(target);
  location.password = '';
  const named = options.namedStatements ?? true;
  const poolStatements = new PgPoolStatements(pool, named);
  const autocommit = txOver(poolStatements, 'postgres', db);
  const reads = new PgPipelinedReads(pool, queryCounts, named);
  const transaction = async <T>(work: (tx: Tx) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    const tx = new PgTransaction(client, queryCounts, named);
    let broken: Error | undefined;
    try {
      let result: T;
      try {
        result = await work(tx);
      } catch (error) {
        await tx.abort().catch((fault: Error) => (broken = fault));
        throw error;
      }
      await tx.finish();
      return result;
    } catch (error) {
      if (isStoreUnavailable(error)) broken = error as Error;
      throw error;
    } finally {
      // A connection whose transaction could not be ended is not given back to the pool.
      client.release(broken);
    }
  };
  const store: Store = {
    db,
    sql: reads,
    dialect,
    location: location.toString(),
    queryCounts,
    transaction,
    write: sharedStatements(() => store),
    batch: transaction,
    autocommit: (statement) => statement(autocommit),
    close: () => db.destroy(),
  };
  return store;
}

export async function migrate(store: Store): Promise<string[]> {
  return migrateToLatest(store.db, store.dialect);
}
