import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { approvedCards, card, DECLINED_CARD } from '../../support/cards.js';
import { until } from '../../support/deadline.js';
import type { ScratchDatabase } from '../../support/processes.js';
import type { WebhookReceiver } from '../../support/webhookReceiver.js';
import { basicAuth } from '../../support/http.js';
import type { RoundRobin } from './roundRobin.js';

export interface ChaosShop {
  id: number;
  secret: string;
  /** Sandbox settings: fault injection (timeout_rate, error_rate), latency. */
  settings: Record<string, unknown>;
}

const CARDS = approvedCards(500);
const FINAL = new Set(['successful', 'failed']);

/** A small seeded generator, so a failing run can be replayed with the seed it printed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function createShops(client: RoundRobin, adminToken: string, shops: ChaosShop[]): Promise<void> {
  for (const shop of shops) {
    const created = await client.send(
      'POST',
      '/admin/shops',
      { id: shop.id, secret_key: shop.secret, test: true, acquirer_settings: shop.settings },
      { auth: `Bearer ${adminToken}` },
    );
    assert.equal(created.status, 201, created.text);
  }
}

interface AckedTransaction {
  shopId: number;
  uid: string;
  type: string;
  status: string;
  amount: number;
}

/** What the gateways acknowledged to the client: the promises the checks hold them to. */
export class Acknowledged {
  /** Synchronous answers with a transaction, by uid (the status is the one the client was told). */
  readonly transactions = new Map<string, AckedTransaction>();
  /** Accepted async requests: request id → shop. */
  readonly asyncRequests = new Map<string, number>();
  /** Requests that got no final answer (every retry met a dead process or an outage). */
  unanswered = 0;
  /** Final answers by HTTP status. */
  readonly byStatus = new Map<number, number>();
  requests = 0;

  count(status: number): void {
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
  }
}

type Operation = 'payment' | 'authorization' | 'async payment' | 'capture' | 'refund' | 'async refund';

/**
 * Mixed merchant traffic: sync and async payments and authorizations, captures of authorizations and
 * refunds of payments (often more than what is left, so the limits are tried under concurrency). Every
 * mutating request carries a RequestID, so the client's retries are safe.
 */
export class MixedLoad {
  readonly acked = new Acknowledged();
  private readonly parents: { capture: AckedTransaction[]; refund: AckedTransaction[] } = { capture: [], refund: [] };
  private readonly random: () => number;

  constructor(
    private readonly client: RoundRobin,
    private readonly shops: ChaosShop[],
    private readonly notificationUrl: string,
    seed: number,
    private readonly patienceMs = 30_000,
  ) {
    this.random = seededRandom(seed);
  }

  /** Sends `total` requests with `concurrency` in flight; `onProgress` sees the count of answered ones. */
  async run(total: number, concurrency: number, onProgress: (answered: number) => void = () => {}): Promise<void> {
    let next = 0;
    let answered = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) {
          const i = next++;
          await this.one(i);
          onProgress(++answered);
        }
      }),
    );
  }

  private pick<T>(items: T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private async one(i: number): Promise<void> {
    const shop = this.shops[i % this.shops.length]!;
    const roll = this.random();
    let operation: Operation =
      roll < 0.3
        ? 'payment'
        : roll < 0.45
          ? 'authorization'
          : roll < 0.7
            ? 'async payment'
            : roll < 0.8
              ? 'capture'
              : roll < 0.9
                ? 'refund'
                : 'async refund';
    const capturable = this.parents.capture.filter((parent) => parent.shopId === shop.id);
    const refundable = this.parents.refund.filter((parent) => parent.shopId === shop.id);
    if ((operation === 'capture' && capturable.length === 0) || (operation.endsWith('refund') && refundable.length === 0)) operation = 'payment';

    let path: string;
    let request: Record<string, unknown>;
    if (operation === 'capture' || operation.endsWith('refund')) {
      const parent = this.pick(operation === 'capture' ? capturable : refundable);
      // Up to the whole parent: concurrent children often ask for more than is left.
      const amount = 1 + Math.floor(this.random() * parent.amount * 0.6);
      path = operation === 'capture' ? '/transactions/captures' : '/transactions/refunds';
      request = {
        parent_uid: parent.uid,
        amount,
        notification_url: this.notificationUrl,
        ...(operation === 'capture' ? {} : { reason: 'chaos refund' }),
      };
    } else {
      path = operation.endsWith('authorization') ? '/transactions/authorizations' : '/transactions/payments';
      const number = this.random() < 0.1 ? DECLINED_CARD : this.pick(CARDS);
      request = {
        amount: 500 + Math.floor(this.random() * 9500),
        currency: 'EUR',
        description: `chaos order ${i}`,
        tracking_id: `chaos-${i}`,
        duplicate_check: false,
        notification_url: this.notificationUrl,
        credit_card: card(number),
      };
    }
    const isAsync = operation.startsWith('async');
    this.acked.requests++;
    const answer = await this.client.send(
      'POST',
      (isAsync ? '/async' : '') + path,
      { request },
      {
        auth: basicAuth(shop),
        requestId: `chaos-${randomUUID()}`,
        patienceMs: this.patienceMs,
      },
    );
    this.acked.count(answer.status);
    assert.ok(answer.status !== 500, `a 500 for ${operation}: ${answer.text}`);
    if (answer.status === 0 || answer.status === 503 || answer.status === 409) {
      this.acked.unanswered++;
      return;
    }
    if (isAsync) {
      assert.equal(answer.status, 200, `${operation}: ${answer.text}`);
      assert.equal(answer.body.status, 'processing', answer.text);
      this.acked.asyncRequests.set(answer.body.request_id, shop.id);
      return;
    }
    if (answer.status !== 200) {
      // A refusal (422 limits, validation): fine, and nothing to hold the gateway to.
      assert.ok(answer.status >= 400 && answer.status < 500, `${operation}: ${answer.status} ${answer.text}`);
      return;
    }
    const transaction = answer.body.transaction;
    assert.ok(transaction?.uid, `${operation}: ${answer.text}`);
    const acked = { shopId: shop.id, uid: transaction.uid, type: transaction.type, status: transaction.status, amount: transaction.amount };
    this.acked.transactions.set(acked.uid, acked);
    if (acked.status === 'successful' && acked.type === 'authorization') this.parents.capture.push(acked);
    if (acked.status === 'successful' && (acked.type === 'payment' || acked.type === 'capture')) this.parents.refund.push(acked);
  }
}

