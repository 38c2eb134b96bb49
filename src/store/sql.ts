import type SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { type QueryCounts, sendUncounted, TRANSACTION_CONTROL } from './queryCounts.js';
import type { Database } from './schema.js';

/**
 * Named statements: the SQL the payment path runs, written out, prepared once and run by name.
 *
 * A statement is defined once at module load (`statement(name, text)`), with `$1 … $n` placeholders and a
 * text per dialect only where SQLite and PostgreSQL differ. SQLite prepares it on first use and keeps the
 * prepared statement for the life of the connection (better-sqlite3); PostgreSQL gets it as a named
 * prepared statement (parsed once per connection, then only bound and executed), or as an unnamed one
 * when named statements are turned off for a pooler that cannot carry them (docs/performance.md, PgBouncer).
 * Nothing is built or compiled per request.
 */
export interface Statement {
  readonly name: string;
  readonly postgres: string;
  readonly sqlite: string;
  /** The parameter behind each of SQLite's `?` placeholders, in order (`$2 … $1` → [1, 0]). */
  readonly sqliteOrder: readonly number[];
  /** Transaction control (BEGIN, COMMIT, savepoints): not counted as a statement. */
  readonly control: boolean;
}

/** The two stores: the embedded one and the scale path (DESIGN.md, Storage). */
export type Dialect = 'sqlite' | 'postgres';

const names = new Set<string>();

const ignore = () => {};

/**
 * A work may issue statements it no longer waits for once an earlier answer refused the request: their
 * failures are the work's to report (it has already failed), never an unhandled rejection.
 */
export function handled<T>(answer: Promise<T>): Promise<T> {
  answer.catch(ignore);
  return answer;
}

export function statement(name: string, text: string | { postgres: string; sqlite: string }): Statement {
  if (names.has(name)) throw new Error(`statement ${name} is defined twice`);
  names.add(name);
  const postgres = typeof text === 'string' ? text : text.postgres;
  const sqliteText = typeof text === 'string' ? text : text.sqlite;
  const sqliteOrder: number[] = [];
  const sqlite = sqliteText.replace(/\$(\d+)/g, (_, n: string) => {
    sqliteOrder.push(Number(n) - 1);
    return '?';
  });
  return { name, postgres: postgres.trim(), sqlite: sqlite.trim(), sqliteOrder, control: TRANSACTION_CONTROL.test(postgres) };
}

/** Runs named statements. On PostgreSQL inside a transaction each is sent at once, without waiting for the ones before (see PgTransaction). */
export interface Sql {
  /** The rows a statement answers (a select, or a write with `returning`). */
  all<Row>(statement: Statement, params?: readonly unknown[]): Promise<Row[]>;
  /** The first row a statement answers, if any. */
  one<Row>(statement: Statement, params?: readonly unknown[]): Promise<Row | undefined>;
  /** A write without `returning`: the number of rows it changed. */
  run(statement: Statement, params?: readonly unknown[]): Promise<number>;
}

/**
 * A unit of work handed to `store.transaction` and `store.write` (which one: the comment on Store,
 * store/db.ts). Its statements commit together; `db` reaches the same connection and transaction through
 * Kysely, for the queries not written as named statements (rare writes, only in `store.transaction`).
 */
export interface Tx extends Sql {
  readonly dialect: Dialect;
  readonly db: Kysely<Database>;
  /**
   * PostgreSQL: sends COMMIT right behind the statements already sent, so it travels in their round trip
   * (the transaction still settles only once COMMIT is answered, and fails if any statement did). Nothing
   * may be sent after it and the work must not fail after it. SQLite: nothing (its group commit commits).
   */
  commitWithLast(): void;
}

// ---------------------------------------------------------------------------------------------- SQLite

/** better-sqlite3 statements of one connection, prepared on first use. */
export class SqliteStatements implements Sql {
  private readonly prepared = new Map<Statement, SqliteDatabase.Statement>();

  constructor(
    private readonly connection: SqliteDatabase.Database,
    private readonly counts: QueryCounts,
  ) {}

  private bind(statement: Statement, params: readonly unknown[]): { prepared: SqliteDatabase.Statement; values: unknown[] } {
    let prepared = this.prepared.get(statement);
    if (!prepared) {
      prepared = this.connection.prepare(statement.sqlite);
      this.prepared.set(statement, prepared);
    }
    if (!statement.control) this.counts.statements++;
    return { prepared, values: statement.sqliteOrder.map((i) => params[i]) };
  }

  allNow<Row>(statement: Statement, params: readonly unknown[] = []): Row[] {
    const { prepared, values } = this.bind(statement, params);
    return prepared.all(...values) as Row[];
  }

  runNow(statement: Statement, params: readonly unknown[] = []): number {
    const { prepared, values } = this.bind(statement, params);
    return prepared.run(...values).changes;
  }

