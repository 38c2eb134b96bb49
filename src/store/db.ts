import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { sharedTransactions } from './groupCommit.js';
import { countingPgClient, countStatement, type QueryCounts } from './queryCounts.js';
import type { Database } from './schema.js';
import { type Dialect, migrateToLatest } from './migrations.js';

export type { Dialect } from './migrations.js';

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /**
   * A short transaction whose result the caller answers only once it is durable. On SQLite concurrent
   * ones share one commit (group commit: src/store/groupCommit.ts), each in a savepoint of its own; on
   * PostgreSQL each is its own transaction (the pool's concurrent commits already share WAL flushes,
   * and batching would hold one payment's row locks for another's).
   */
  transaction<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /**
   * One statement (autocommitted), answered once durable: on SQLite it shares a group commit as
   * `transaction` does; on PostgreSQL it runs on the pool without the round trips of BEGIN and COMMIT.
   */
  write<T>(statement: (db: Kysely<Database>) => Promise<T>): Promise<T>;
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
}

/** Socket errors and PostgreSQL states that mean "the database cannot be reached now", not "the query is wrong". */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
const UNREACHABLE_MESSAGES = [/^Connection terminated/, /timeout exceeded when trying to connect/, /not queryable/, /Client was closed/];

/**
 * True when a store call failed because the database is unreachable or busy (a restart, a cut pool, a
 * locked SQLite file): the request can be retried later, and nothing was committed by it. Such a fault is
 * answered 503, not 500.
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (UNREACHABLE_CODES.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith('08')) return true;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_TIMEOUT') return true;
  }
  return UNREACHABLE_MESSAGES.some((pattern) => pattern.test(error.message));
}

/**
 * The level a background fault is logged at. A store outage is a warning, the level the HTTP side logs
 * its 503s at: one event, one level, so an alert on errors does not fire on every database restart (the
 * work is retried once the database is back). Anything else is an error.
 */
export function faultLevel(error: unknown): 'warn' | 'error' {
  return isStoreUnavailable(error) ? 'warn' : 'error';
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
    const shared = sharedTransactions(() => store);
    const store: Store = { db, dialect, location: `sqlite:${target}`, queryCounts, transaction: shared, write: shared, close: () => db.destroy() };
    return store;
  }

  const pool = new pg.Pool({
    connectionString: target,
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
  return {
    db,
    dialect,
    location: location.toString(),
    queryCounts,
    transaction: (work) => db.transaction().execute(work),
    write: (statement) => statement(db),
    close: () => db.destroy(),
  };
}

export async function migrate(store: Store): Promise<string[]> {
  return migrateToLatest(store.db, store.dialect);
}
