import { randomUUID } from 'node:crypto';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { withStore } from '../gateway.js';
import type { BenchOptions, StoreKind } from '../options.js';
import { percentile } from '../stats.js';
import type { BenchStore } from '../stores.js';

/**
 * The store's own baseline: single-row durable inserts (one commit each) as fast as the store takes
 * them, with the gateway's settings (SQLite WAL synchronous=FULL; PostgreSQL synchronous_commit=on, a
 * pool of 10 with 50 inserts in flight). Also the rows per second at 100 rows per commit, the ceiling a
 * group commit approaches. Rows are the size of an async task (a sealed payment request).
 */
export interface StoreInsertFigures {
  /** Single-row commits per second. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Rows per second at 100 rows per commit. */
  batchedRowsPerSec: number;
}

const PAYLOAD = 'x'.repeat(600);
const IN_FLIGHT = 50;
const BATCH_ROWS = 100;
const TABLE = 'create table bench_rows (id text primary key, payload text not null, created_at text not null)';

export function measureStoreInsert(kind: StoreKind, options: BenchOptions): Promise<StoreInsertFigures> {
  return withStore(kind, options.postgresUrl, (store) => (kind === 'sqlite' ? sqliteInserts(store, options) : postgresInserts(store, options)));
}

async function sqliteInserts(store: BenchStore, options: BenchOptions): Promise<StoreInsertFigures> {
  const db = new SqliteDatabase(store.url.slice('sqlite:'.length));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(TABLE);
    const insert = db.prepare('insert into bench_rows values (?, ?, ?)');
    const row = () => [randomUUID(), PAYLOAD, new Date().toISOString()];
    const latencies: number[] = [];
    const until = performance.now() + options.durationSec * 1000;
    while (performance.now() < until) {
      const started = performance.now();
      insert.run(row()); // autocommit: one fsync per row
      latencies.push(performance.now() - started);
    }
    const batch = db.transaction(() => {
      for (let i = 0; i < BATCH_ROWS; i++) insert.run(row());
    });
    let rows = 0;
    const batchedFrom = performance.now();
    while (performance.now() < batchedFrom + options.durationSec * 1000) {
      batch();
      rows += BATCH_ROWS;
    }
    return figures(latencies, options.durationSec, rows / ((performance.now() - batchedFrom) / 1000));
  } finally {
    db.close();
  }
}

async function postgresInserts(store: BenchStore, options: BenchOptions): Promise<StoreInsertFigures> {
  const pool = new pg.Pool({ connectionString: store.url, max: 10 });
  try {
    await pool.query(TABLE);
    const values = () => [randomUUID(), PAYLOAD, new Date().toISOString()];
    const latencies: number[] = [];
    const until = performance.now() + options.durationSec * 1000;
    const inserter = async () => {
      while (performance.now() < until) {
        const started = performance.now();
        await pool.query('insert into bench_rows values ($1, $2, $3)', values());
        latencies.push(performance.now() - started);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, inserter));
    const rowsSql = Array.from({ length: BATCH_ROWS }, (_, i) => `($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3})`).join(', ');
    let rows = 0;
    const batchedFrom = performance.now();
    const batchedUntil = batchedFrom + options.durationSec * 1000;
    const batcher = async () => {
      while (performance.now() < batchedUntil) {
        await pool.query(`insert into bench_rows values ${rowsSql}`, Array.from({ length: BATCH_ROWS }, values).flat());
        rows += BATCH_ROWS;
      }
    };
    await Promise.all(Array.from({ length: 4 }, batcher));
    return figures(latencies, options.durationSec, rows / ((performance.now() - batchedFrom) / 1000));
  } finally {
    await pool.end();
  }
}

function figures(latencies: number[], seconds: number, batchedRowsPerSec: number): StoreInsertFigures {
  return {
    rps: Math.round(latencies.length / seconds),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    batchedRowsPerSec: Math.round(batchedRowsPerSec),
  };
}
