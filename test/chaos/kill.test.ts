import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe } from 'node:test';
import { it } from '../support/deadline.js';
import { testStores } from '../support/gateway.js';
import { PROCESS_ADMIN_TOKEN, scratchDatabase } from '../support/processes.js';
import { WebhookReceiver } from '../support/webhookReceiver.js';
import { auditBooks, findCardNumbers } from './support/books.js';
import { Fleet } from './support/fleet.js';
import { RoundRobin } from './support/roundRobin.js';
import { type ChaosShop, checkAcknowledged, checkWebhooks, createShops, MixedLoad } from './support/workload.js';

/**
 * Three gateway processes on one PostgreSQL behind the test's round-robin client; 2,000 mixed sync and
 * async payments, authorizations, captures and refunds; one process `kill -9`ed every couple of seconds
 * and started again. One shop's bank loses 5% of its answers (timeouts: the bank acted, the gateway does
 * not know) and refuses 2% (errors). Afterwards every promise the gateways made is checked against the
 * database, the bank and the webhook receiver.
 */

const REQUESTS = 2000;
const CONCURRENCY = 24;
const KILL_EVERY_MS = 2000;
const SHOPS: ChaosShop[] = [
  { id: 7001, secret: 'chaos-steady-shop-secret-0001', settings: {} },
  { id: 7002, secret: 'chaos-flaky-shop-secret-00002', settings: { timeout_rate: 0.05, error_rate: 0.02, settle_ms: 500 } },
];

const onPostgres = testStores().includes('postgres');

describe('chaos: gateway processes killed under mixed load [postgres]', {
  skip: onPostgres ? false : 'PostgreSQL is not among ECOMGATE_TEST_STORES',
}, () => {
  it('keeps every acknowledged request, charges nothing twice, resolves every unknown outcome and loses no webhook', {
    timeout: 300_000,
  }, async (t) => {
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
    const db = await scratchDatabase('postgres');
    const receiver = await WebhookReceiver.start();
    const fleet = new Fleet(db.url, randomBytes(32).toString('base64'));
    try {
      await fleet.start(3);
      const client = new RoundRobin(() => fleet.urls());
      await createShops(client, PROCESS_ADMIN_TOKEN, SHOPS);

      const load = new MixedLoad(client, SHOPS, receiver.url, seed);
      const started = performance.now();
      const running = load.run(REQUESTS, CONCURRENCY);
      await fleet.killPeriodically(KILL_EVERY_MS, running);
      await running;
      const loadMs = performance.now() - started;

      const { acked } = load;
      assert.ok(fleet.kills >= 3, `the load outlived ${fleet.kills} kills only: too few to prove anything`);
      assert.equal(acked.requests, REQUESTS);
      assert.ok(
        acked.transactions.size + acked.asyncRequests.size > REQUESTS * 0.6,
        `too little was acknowledged: ${JSON.stringify([...acked.byStatus])}`,
      );

      const { settleMs } = await checkAcknowledged(db, client, SHOPS, acked, 60_000);
      const webhooks = await checkWebhooks(db, receiver, 60_000);
      await fleet.stopAll();
      const books = await auditBooks(
        db,
        SHOPS.map((shop) => shop.id),
      );

      // Every card the load used is 420000000xxxxxx? (approved) or the declined test card.
      const leaks = await findCardNumbers(db, fleet.linesMatching(/./), /420000000\d{7}|4005550000000019/);
      assert.deepEqual(leaks.slice(0, 5), [], 'a full card number was stored or logged');
      const flaky = await db.rows("select count(*) as n from transactions where shop_id = ? and message = 'Acquirer error'", SHOPS[1]!.id);
      assert.ok(books.settledByInquiry > 0, 'the injected timeouts left transactions in doubt that an inquiry settled');
      assert.ok(Number(flaky[0]!.n) > 0, 'the injected acquirer errors failed some transactions');
      const faults = fleet.linesMatching(/"level":50/).filter((line) => !line.includes('could not be completed'));
      assert.deepEqual(faults.slice(0, 3), [], 'no unexpected error was logged');

      t.diagnostic(
        `seed=${seed} requests=${REQUESTS} sends (incl. retries)=${client.sends} sends meeting a dead process=${client.unavailable} ` +
          `load=${Math.round(loadMs)} ms kills=${fleet.kills} restart (kill → listening) max=${Math.round(Math.max(...fleet.restartMs))} ms; ` +
          `answers=${JSON.stringify(Object.fromEntries(acked.byStatus))} unanswered=${acked.unanswered}; ` +
          `acknowledged sync=${acked.transactions.size} async=${acked.asyncRequests.size}; ` +
          `transactions=${books.transactions} successful=${books.successful} failed=${books.failed} (acquirer errors ${flaky[0]!.n}) ` +
          `settled by inquiry=${books.settledByInquiry}; all settled ${Math.round(settleMs)} ms after the load; ` +
          `webhooks: ${webhooks.finals} final transactions, ${webhooks.deliveries} deliveries, ${webhooks.distinct} distinct; ledger=${JSON.stringify(books.ledger)}`,
      );
    } finally {
      await fleet.killAll();
      await receiver.close();
      await db.close();
    }
  });
});
