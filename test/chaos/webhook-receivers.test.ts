import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe } from 'node:test';
import { it, until } from '../support/deadline.js';
import { approvedCards, card } from '../support/cards.js';
import { testStores } from '../support/gateway.js';
import { basicAuth } from '../support/http.js';
import { PROCESS_ADMIN_TOKEN, scratchDatabase } from '../support/processes.js';
import { WebhookReceiver } from '../support/webhookReceiver.js';
import { auditBooks } from './support/books.js';
import { Fleet } from './support/fleet.js';
import { RoundRobin } from './support/roundRobin.js';
import { type ChaosShop, createShops } from './support/workload.js';

/**
 * Merchants' webhook endpoints misbehave — one holds every request open (slow: the gateway's attempt
 * deadline is 30 s here), one is dead (connection refused), one answers 500 — and payments must not
 * notice. Two gateway processes take payments whose notification_url points at those endpoints; every
 * payment completes while the slow endpoint still holds its deliveries, so none of them waited for one.
 * Latency with healthy and with misbehaving endpoints is reported, not asserted (speed is the bench's).
 */

const PAYMENTS = 120;
const CONCURRENCY = 8;
const PROCESSES = 2;
const HOST_CAP = 8;
const SHOP: ChaosShop = { id: 7201, secret: 'webhook-chaos-secret-01234567', settings: {} };
const CARDS = approvedCards(PAYMENTS);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const onPostgres = testStores().includes('postgres');

describe('chaos: slow, dead and failing webhook receivers [postgres]', {
  skip: onPostgres ? false : 'PostgreSQL is not among ECOMGATE_TEST_STORES',
}, () => {
  it('never slow a payment down: every payment completes while deliveries hang or fail', { timeout: 180_000 }, async (t) => {
    const db = await scratchDatabase('postgres');
    const healthy = await WebhookReceiver.start();
    const slow = await WebhookReceiver.start(() => 'hold');
    const failing = await WebhookReceiver.start(() => 500);
    const gone = await WebhookReceiver.start();
    const dead = gone.url;
    await gone.close();
    const fleet = new Fleet(db.url, randomBytes(32).toString('base64'), {
      ECOMGATE_WEBHOOK_TIMEOUT_MS: '30000',
      ECOMGATE_WEBHOOK_HOST_CONCURRENCY: String(HOST_CAP),
    });
    try {
      await fleet.start(PROCESSES);
      const client = new RoundRobin(() => fleet.urls());
      await createShops(client, PROCESS_ADMIN_TOKEN, [SHOP]);

      const pay = async (urls: string[]) => {
        const latencies: number[] = [];
        const uids: string[] = [];
        let next = 0;
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next < PAYMENTS) {
              const i = next++;
              const started = performance.now();
              const answer = await client.send(
                'POST',
                '/transactions/payments',
                {
                  request: {
                    amount: 1000 + i,
                    currency: 'EUR',
                    description: `webhook chaos ${i}`,
                    duplicate_check: false,
                    notification_url: urls[i % urls.length],
                    credit_card: card(CARDS[i]!),
                  },
                },
                { auth: basicAuth(SHOP), requestId: `hook-${randomBytes(8).toString('hex')}` },
              );
              latencies.push(performance.now() - started);
              assert.equal(answer.status, 200, answer.text);
              assert.equal(answer.body.transaction.status, 'successful', answer.text);
              uids.push(answer.body.transaction.uid);
            }
          }),
        );
        return { latencies, uids };
      };

      const baseline = await pay([healthy.url]);
      const deliveredHealthy = () => baseline.uids.every((uid) => healthy.received.some((w) => w.body?.transaction?.uid === uid));
      await until(
        async () => deliveredHealthy(),
        () => 'healthy webhooks missing',
        60_000,
        100,
      );

      const hostile = await pay([slow.url, dead, failing.url]);
      // Every payment has been answered, and the slow endpoint still holds deliveries it never answered:
      // the payments did not wait for them.
      assert.ok(slow.pending > 0, 'the slow endpoint holds deliveries open while the payments completed');
      assert.ok(slow.maxInFlight <= HOST_CAP * PROCESSES, `the per-host cap held: ${slow.maxInFlight} open at once`);
      await until(
        async () => failing.received.length > 0,
        () => 'the failing endpoint was never tried',
        30_000,
        100,
      );
      const refused = async () =>
        Number(
          (
            await db.rows(
              'select count(*) as n from webhook_attempts a join webhook_deliveries d on d.id = a.delivery_id where d.url = ? and a.status_code is null',
              dead,
            )
          )[0]!.n,
        );
      await until(
        async () => (await refused()) > 0,
        () => 'the dead endpoint was never tried',
        30_000,
        100,
      );
      const failed = await db.rows("select count(*) as n from webhook_deliveries where state = 'pending' and attempts > 0");

      t.diagnostic(
        `payments=${PAYMENTS} per phase at ${CONCURRENCY} connections over ${PROCESSES} processes; ` +
          `healthy receiver: p50=${Math.round(percentile(baseline.latencies, 50))} ms p99=${Math.round(percentile(baseline.latencies, 99))} ms; ` +
          `slow/dead/500 receivers: p50=${Math.round(percentile(hostile.latencies, 50))} ms p99=${Math.round(percentile(hostile.latencies, 99))} ms; ` +
          `held open at the end=${slow.pending} (max ${slow.maxInFlight}); 500 answers=${failing.received.length}; refused attempts=${await refused()}; ` +
          `deliveries waiting for a retry=${failed[0]!.n}`,
      );

      slow.answer = () => 200;
      slow.release(200);
      await fleet.stopAll();
      await auditBooks(db, [SHOP.id]);
    } finally {
      await fleet.killAll();
      for (const receiver of [healthy, slow, failing]) await receiver.close();
      await db.close();
    }
  });
});
