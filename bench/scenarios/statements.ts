import { type Gateway, waitForTasksDone, withGateway } from '../gateway.js';
import { sendCount, type Traffic } from '../load.js';
import type { BenchOptions, StoreKind } from '../options.js';
import { childRequestBody, paths } from '../payments.js';
import { authHeaders } from '../../test/support/http.js';
import { DEMO_SHOP } from '../../test/support/shops.js';
import { sleep } from '../stats.js';
import { cycleCards, paymentTraffic } from '../traffic.js';

/**
 * Statements and round trips per operation, as the store counts them (ecomgate_store_statements_total,
 * ecomgate_store_round_trips_total at /metrics): a batch of N operations, one at a time on one
 * connection, on a gateway otherwise idle, between two scrapes. Subtracted: what a scrape itself costs
 * (its gauges query the store) and the background work of the idle gateway (the in-doubt resolver runs
 * every second), both measured just before the batch. One at a time, so nothing is shared between
 * operations: under load, async submits and claims share batches and cost less each.
 */
export interface OperationCount {
  operation: string;
  statements: number;
  /** PostgreSQL only (0 on SQLite). */
  roundTrips: number;
}

export interface StatementCounts {
  operations: number;
  perOperation: OperationCount[];
  /** The idle gateway's own statements per second (subtracted). */
  backgroundStatementsPerSec: number;
}

interface Counts {
  statements: number;
  roundTrips: number;
}

const IDLE_WINDOW_MS = 1000;
const WARM_UP_OPERATIONS = 10;
const BATCH_MAX_SECONDS = 60;
// Idle workers would poll the store every second: they are woken by each submit instead.
const QUIET = { ECOMGATE_ASYNC_POLL_MS: '3600000', ECOMGATE_WEBHOOK_POLL_MS: '3600000' };

async function scrape(gateway: Gateway): Promise<Counts> {
  const text = await (await fetch(gateway.server.url + '/metrics')).text();
  const value = (name: string) => {
    const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
    if (!match) throw new Error(`/metrics has no ${name}`);
    return Number(match[1]);
  };
  return { statements: value('ecomgate_store_statements_total'), roundTrips: value('ecomgate_store_round_trips_total') };
}

const minus = (a: Counts, b: Counts): Counts => ({ statements: a.statements - b.statements, roundTrips: a.roundTrips - b.roundTrips });

/** Requests to `path`, one body per operation, collecting the uid each answer names. */
function operations(path: string, body: () => string, uids?: string[]): Traffic {
  return {
    method: 'POST',
    headers: authHeaders(DEMO_SHOP),
    requests: [
      {
        path,
        setupRequest: (request) => ({ ...request, body: body() }),
        onResponse: (status, answer) => {
          if (status === 200) uids?.push((JSON.parse(answer) as { transaction: { uid: string } }).transaction.uid);
        },
      },
    ],
  };
}

async function send(gateway: Gateway, traffic: Traffic, count: number, what: string): Promise<void> {
  const sent = await sendCount(gateway.server, traffic, 1, count, BATCH_MAX_SECONDS);
  if (sent.failures > 0 || sent.answered < count)
    throw new Error(`${what}: ${sent.answered} of ${count} answered 2xx ${JSON.stringify(sent.statusCodes)}`);
}

/** Parents for captures and refunds: authorizations or payments made before the counted batch. */
async function seedParents(gateway: Gateway, path: string, count: number, options: BenchOptions): Promise<string[]> {
  const uids: string[] = [];
  await send(gateway, operations(path, cycleCards(options.cards), uids), count, `seeding ${path}`);
  return uids;
}

async function counted(
  gateway: Gateway,
  operation: string,
  count: number,
  batch: () => Promise<void>,
): Promise<OperationCount & { background: number }> {
  const first = await scrape(gateway);
  const scrapeCost = minus(await scrape(gateway), first);
  const idleFrom = await scrape(gateway);
  const idleStarted = performance.now();
  await sleep(IDLE_WINDOW_MS);
  const batchFrom = await scrape(gateway);
  const idleSec = (performance.now() - idleStarted) / 1000;
  const background = minus(minus(batchFrom, idleFrom), scrapeCost);
  const perSec = { statements: Math.max(0, background.statements) / idleSec, roundTrips: Math.max(0, background.roundTrips) / idleSec };
  const started = performance.now();
  await batch();
  const seconds = (performance.now() - started) / 1000;
  const sent = minus(minus(await scrape(gateway), batchFrom), scrapeCost);
  return {
    operation,
    statements: (sent.statements - perSec.statements * seconds) / count,
    roundTrips: (sent.roundTrips - perSec.roundTrips * seconds) / count,
    background: perSec.statements,
  };
}

export function measureStatementCounts(kind: StoreKind, options: BenchOptions): Promise<StatementCounts> {
  const n = options.countedOperations;
  return withGateway(
    kind,
    options.postgresUrl,
    async (gateway) => {
      const payments = paymentTraffic(DEMO_SHOP, 'sync', options.cards);
      const submits = paymentTraffic(DEMO_SHOP, 'async', options.cards);
      // Warm: the shop, its keys and the statement caches are loaded by the first operations.
      await send(gateway, payments, WARM_UP_OPERATIONS, 'warm-up payments');
      await send(gateway, submits, WARM_UP_OPERATIONS, 'warm-up async payments');
      if (!(await waitForTasksDone(gateway.store, WARM_UP_OPERATIONS, BATCH_MAX_SECONDS * 1000)))
        throw new Error('warm-up async payments did not complete');
      const authorizations = await seedParents(gateway, paths.authorization, n + WARM_UP_OPERATIONS, options);
      const paid = await seedParents(gateway, paths.syncPayment, n + WARM_UP_OPERATIONS, options);
      const children = (path: string, uids: string[], amount: number) => {
        let next = 0;
        return operations(path, () => childRequestBody(uids[next++]!, amount, path === paths.refund ? 'bench refund' : undefined));
      };
      const captures = children(paths.capture, authorizations, 1999);
      const refunds = children(paths.refund, paid, 1);
      await send(gateway, captures, WARM_UP_OPERATIONS, 'warm-up captures');
      await send(gateway, refunds, WARM_UP_OPERATIONS, 'warm-up refunds');

      const results = [
        await counted(gateway, 'sync payment', n, () => send(gateway, payments, n, 'payments')),
        await counted(gateway, 'capture', n, () => send(gateway, captures, n, 'captures')),
        await counted(gateway, 'refund', n, () => send(gateway, refunds, n, 'refunds')),
        await counted(gateway, 'async payment (submit + processing)', n, async () => {
          const done = await gateway.store.countDone();
          await send(gateway, submits, n, 'async payments');
          if (!(await waitForTasksDone(gateway.store, done + n, BATCH_MAX_SECONDS * 1000)))
            throw new Error('the counted async payments did not complete');
        }),
      ];
      return {
        operations: n,
        perOperation: results.map(({ operation, statements, roundTrips }) => ({ operation, statements, roundTrips })),
        backgroundStatementsPerSec: Math.max(...results.map((result) => result.background)),
      };
    },
    QUIET,
  );
}
