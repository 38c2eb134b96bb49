import { canStart } from '../budget.js';
import { startServer, type ServerProcess } from '../child.js';
import { type Gateway, type GatewaySettings, withGateway } from '../gateway.js';
import { type LoadFigures, measureThroughput, type Traffic, warmUp } from '../load.js';
import type { BenchOptions, StoreKind } from '../options.js';
import { paymentRequestBody } from '../payments.js';
import { medianOf } from '../stats.js';
import type { WaitFigures, WaitSampler } from '../waits.js';

/** Several measured runs of one scenario and the median of each figure. */
export interface ThroughputScenario {
  runs: LoadFigures[];
  median: LoadFigures;
  /** PostgreSQL, where sampled: what the gateway's backends waited on during the measured runs. */
  waits?: WaitFigures;
}

function summarise(runs: LoadFigures[]): ThroughputScenario {
  return { runs, median: medianOf(runs) };
}

/** A warm-up, then the measured load; `waits` samples the backends during the measured part only. */
export async function measuredRun(server: ServerProcess, traffic: Traffic, options: BenchOptions, waits?: WaitSampler): Promise<LoadFigures> {
  await warmUp(server, traffic, options.connections, options.warmupSec);
  await waits?.start();
  try {
    return await measureThroughput(server, traffic, options.connections, options.durationSec);
  } finally {
    await waits?.pause();
  }
}

/** Runs on one server, for traffic that leaves no state behind that would weigh on the next run. */
async function measureRepeatedly(server: ServerProcess, traffic: Traffic, options: BenchOptions): Promise<ThroughputScenario> {
  const runs: LoadFigures[] = [];
  for (let run = 0; run < options.runs && (run === 0 || canStart()); run++) runs.push(await measuredRun(server, traffic, options));
  return summarise(runs);
}

/** The baseline: bare Fastify echoing a payment-sized JSON body, at the same connections. */
export async function measureEcho(options: BenchOptions): Promise<ThroughputScenario> {
  const echo = await startServer('echo server', 'dist/bench/echo-server.js', [], process.env);
  const traffic: Traffic = { method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: paymentRequestBody };
  try {
    return await measureRepeatedly(echo, traffic, options);
  } finally {
    await echo.stop();
  }
}

/** Read-only traffic: one gateway, prepared once, serves every run. */
export async function measureGatewayReads(
  kind: StoreKind,
  options: BenchOptions,
  prepare: (gateway: Gateway) => Promise<Traffic>,
): Promise<ThroughputScenario> {
  return withGateway(kind, options.postgresUrl, async (gateway) => measureRepeatedly(gateway.server, await prepare(gateway), options));
}

/**
 * Each run gets a new gateway on a new, empty store: a run's leftovers (an async backlog still being
 * worked off, a grown transactions table) would otherwise weigh on the next run. `prepare` seeds what
 * the scenario needs, checks one request is answered as expected, and answers the traffic to load.
 */
export async function measureGatewayThroughput(
  kind: StoreKind,
  options: BenchOptions,
  prepare: (gateway: Gateway) => Promise<Traffic>,
  settings: GatewaySettings = {},
  serveArgs?: string[],
  waits?: WaitSampler,
): Promise<ThroughputScenario> {
  const runs: LoadFigures[] = [];
  try {
    // The first run always; the others while the run's time budget allows.
    for (let run = 0; run < options.runs && (run === 0 || canStart()); run++) {
      runs.push(
        await withGateway(
          kind,
          options.postgresUrl,
          async (gateway) => measuredRun(gateway.server, await prepare(gateway), options, waits),
          settings,
          serveArgs,
        ),
      );
    }
  } finally {
    await waits?.stop();
  }
  return { ...summarise(runs), ...(waits ? { waits: waits.figures() } : {}) };
}