/**
 * Every acknowledged promise kept: each accepted async request has exactly one result (read once here, an
 * API answer, never a 500), each synchronous answer's transaction exists and, if the client was told a
 * final status, still has it; nothing is left in doubt.
 */
export async function checkAcknowledged(
  db: ScratchDatabase,
  client: RoundRobin,
  shops: ChaosShop[],
  acked: Acknowledged,
  timeoutMs: number,
): Promise<{ settleMs: number }> {
  const secretOf = new Map(shops.map((shop) => [shop.id, shop.secret]));
  const ids = [...acked.asyncRequests.keys()];
  const started = performance.now();
  // Every 100 ms: each poll is two counts on a database the fleet is still working on.
  await until(
    async () => {
      const open = await db.rows("select count(*) as n from transactions where status in ('pending', 'processing')");
      const tasks = await db.rows("select count(*) as n from async_tasks where state <> 'done'");
      return Number(open[0]!.n) === 0 && Number(tasks[0]!.n) === 0;
    },
    async () => {
      const open = await db.rows(
        "select uid, type, status, inquiry_attempts, next_inquiry_at from transactions where status in ('pending', 'processing') limit 5",
      );
      const tasks = await db.rows("select id, state, attempts, lease_expires_at from async_tasks where state <> 'done' limit 5");
      return `still open: ${JSON.stringify(open)} ${JSON.stringify(tasks)}`;
    },
    timeoutMs,
    100,
  );
  const settleMs = performance.now() - started;

  const tasks = await db.rows('select id, state, status_code from async_tasks');
  const taskById = new Map(tasks.map((task) => [task.id as string, task]));
  for (const id of ids) {
    const task = taskById.get(id);
    assert.ok(task, `accepted async request ${id} has no task`);
    assert.equal(task.state, 'done');
    const shopId = acked.asyncRequests.get(id)!;
    const result = await client.send('GET', `/async/result/${id}`, undefined, { auth: basicAuth({ id: shopId, secret: secretOf.get(shopId)! }) });
    assert.equal(result.status, Number(task.status_code), `result of ${id}: ${result.text}`);
    assert.ok(result.status === 200 || (result.status >= 400 && result.status < 500), `result of ${id} is an API answer: ${result.text}`);
  }

  const rows = await db.rows('select uid, status from transactions');
  const statusOf = new Map(rows.map((row) => [row.uid as string, row.status as string]));
  for (const transaction of acked.transactions.values()) {
    const status = statusOf.get(transaction.uid);
    assert.ok(status, `acknowledged transaction ${transaction.uid} is not in the database`);
    if (FINAL.has(transaction.status)) assert.equal(status, transaction.status, `the client was told ${transaction.uid} is ${transaction.status}`);
  }
  return { settleMs };
}

/**
 * No webhook lost: the receiver saw every final transaction that asked for one, with its final status, at
 * least once (repeats carry the same X-Webhook-Id and are counted once).
 */
export async function checkWebhooks(
  db: ScratchDatabase,
  receiver: WebhookReceiver,
  timeoutMs: number,
): Promise<{ finals: number; deliveries: number; distinct: number }> {
  const missing = async () => {
    const rows = await db.rows("select uid, status from transactions where notification_url is not null and status in ('successful', 'failed')");
    const seen = new Set(receiver.received.map((webhook) => `${webhook.body?.transaction?.uid} ${webhook.body?.transaction?.status}`));
    return { rows, missing: rows.filter((row) => !seen.has(`${row.uid} ${row.status}`)) };
  };
  await until(
    async () => (await missing()).missing.length === 0,
    async () => `webhooks never received: ${JSON.stringify((await missing()).missing.slice(0, 5))}`,
    timeoutMs,
    100,
  );
  const { rows } = await missing();
  const ids = receiver.received.map((webhook) => webhook.headers['x-webhook-id']);
  assert.ok(
    ids.every((id) => typeof id === 'string' && id.length > 0),
    'every webhook carries X-Webhook-Id',
  );
  return { finals: rows.length, deliveries: ids.length, distinct: new Set(ids).size };
}
