import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { canStart, withinBudget } from '../budget.js';
import type { BenchOptions } from '../options.js';
import { median } from '../stats.js';

/**
 * PostgreSQL's own speed for a short write transaction with a durable commit and no hot row: pgbench's
 * built-in simple-update (an UPDATE of a random account, a SELECT, an INSERT into history) at scale 10,
 * 10 clients on 2 threads, run as long as the load scenarios, on a scratch database of its own on the
 * benchmark's PostgreSQL server (created, then dropped). The sync payment on PostgreSQL is judged
 * against its rate.
 */
export interface PgbenchFigures {
  /** Transactions per second (pgbench's "tps", without initial connection time), median of the runs. */
  tps: number;
  latencyAvgMs: number;
  runs: { tps: number; latencyAvgMs: number }[];
}

const PGBENCH = '/usr/bin/pgbench';
const SCALE = 10;
const CLIENTS = 10;
const THREADS = 2;

const run = promisify(execFile);

/** The message of a reference that cannot be measured here (the run goes on without it). */
export const pgbenchMissing = `${PGBENCH} not found: the pgbench reference is skipped`;

function connectionArgs(server: URL, database: string): string[] {
  return ['-h', server.hostname, '-p', server.port || '5432', '-U', decodeURIComponent(server.username || 'postgres'), database];
}

function parseRun(output: string): { tps: number; latencyAvgMs: number } {
  const tps = /^tps = ([\d.]+)/m.exec(output);
  const latency = /^latency average = ([\d.]+) ms/m.exec(output);
  if (!tps) throw new Error(`pgbench printed no "tps = " line:\n${output}`);
  return { tps: Number(tps[1]), latencyAvgMs: latency ? Number(latency[1]) : NaN };
}

export async function measurePgbench(options: BenchOptions): Promise<PgbenchFigures> {
  if (!existsSync(PGBENCH)) throw new Error(pgbenchMissing);
  const server = new URL(options.postgresUrl);
  const database = `ecomgate_bench_pgbench_${process.pid}`;
  const admin = new pg.Client({ connectionString: options.postgresUrl });
  await admin.connect();
  const env = { ...process.env, ...(server.password ? { PGPASSWORD: decodeURIComponent(server.password) } : {}) };
  try {
    await admin.query(`create database ${database}`);
    await run(PGBENCH, ['-i', '-q', '-s', String(SCALE), ...connectionArgs(server, database)], { env, timeout: withinBudget(120_000) });
    const bench = (seconds: number) =>
      run(
        PGBENCH,
        ['-b', 'simple-update', '-n', '-c', String(CLIENTS), '-j', String(THREADS), '-T', String(seconds), ...connectionArgs(server, database)],
        {
          env,
          timeout: withinBudget(seconds * 1000 + 60_000),
        },
      );
    // Warm-up, as the load scenarios have (pgbench takes whole seconds).
    await bench(Math.max(1, Math.ceil(options.warmupSec)));
    const runs: PgbenchFigures['runs'] = [];
    for (let i = 0; i < options.runs && (i === 0 || canStart()); i++)
      runs.push(parseRun((await bench(Math.max(1, Math.round(options.durationSec)))).stdout));
    return { tps: median(runs.map((r) => r.tps)), latencyAvgMs: median(runs.map((r) => r.latencyAvgMs)), runs };
  } finally {
    await admin.query(`drop database if exists ${database} with (force)`).catch(() => {});
    await admin.end();
  }
}

export const PGBENCH_SHAPE = `scale ${SCALE}, ${CLIENTS} clients, ${THREADS} threads`;
