import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { describe } from 'node:test';
import { it, until } from '../support/deadline.js';
import { testStores } from '../support/gateway.js';
import { isRunning, PROCESS_ADMIN_TOKEN, scratchDatabase } from '../support/processes.js';
import { TcpProxy } from '../support/tcpProxy.js';
import { WebhookReceiver } from '../support/webhookReceiver.js';
import { auditBooks } from './support/books.js';
import { Fleet } from './support/fleet.js';
import { RoundRobin } from './support/roundRobin.js';
import { type ChaosShop, checkAcknowledged, checkWebhooks, createShops, MixedLoad } from './support/workload.js';

/**
 * The database goes away under load: two gateway processes reach PostgreSQL through a relay that the test
 * cuts (every open connection reset, new ones refused) for a few seconds, as a PostgreSQL restart or a
 * network cut would. During the outage the gateways answer 503 (never 500), /readyz says unavailable; after
 * it they recover by themselves (same processes) and nothing they acknowledged is lost.
 */

const REQUESTS = 600;
const CONCURRENCY = 16;
const CUT_AFTER = 200;
const OUTAGE_MS = 3000;
const SHOPS: ChaosShop[] = [{ id: 7101, secret: 'outage-shop-secret-0123456789', settings: {} }];

/** Each gateway's /readyz status (0: it did not answer at all). */
async function readiness(urls: string[]): Promise<number[]> {
  return Promise.all(urls.map(async (url) => (await fetch(`${url}/readyz`).catch(() => undefined))?.status ?? 0));
}

const onPostgres = testStores().includes('postgres');

describe('chaos: the database cut away mid-load [postgres]', { skip: onPostgres ? false : 'PostgreSQL is not among ECOMGATE_TEST_STORES' }, () => {
  it('answers 503 during the outage, recovers by itself, and loses nothing it acknowledged', { timeout: 240_000 }, async (t) => {
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
    const proxy = await TcpProxy.start('127.0.0.1', 5432);
    const db = await scratchDatabase('postgres', (url) => proxy.rewrite(url));
    const receiver = await WebhookReceiver.start();
    const fleet = new Fleet(db.url, randomBytes(32).toString('base64'));
    try {
      await fleet.start(2);
      const pids = fleet.processes.map((gateway) => gateway.proc.pid);
      const client = new RoundRobin(() => fleet.urls());
      await createShops(client, PROCESS_ADMIN_TOKEN, SHOPS);

      // A client that gives up on a request after 2 s of 503s (and counts it unanswered), so the outage
      // shows in the answers.
      const load = new MixedLoad(client, SHOPS, receiver.url, seed, 2000);
      let outage: Promise<void> | undefined;
      let readyDuring: number[] = [];
      let answeredAtCut = 0;
      let recoveryMs = 0;
      const running = load.run(REQUESTS, CONCURRENCY, (answered) => {
        if (answered !== CUT_AFTER) return;
        answeredAtCut = answered;
        proxy.cut();
        outage = (async () => {
          readyDuring = await readiness(fleet.urls());
          // The length of the outage is the scenario, not a synchronisation.
          await delay(OUTAGE_MS);
          proxy.restore();
          const restored = performance.now();
          await until(
            async () => (await readiness(fleet.urls())).every((status) => status === 200),
            () => `the gateways never became ready again ${fleet.crashes().join('\n')}`,
            30_000,
            100,
          );
          recoveryMs = performance.now() - restored;
        })();
      });
      await running;
      assert.ok(outage, 'the outage happened mid-load');
      await outage;
      assert.deepEqual(fleet.crashes(), [], 'no gateway process died');

      const { acked } = load;
      const unavailable = acked.byStatus.get(503) ?? 0;
      assert.deepEqual(readyDuring, [503, 503], '/readyz says unavailable during the outage');
      assert.ok(unavailable > 0, `no request met the outage with a 503: ${JSON.stringify([...acked.byStatus])}`);
      assert.ok(!acked.byStatus.has(500), 'no 500 during the outage');
      assert.ok(proxy.dropped > 0);
      assert.deepEqual(
        fleet.processes.map((gateway) => [gateway.proc.pid, isRunning(gateway)]),
        pids.map((pid) => [pid, true]),
        'the same processes recovered: nothing was restarted',
      );

      // After the outage the same client's requests go through again.
      const after = new MixedLoad(client, SHOPS, receiver.url, seed + 1, 2000);
      await after.run(50, 5);
      assert.equal(after.acked.unanswered, 0, `requests still fail after the outage: ${JSON.stringify([...after.acked.byStatus])}`);

      const { settleMs } = await checkAcknowledged(db, client, SHOPS, acked, 60_000);
      await checkAcknowledged(db, client, SHOPS, after.acked, 60_000);
      const webhooks = await checkWebhooks(db, receiver, 60_000);
      await fleet.stopAll();
      const books = await auditBooks(
        db,
        SHOPS.map((shop) => shop.id),
      );

      t.diagnostic(
        `seed=${seed} requests=${REQUESTS}+50 cut after ${answeredAtCut} answers for ${OUTAGE_MS} ms; connections dropped=${proxy.dropped}; ` +
          `answers=${JSON.stringify(Object.fromEntries(acked.byStatus))} unanswered=${acked.unanswered}; ` +
          `acknowledged sync=${acked.transactions.size} async=${acked.asyncRequests.size}; ` +
          `ready again ${Math.round(recoveryMs)} ms after the database came back; ` +
          `transactions=${books.transactions} settled by inquiry=${books.settledByInquiry}; all settled ${Math.round(settleMs)} ms after the load; ` +
          `webhooks ${webhooks.finals} final, ${webhooks.distinct} distinct ids`,
      );
    } finally {
      await fleet.killAll();
      await receiver.close();
      await db.close();
      await proxy.close();
    }
  });
});
