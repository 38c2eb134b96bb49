import { canStart } from '../budget.js';
import type { SpawnedServer } from '../child.js';
import { createSlowBankShop, spawnGateway, waitForTasksDone, withGatewayOn, withStore } from '../gateway.js';
import { sendCount } from '../load.js';
import type { BenchOptions, StoreKind } from '../options.js';
import { SLOW_BANK_SHOP } from '../payments.js';
import type { Credentials } from '../../test/support/http.js';
import { DEMO_SHOP } from '../../test/support/shops.js';
import { CpuMeter, type CpuShare, peakRssMb } from '../proc.js';
import { medianOf, percentile } from '../stats.js';
import type { BenchStore, TaskLog } from '../stores.js';
import { paymentTraffic } from '../traffic.js';
import { WaitSampler, type WaitFigures } from '../waits.js';

/**
 * Draining async payments already in flight (DESIGN.md: "10,000 async payments in flight complete ...
 * at ≥ 0.5× the no-latency completion rate, memory bounded"). A gateway whose workers claim nothing
 * (ECOMGATE_ASYNC_CONCURRENCY=0) accepts them all and stops; a gateway with the default workers then
 * starts on the same store and works the queue off. Measured from the first claim to the last
 * completion, so the rate is the workers' capacity, not how fast the load generator submits. Run with
 * the zero-latency sandbox and with a bank that takes 2 s per call; the ratio of the two is the target.
 */
export interface DrainFigures {
  payments: number;
  /** Submits answered non-2xx and results that are not a 200. */
  failures: number;
  /** Payments not done when the wait ended (its timeout, or the run's time budget). */
  unfinished: number;
  /** First claim → last completion. */
  drainSec: number;
  drainRate: number;
  /** Per payment, claimed → completed. */
  p50Ms: number;
  p99Ms: number;
  /** The draining gateway's peak resident memory (VmHWM). Its CPU figures include its start-up. */
  peakRssMb: number;
  cpu: CpuShare;
  cpuMsPerPayment: number;
  /**
   * Seconds from the draining gateway's spawn until it listened (undefined: not while draining). The
   * workers start first; a gateway that answers HTTP only once the queue is empty shows it here.
   */
  listenedAfterSec: number | undefined;
}

export interface DrainScenario {
  runs: DrainFigures[];
  median: DrainFigures;
  /** PostgreSQL: what the draining gateway's backends waited on, over all runs. */
  waits?: WaitFigures;
}

/** Filling the queue is not measured: as many connections as the throughput scenarios. */
export const PRELOAD_CONNECTIONS = 50;
const PRELOAD_MAX_SECONDS = 120;

async function preload(store: BenchStore, shop: Credentials, count: number, options: BenchOptions, bankLatencyMs: number) {
  return withGatewayOn(
    store,
    async (accepting) => {
      if (bankLatencyMs > 0) await createSlowBankShop(accepting, shop, bankLatencyMs);
      return sendCount(accepting.server, paymentTraffic(shop, 'async', options.cards), PRELOAD_CONNECTIONS, count, PRELOAD_MAX_SECONDS);
    },
    { ECOMGATE_ASYNC_CONCURRENCY: '0' },
  );
}

/**
 * Spawns the draining server (the gateway, or the graphile-worker peer) and follows the queue through
 * `store` until `accepted` payments are done; `waits` samples its backends meanwhile.
 */
export async function drain(
  store: TaskLog,
  spawn: () => SpawnedServer,
  accepted: number,
  submitFailures: number,
  timeoutMs: number,
  waits?: WaitSampler,
): Promise<DrainFigures> {
  // The workers start before the gateway listens: its CPU is counted from its spawn, and the drain is
  // followed through the store, not through HTTP.
  const meter = new CpuMeter();
  const spawnedAt = performance.now();
  const draining: SpawnedServer = spawn();
  meter.watch(draining.pid, { sinceStart: true });
  let listenedAfterSec: number | undefined;
  draining.listening.then(() => (listenedAfterSec = (performance.now() - spawnedAt) / 1000)).catch(() => {});
  try {
    await waits?.start();
    await waitForTasksDone(store, accepted, timeoutMs);
    await waits?.pause();
    const cpu = meter.stop();
    const rss = peakRssMb(draining.pid);
    const tasks = await store.taskTimes();
    const done = tasks.filter((task) => task.completedAt !== undefined);
    const firstClaimed = Math.min(...tasks.filter((task) => task.startedAt !== undefined).map((task) => task.startedAt!));
    const drainSec = (Math.max(...done.map((task) => task.completedAt!)) - firstClaimed) / 1000;
    const processing = done.map((task) => task.completedAt! - task.startedAt!);
    return {
      payments: tasks.length,
      failures: submitFailures + done.filter((task) => task.statusCode !== 200).length,
      unfinished: tasks.length - done.length,
      drainSec,
      drainRate: Math.round(done.length / drainSec),
      p50Ms: percentile(processing, 50),
      p99Ms: percentile(processing, 99),
      peakRssMb: Math.round(rss),
      cpu,
      cpuMsPerPayment: (cpu.serverSeconds * 1000) / done.length,
      listenedAfterSec,
    };
  } finally {
    await draining.stop();
  }
}

/** Bounded, yet generous: at least 100 payments a second, or twice the drain time at 500 payments in flight with the slow bank; plus 60 s. */
export const drainTimeoutMs = (count: number, bankLatencyMs: number) => 60_000 + Math.max(count * 10, (count * bankLatencyMs) / 250);

async function drainRun(kind: StoreKind, options: BenchOptions, count: number, bankLatencyMs: number, waits?: WaitSampler): Promise<DrainFigures> {
  const shop = bankLatencyMs > 0 ? SLOW_BANK_SHOP : DEMO_SHOP;
  return withStore(kind, options.postgresUrl, async (store) => {
    const accepted = await preload(store, shop, count, options, bankLatencyMs);
    if (accepted.answered === 0) throw new Error(`no async payment was accepted: ${JSON.stringify(accepted.statusCodes)}`);
    return drain(store, () => spawnGateway(store), accepted.answered, accepted.failures, drainTimeoutMs(count, bankLatencyMs), waits);
  });
}

async function measureDrain(kind: StoreKind, options: BenchOptions, count: number, bankLatencyMs: number, runCount: number): Promise<DrainScenario> {
  const runs: DrainFigures[] = [];
  const waits = kind === 'postgres' ? new WaitSampler(options.postgresUrl) : undefined;
  try {
    for (let run = 0; run < runCount && (run === 0 || canStart()); run++) runs.push(await drainRun(kind, options, count, bankLatencyMs, waits));
  } finally {
    await waits?.stop();
  }
  return { runs, median: medianOf(runs), ...(waits ? { waits: waits.figures() } : {}) };
}

/** The workers' completion capacity with the zero-latency sandbox (a rate: the count need not be the slow bank's). */
export const measureZeroLatencyDrain = (kind: StoreKind, options: BenchOptions) =>
  measureDrain(kind, options, options.completionCount, 0, options.drainRuns);

/** The slow-bank drain: `inFlightPayments` at a bank that takes `slowBankLatencyMs` per call. */
export const measureSlowBankDrain = (kind: StoreKind, options: BenchOptions) =>
  measureDrain(kind, options, options.inFlightPayments, options.slowBankLatencyMs, options.slowDrainRuns);
