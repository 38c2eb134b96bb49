import pg from 'pg';
import { canStart } from '../budget.js';
import { type ServerProcess, spawnServer, startServer } from '../child.js';
import { withStore } from '../gateway.js';
import { sendCount } from '../load.js';
import type { BenchOptions } from '../options.js';
import { DEMO_SHOP } from '../../test/support/shops.js';
import { medianOf } from '../stats.js';
import type { BenchStore, TaskLog, TaskTimes } from '../stores.js';
import { paymentTraffic } from '../traffic.js';
import { completionRun, type CompletionScenario } from './completion.js';
import { drain, type DrainFigures, type DrainScenario, drainTimeoutMs, PRELOAD_CONNECTIONS } from './drain.js';
import { measuredRun, type ThroughputScenario } from './throughput.js';

/**
 * The async-mode reference: the graphile-worker peer (bench/peer/graphile-server.ts) on the same
 * PostgreSQL, measured exactly like ecomgate's async payments: the submit rate at 50 connections with
 * its workers stopped (as the workers-idle scenario), submit→completed live (as ours), and the drain of
 * payments accepted while no worker ran (as the 0 ms drain). Each run gets a schema of its own for the
 * peer's tables and another for graphile-worker's, both dropped afterwards.
 */
export interface PeerFigures {
  submit?: ThroughputScenario;
  completion?: CompletionScenario;
  drain?: DrainScenario;
}

const PEER_SCRIPT = 'dist/bench/peer/graphile-server.js';

const TABLES = [
  'create table peer_payments (job_id bigint primary key, amount bigint not null, currency text not null, card_last4 text not null, created_at timestamptz not null, started_at timestamptz not null)',
  'create table peer_results (job_id bigint primary key, status_code integer not null, completed_at timestamptz not null)',
];

interface PeerStore {
  store: BenchStore;
  workerSchema: string;
  log: TaskLog;
}

interface TimesRow {
  created_ms: number;
  started_ms: number | null;
  completed_ms: number | null;
  status_code: number | null;
}

/** The peer's payment and result rows, and the jobs not started yet, as the gateway's async_tasks reads. */
function peerLog(client: pg.Client, schema: string, workerSchema: string): TaskLog {
  const epochMs = (column: string) => `extract(epoch from ${column}) * 1000`;
  const times =
    `select ${epochMs('p.created_at')}::float8 as created_ms, ${epochMs('p.started_at')}::float8 as started_ms, ${epochMs('r.completed_at')}::float8 as completed_ms, r.status_code ` +
    `from ${schema}.peer_payments p left join ${schema}.peer_results r using (job_id) ` +
    `union all select ${epochMs('j.created_at')}::float8, null, null, null from ${workerSchema}.jobs j where j.id not in (select job_id from ${schema}.peer_payments)`;
  return {
    countDone: async () => Number((await client.query<{ done: string }>(`select count(*) as done from ${schema}.peer_results`)).rows[0]!.done),
    taskTimes: async () =>
      (await client.query<TimesRow>(times)).rows.map(
        (row): TaskTimes => ({
          createdAt: row.created_ms,
          startedAt: row.started_ms ?? undefined,
          completedAt: row.completed_ms ?? undefined,
          statusCode: row.status_code,
        }),
      ),
  };
}

async function withPeerStore<T>(options: BenchOptions, work: (peer: PeerStore) => Promise<T>): Promise<T> {
  return withStore('postgres', options.postgresUrl, async (store) => {
    const client = new pg.Client({ connectionString: store.url });
    await client.connect();
    const workerSchema = `${store.schema}_worker`;
    try {
      for (const statement of TABLES) await client.query(statement);
      return await work({ store, workerSchema, log: peerLog(client, store.schema!, workerSchema) });
    } finally {
      await client.query(`drop schema if exists ${workerSchema} cascade`).catch(() => {});
      await client.end();
    }
  });
}

/** graphile-worker reads DATABASE_URL and GRAPHILE_* itself: none of the caller's leaks in. */
function peerEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'DATABASE_URL' && !name.startsWith('GRAPHILE_')));
}

const peerArgs = (peer: PeerStore, workers: boolean) => [peer.store.url, peer.workerSchema, workers ? 'workers' : 'no-workers'];

async function withPeer<T>(peer: PeerStore, workers: boolean, work: (server: ServerProcess) => Promise<T>): Promise<T> {
  const server = await startServer('graphile-worker peer', PEER_SCRIPT, peerArgs(peer, workers), peerEnvironment());
  try {
    return await work(server);
  } finally {
    await server.stop();
  }
}

/** Repeats `run` on a fresh peer store while the budget allows (the first run always). */
async function repeat<T>(count: number, options: BenchOptions, run: (peer: PeerStore) => Promise<T>): Promise<T[]> {
  const runs: T[] = [];
  for (let i = 0; i < count && (i === 0 || canStart()); i++) runs.push(await withPeerStore(options, run));
  return runs;
}

async function drainRun(peer: PeerStore, options: BenchOptions): Promise<DrainFigures> {
  const count = options.completionCount;
  const accepted = await withPeer(peer, false, (server) =>
    sendCount(server, paymentTraffic(DEMO_SHOP, 'async', options.cards), PRELOAD_CONNECTIONS, count, 120),
  );
  if (accepted.answered === 0) throw new Error(`the peer accepted no payment: ${JSON.stringify(accepted.statusCodes)}`);
  const spawn = () => spawnServer('graphile-worker peer', PEER_SCRIPT, peerArgs(peer, true), peerEnvironment());
  return drain(peer.log, spawn, accepted.answered, accepted.failures, drainTimeoutMs(count, 0));
}

export async function measureGraphilePeer(options: BenchOptions): Promise<PeerFigures> {
  const figures: PeerFigures = {};
  const traffic = paymentTraffic(DEMO_SHOP, 'async', options.cards);
  const submits = await repeat(options.runs, options, (peer) => withPeer(peer, false, (server) => measuredRun(server, traffic, options)));
  figures.submit = { runs: submits, median: medianOf(submits) };
  if (canStart()) {
    const live = await repeat(options.runs, options, (peer) => withPeer(peer, true, (server) => completionRun(server, peer.log, options)));
    figures.completion = { runs: live, median: medianOf(live) };
  }
  if (canStart()) {
    const drained = await repeat(options.drainRuns, options, (peer) => drainRun(peer, options));
    figures.drain = { runs: drained, median: medianOf(drained) };
  }
  return figures;
}