  all<Row>(statement: Statement, params?: readonly unknown[]): Promise<Row[]> {
    try {
      return Promise.resolve(this.allNow<Row>(statement, params));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async one<Row>(statement: Statement, params?: readonly unknown[]): Promise<Row | undefined> {
    return (await this.all<Row>(statement, params))[0];
  }

  run(statement: Statement, params?: readonly unknown[]): Promise<number> {
    try {
      return Promise.resolve(this.runNow(statement, params));
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/**
 * A Tx whose commit is not its own to send: a work of SQLite's group commit (its statements run on the one
 * connection, inside the batch's transaction), or PostgreSQL statements that each commit on their own.
 */
export function txOver(statements: Sql, dialect: Dialect, db: Kysely<Database>): Tx {
  return {
    dialect,
    db,
    all: (s, p) => handled(statements.all(s, p)),
    one: (s, p) => handled(statements.one(s, p)),
    run: (s, p) => handled(statements.run(s, p)),
    commitWithLast() {},
  };
}

// ---------------------------------------------------------------------------------------------- PostgreSQL

type PgQueryable = Pick<pg.ClientBase, 'query'>;

function pgQuery(statement: Statement, params: readonly unknown[], named: boolean): pg.QueryConfig {
  return named
    ? { name: statement.name, text: statement.postgres, values: params as unknown[] }
    : { text: statement.postgres, values: params as unknown[] };
}

/** Statements autocommitted on the pool (reads, single-statement writes): one round trip each. */
export class PgPoolStatements implements Sql {
  constructor(
    private readonly pool: PgQueryable,
    private readonly named: boolean,
  ) {}

  async all<Row>(statement: Statement, params: readonly unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(pgQuery(statement, params, this.named))).rows as Row[];
  }

  async one<Row>(statement: Statement, params?: readonly unknown[]): Promise<Row | undefined> {
    return (await this.all<Row>(statement, params))[0];
  }

  async run(statement: Statement, params: readonly unknown[] = []): Promise<number> {
    return (await this.pool.query(pgQuery(statement, params, this.named))).rowCount ?? 0;
  }
}

type PgSend = (query: string | pg.QueryConfig, values?: unknown[]) => Promise<pg.QueryResult>;

/** The client's own `query`, bypassing the counting client's count: pipelined sends count themselves (one round trip per write). */
function uncountedQuery(client: pg.PoolClient): PgSend {
  const own = (client as unknown as Record<symbol, typeof client.query | undefined>)[sendUncounted] ?? client.query;
  return own.bind(client) as PgSend;
}

/** The client's socket, corked while a tick's statements are issued so they leave in one write. */
function socketOf(client: pg.PoolClient): { cork(): void; uncork(): void } {
  return (client as unknown as { connection: { stream: { cork(): void; uncork(): void } } }).connection.stream;
}

interface QueuedRead {
  query: pg.QueryConfig;
  resolve: (result: pg.QueryResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Reads outside any transaction (PostgreSQL): those issued in one turn of the event loop leave together
 * on one pooled connection, pipelined in one write, instead of a connection and a round trip each (the
 * shop check of every request, the status polls, a page's lookup). Each is its own statement; none waits
 * for a commit. Writes do not come here: `store.write` shares commits instead (groupCommit.ts).
 */
export class PgPipelinedReads implements Sql {
  private queue: QueuedRead[] = [];

  constructor(
    private readonly pool: pg.Pool,
    private readonly counts: QueryCounts,
    private readonly named: boolean,
  ) {}

  private send(query: pg.QueryConfig): Promise<pg.QueryResult> {
    return new Promise((resolve, reject) => {
      if (this.queue.push({ query, resolve, reject }) === 1) process.nextTick(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const reads = this.queue;
    this.queue = [];
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      for (const read of reads) read.reject(error);
      return;
    }
    const own = uncountedQuery(client);
    const stream = socketOf(client);
    this.counts.roundTrips++;
    stream.cork();
    const answers = reads.map((read) => {
      this.counts.statements++;
      const answer = own(read.query);
      answer.then(read.resolve, read.reject);
      return answer;
    });
    stream.uncork();
    const outcomes = await Promise.allSettled(answers);
    const broken = outcomes.find((outcome) => outcome.status === 'rejected' && isConnectionFault(outcome.reason));
    client.release(broken ? (broken as PromiseRejectedResult).reason : undefined);
  }

  all<Row>(statement: Statement, params: readonly unknown[] = []): Promise<Row[]> {
    return handled(this.send(pgQuery(statement, params, this.named)).then((result) => result.rows as Row[]));
  }

  one<Row>(statement: Statement, params?: readonly unknown[]): Promise<Row | undefined> {
    return handled(this.all<Row>(statement, params).then((rows) => rows[0]));
  }

  run(statement: Statement, params: readonly unknown[] = []): Promise<number> {
    return handled(this.send(pgQuery(statement, params, this.named)).then((result) => result.rowCount ?? 0));
  }
}

/** A failure of the connection itself (not of one statement): the client is not given back to the pool. */
function isConnectionFault(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return !(typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('08') && !code.startsWith('57'));
}

/**
 * A PostgreSQL transaction on one pooled connection in pg's pipeline mode: a statement is written to the
 * server when it is issued, not when the one before it has been answered, and everything issued in one
 * turn of the event loop leaves in one write (the socket is corked until the next tick). BEGIN goes out
 * with the first statement and COMMIT, with `commitWithLast`, with the last: a transaction whose
 * statements do not depend on each other's answers costs one round trip, and one whose second half
 * depends on its first half's reads costs two. The backend is never left idle in the transaction while
 * the gateway computes, because the gateway computes before it begins.
 *
 * When a statement fails, PostgreSQL fails every later one of the transaction and answers COMMIT with
 * ROLLBACK; `finish` reports the first failure.
 */
export class PgTransaction implements Tx {
  readonly dialect = 'postgres' as const;
  private begun = false;
  private corked = false;
  private readonly sent: Promise<pg.QueryResult>[] = [];
  private commit: Promise<pg.QueryResult> | undefined;
  private kysely: Kysely<Database> | undefined;

  private readonly query: PgSend;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly counts: QueryCounts,
    private readonly named: boolean,
  ) {
    this.query = uncountedQuery(client);
  }

  private send(query: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult> {
    if (this.commit) return Promise.reject(new Error('a statement was issued after COMMIT was sent'));
    if (!this.corked) {
      // Everything issued until the next tick leaves in one write: one round trip.
      const stream = socketOf(this.client);
      this.corked = true;
      this.counts.roundTrips++;
      stream.cork();
      process.nextTick(() => {
        this.corked = false;
        stream.uncork();
      });
    }
    if (!this.begun) {
      this.begun = true;
      this.track(this.query('begin'));
    }
    const result = this.query(query, values);
    return this.track(result);
  }

  private track(result: Promise<pg.QueryResult>): Promise<pg.QueryResult> {
    // Answers arrive in order; a later statement's failure is reported by `finish`, never left unhandled.
    result.catch(ignore);
    this.sent.push(result);
    return result;
  }

  // The answers are handled here too: a work that stops at an earlier failure leaves no rejection unhandled.
  all<Row>(statement: Statement, params: readonly unknown[] = []): Promise<Row[]> {
    this.counts.statements++;
    return handled(this.send(pgQuery(statement, params, this.named)).then((result) => result.rows as Row[]));
  }

  one<Row>(statement: Statement, params?: readonly unknown[]): Promise<Row | undefined> {
    return handled(this.all<Row>(statement, params).then((rows) => rows[0]));
  }

  run(statement: Statement, params: readonly unknown[] = []): Promise<number> {
    this.counts.statements++;
    return handled(this.send(pgQuery(statement, params, this.named)).then((result) => result.rowCount ?? 0));
  }

  /** Kysely on this transaction (queries sent one at a time; BEGIN and COMMIT stay ours). */
  get db(): Kysely<Database> {
    this.kysely ??= new Kysely<Database>({
      dialect: new PostgresDialect({
        pool: {
          connect: async () => ({
            query: (text: string, values: unknown[]) => {
              this.counts.statements++;
              return this.send(text, values);
            },
            release: ignore,
          }),
          end: async () => {},
        } as never,
      }),
    });
    return this.kysely;
  }

  commitWithLast(): void {
    if (!this.begun || this.commit) return;
    this.commit = this.send('commit');
  }

  /** After the work returned: commits (unless the work already sent COMMIT) and reports the first failure. */
  async finish(): Promise<void> {
    if (!this.begun) return;
    this.commit ??= this.send('commit');
    const commit = this.commit;
    const failure = await this.firstFailure();
    if (failure !== undefined) throw failure;
    // COMMIT of a transaction in which a statement failed is answered ROLLBACK, not an error.
    const answer = await commit;
    if (answer.command !== 'COMMIT') throw new Error(`the transaction was rolled back (${answer.command})`);
  }

  /** After the work failed: rolls back, unless COMMIT already went out (a work must not fail after it). */
  async abort(): Promise<void> {
    if (!this.begun) return;
    if (!this.commit) {
      this.counts.roundTrips++;
      await this.query('rollback');
    }
    await Promise.allSettled(this.sent);
  }

  private async firstFailure(): Promise<unknown> {
    for (const outcome of await Promise.allSettled(this.sent)) if (outcome.status === 'rejected') return outcome.reason;
    return undefined;
  }
}
