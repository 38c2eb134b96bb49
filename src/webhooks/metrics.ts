import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Store } from '../store/db.js';
import { deliveryBacklog } from '../store/webhooks.js';

/** Webhook metrics: attempts by result, deliveries by final outcome, attempt latency, backlog by state. */
export class WebhookMetrics {
  /** `delivered` (2xx), `rejected` (another HTTP status), `timeout`, `unreachable` (no HTTP answer). */
  readonly attempts: Counter<'result'>;
  /** `delivered`, or `dead` once the retries are used up. */
  readonly deliveries: Counter<'outcome'>;
  readonly attemptLatency: Histogram<'result'>;
  /** Finished deliveries removed by the retention sweeper. */
  readonly purged: Counter;

  constructor(registry: Registry, store: Store) {
    this.attempts = new Counter({
      name: 'ecomgate_webhook_attempts_total',
      help: 'Webhook HTTP attempts by result',
      labelNames: ['result'],
      registers: [registry],
    });
    this.deliveries = new Counter({
      name: 'ecomgate_webhook_deliveries_total',
      help: 'Webhook deliveries finished, by outcome (delivered, dead)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.purged = new Counter({
      name: 'ecomgate_webhook_deliveries_purged_total',
      help: 'Finished webhook deliveries (with their attempts) removed after ECOMGATE_WEBHOOK_RETENTION',
      registers: [registry],
    });
    this.attemptLatency = new Histogram({
      name: 'ecomgate_webhook_attempt_duration_seconds',
      help: "Time from sending a webhook to the receiver's answer (or the failure)",
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    new Gauge({
      name: 'ecomgate_webhook_backlog',
      help: 'Webhook deliveries not delivered, by state (pending, delivering, dead)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of await deliveryBacklog(store)) this.set({ state: row.state }, row.count);
      },
    });
  }
}
