import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Store } from '../store/db.js';
import { faultLevel } from '../domain/faults.js';
import {
  type AttemptOutcome,
  claimDeliveries,
  purgeFinishedDeliveries,
  recordAttempt,
  releaseDelivery,
  type WebhookDelivery,
} from '../store/webhooks.js';
import type { Vault } from '../vault/vault.js';
import { QueueWorkers } from '../workers/claimLoop.js';
import { type AttemptAnswer, WebhookTransport } from './delivery.js';
import type { WebhookMetrics } from './metrics.js';
import { nextAttemptAt } from './schedule.js';
import { contentSignature, ShopWebhookKeyring } from './signer.js';

export interface DeliveryWorkerOptions {
  store: Store;
  vault: Vault;
  now: () => Date;
  /** Jitter of the retry schedule, like Math.random (tests fix it). */
  random: () => number;
  log: Logger;
  metrics: WebhookMetrics;
  /** Attempts in flight in this process. They wait on merchants' servers, not on cores. */
  concurrency: number;
  /** Attempts in flight per receiving host in this process, so one slow or dead host cannot take every slot. */
  hostConcurrency: number;
  /** Deliver to loopback and private networks too (else such attempts fail). */
  allowPrivate: boolean;
  /** How long finished deliveries stay for the admin history; the sweeper removes older ones. */
  retentionMs: number;
  /** A receiver that has not answered by then has failed the attempt. */
  timeoutMs: number;
  /** Fallback wake-up: deliveries written by transaction B and retries coming due are found by it. */
  pollMs: number;
}

const CLAIM_BATCH = 100;
/** Finished deliveries removed per commit by the retention sweep. */
const PURGE_BATCH = 500;
/** Due deliveries a claim looks at; hosts at their cap are left out before this limit applies. */
const CLAIM_WINDOW = 1000;
/**
 * A lease outlives the attempt's deadline by this, so a live worker does not lose its delivery mid-attempt
 * (if recording its result takes longer still, the delivery is sent once more: webhooks are at least once,
 * de-duplicable by X-Webhook-Id). A dead worker's delivery is taken over this long after its deadline.
 */
const LEASE_MARGIN_MS = 5_000;

const resultOf = (answer: AttemptAnswer, delivered: boolean) => (delivered ? 'delivered' : (answer.failure ?? 'rejected'));

/**
 * The webhook delivery workers of one process: they deliver what the outbox holds, on the shared claim
 * loop. Each attempt POSTs the stored payload bytes exactly, signed with the shop's key; its result and
 * the delivery's next state are written in one commit, so a restart or a crash loses nothing (a delivery
 * whose worker died is taken over when its lease expires, and sent again under the same attempt number).
 */
export class DeliveryWorkers extends QueueWorkers<WebhookDelivery> {
  private readonly keyring: ShopWebhookKeyring;
  private readonly transport: WebhookTransport;
  private readonly inFlightByHost = new Map<string, number>();

  constructor(private readonly options: DeliveryWorkerOptions) {
    super({ name: 'webhook deliveries', concurrency: options.concurrency, batch: CLAIM_BATCH, pollMs: options.pollMs, log: options.log });
    this.keyring = new ShopWebhookKeyring(options.store.sql, options.vault, options.now);
    this.transport = new WebhookTransport(options.timeoutMs, options.allowPrivate);
  }

  /** The retention sweep: removes finished deliveries older than the retention, in batches; answers how many. */
  async purgeFinished(): Promise<number> {
    const { store, now, retentionMs, metrics } = this.options;
    const before = new Date(now().getTime() - retentionMs).toISOString();
    let purged = 0;
    for (;;) {
      const batch = await store.transaction((tx) => purgeFinishedDeliveries(tx, before, PURGE_BATCH));
      purged += batch;
      if (batch < PURGE_BATCH) break;
    }
    if (purged > 0) metrics.purged.inc(purged);
    return purged;
  }

  /** Graceful stop: claim nothing more; attempts in flight finish (each is bounded by the timeout). */
  override async stop(): Promise<void> {
    await super.stop();
    this.transport.close();
  }

