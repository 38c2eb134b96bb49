import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import type { StoreKind } from './options.js';

/** One async task's life as the gateway recorded it (ISO timestamps, millisecond precision). */
export interface TaskTimes {
  createdAt: number;
  startedAt: number | undefined;
  completedAt: number | undefined;
  statusCode: number | null;
}

/** Where the async payments of a run are recorded: read straight from the store, never through the API. */
export interface TaskLog {
  countDone(): Promise<number>;
  taskTimes(): Promise<TaskTimes[]>;
}

/**
 * A fresh, empty store for one gateway process, and a reader of its async_tasks table. Reading the
 * task timestamps straight from the table measures submit→completed without polling the API (polls
 * would load the very gateway being measured).
 */
export interface BenchStore extends TaskLog {
  kind: StoreKind;
  /** ECOMGATE_DATABASE_URL for the gateway. */
  url: string;
  /** ECOMGATE_MASTER_KEY: the vault key the store's card data and shop secrets are sealed with. */
  masterKey: string;
  /** PostgreSQL: the store's schema. */
  schema?: string;
  taskIds(): Promise<string[]>;
  /** Successful payments' uids (refunds and queries by uid act on them). */
  paymentUids(): Promise<string[]>;
  drop(): Promise<void>;
}

interface TaskRow {
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  status_code: number | null;
}

/** The two reads, on a table name qualified as the store needs. */
const queries = (table: string) => ({
  taskTimes: `select created_at, started_at, completed_at, status_code from ${table}`,
  countDone: `select count(*) as done from ${table} where state = 'done'`,
  taskIds: `select id from ${table}`,
});

const paymentUidsQuery = (table: string) => `select uid from ${table} where type = 'payment' and status = 'successful'`;

function toTimes(row: TaskRow): TaskTimes {
  return {
    createdAt: Date.parse(row.created_at),
    startedAt: row.started_at ? Date.parse(row.started_at) : undefined,
    completedAt: row.completed_at ? Date.parse(row.completed_at) : undefined,
    statusCode: row.status_code,
  };
}

let storeSequence = 0;

/**
 * application_name of every PostgreSQL connection the benchmark's servers open: the wait-event sampler
 * (bench/waits.ts) picks their backends out of pg_stat_activity by it, among other people's sessions.
 */
export const BENCH_APPLICATION_NAME = `ecomgate-bench-${process.pid}`;

/** 32 random bytes in base64, as `openssl rand -base64 32` prints them. */
const newMasterKey = () => randomBytes(32).toString('base64');

export async function createStore(kind: StoreKind, postgresUrl: string): Promise<BenchStore> {
  return kind === 'sqlite' ? createSqliteStore() : createPostgresStore(postgresUrl);
}

/** A database file in a temporary folder (never the project's ./data). */
function createSqliteStore(): BenchStore {
  const folder = mkdtempSync(join(tmpdir(), 'ecomgate-bench-'));
  const file = join(folder, 'gateway.db');
  let reader: SqliteDatabase.Database | undefined;
  // Opened on first use: the gateway creates the file and its tables when it starts.
  const open = () => (reader ??= new SqliteDatabase(file, { readonly: true, fileMustExist: true }));
  const sql = queries('async_tasks');
  return {
    kind: 'sqlite',
    url: `sqlite:${file}`,
    masterKey: newMasterKey(),
    countDone: async () => (open().prepare(sql.countDone).get() as { done: number }).done,
    taskIds: async () => (open().prepare(sql.taskIds).all() as { id: string }[]).map((row) => row.id),
    taskTimes: async () => (open().prepare(sql.taskTimes).all() as TaskRow[]).map(toTimes),
    paymentUids: async () => (open().prepare(paymentUidsQuery('transactions')).all() as { uid: string }[]).map((row) => row.uid),
    drop: async () => {
      reader?.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/**
 * A schema of its own in the shared test database: the gateway is pointed at it through libpq's
 * `options=-c search_path=...` in the URL (pg honours it), and it is dropped afterwards.
 */
async function createPostgresStore(serverUrl: string): Promise<BenchStore> {
  const schema = `bench_${process.pid}_${Date.now().toString(36)}_${storeSequence++}`;
  const url = new URL(serverUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  url.searchParams.set('application_name', BENCH_APPLICATION_NAME);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  await client.query(`create schema ${schema}`);
  const sql = queries(`${schema}.async_tasks`);
  return {
    kind: 'postgres',
    url: url.toString(),
    schema,
    masterKey: newMasterKey(),
    countDone: async () => Number((await client.query<{ done: string }>(sql.countDone)).rows[0]!.done),
    taskIds: async () => (await client.query<{ id: string }>(sql.taskIds)).rows.map((row) => row.id),
    taskTimes: async () => (await client.query<TaskRow>(sql.taskTimes)).rows.map(toTimes),
    paymentUids: async () => (await client.query<{ uid: string }>(paymentUidsQuery(`${schema}.transactions`))).rows.map((row) => row.uid),
    drop: async () => {
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    },
  };
}