  protected async claim(limit: number): Promise<WebhookDelivery[]> {
    const { store, now, timeoutMs, hostConcurrency } = this.options;
    const at = now();
    const claim = {
      owner: this.owner,
      now: at.toISOString(),
      leaseUntil: new Date(at.getTime() + timeoutMs + LEASE_MARGIN_MS).toISOString(),
      limit,
      hostCap: hostConcurrency,
      inFlightByHost: this.inFlightByHost,
      window: CLAIM_WINDOW,
    };
    const deliveries = await store.transaction((tx) => claimDeliveries(tx, claim));
    for (const delivery of deliveries) this.inFlightByHost.set(delivery.host ?? '', (this.inFlightByHost.get(delivery.host ?? '') ?? 0) + 1);
    return deliveries;
  }

  protected async run(delivery: WebhookDelivery): Promise<void> {
    const host = delivery.host ?? '';
    try {
      await this.attempt(delivery);
    } catch (err) {
      // Store unreachable or similar: the delivery stays leased and is attempted again after its lease.
      this.options.log[faultLevel(err)]({ err, delivery: delivery.id }, 'webhook attempt could not be recorded; it is retried after its lease');
      if (this.loop.stopping) await this.options.store.write((tx) => releaseDelivery(tx, delivery.id, this.owner)).catch(() => {});
    } finally {
      const left = (this.inFlightByHost.get(host) ?? 1) - 1;
      if (left > 0) this.inFlightByHost.set(host, left);
      else this.inFlightByHost.delete(host);
    }
  }

  private async attempt(delivery: WebhookDelivery): Promise<void> {
    const { store, now, random, log, metrics } = this.options;
    const attempt = delivery.attempts + 1;
    const keys = await this.keyring.keysOf(Number(delivery.shop_id));
    const attemptedAt = now();
    const requestId = randomUUID();
    let answer: AttemptAnswer;
    if (!keys) {
      answer = { statusCode: null, failure: 'unreachable', error: `shop ${delivery.shop_id} no longer exists`, latencyMs: 0 };
    } else {
      const body = Buffer.from(delivery.payload, 'utf8');
      answer = await this.transport.post(delivery.url, body, {
        'content-type': 'application/json',
        authorization: keys.authorization,
        'content-signature': contentSignature(body, keys.privateKey),
        'x-webhook-id': String(delivery.id),
        'x-webhook-attempt': String(attempt),
        'x-request-id': requestId,
      });
    }
    const delivered = answer.statusCode !== null && answer.statusCode >= 200 && answer.statusCode < 300;
    const finishedAt = now();
    const retryAt = delivered ? undefined : nextAttemptAt(attempt, finishedAt, random);
    const outcome: AttemptOutcome = delivered
      ? { state: 'delivered', delivered_at: finishedAt.toISOString() }
      : retryAt
        ? { state: 'pending', next_attempt_at: retryAt.toISOString() }
        : { state: 'dead' };
    const recorded = await store.transaction((tx) =>
      recordAttempt(
        tx,
        this.owner,
        {
          delivery_id: delivery.id,
          attempt,
          attempted_at: attemptedAt.toISOString(),
          status_code: answer.statusCode,
          latency_ms: answer.latencyMs,
          error: answer.error,
          request_id: requestId,
        },
        outcome,
      ),
    );
    const result = resultOf(answer, delivered);
    metrics.attempts.inc({ result });
    metrics.attemptLatency.observe({ result }, answer.latencyMs / 1000);
    const context = {
      delivery: delivery.id,
      transaction: delivery.transaction_uid,
      attempt,
      status: answer.statusCode,
      error: answer.error,
      requestId,
    };
    if (!recorded) {
      log.warn(context, 'webhook delivery was taken over before its attempt was recorded; the new owner attempts it again');
      return;
    }
    if (outcome.state !== 'pending') metrics.deliveries.inc({ outcome: outcome.state });
    if (outcome.state === 'delivered') log.info(context, 'webhook delivered');
    else if (outcome.state === 'dead') log.warn(context, 'webhook attempt failed; retries used up, delivery is dead');
    else log.info({ ...context, next: outcome.next_attempt_at }, 'webhook attempt failed; retry scheduled');
  }
}
