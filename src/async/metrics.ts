import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Store } from '../store/db.js';
import { queueStats } from '../store/tasks.js';

/** Async queue metrics, by operation: depth, age of the oldest task, claim latency, processing time, purges. */
export class AsyncMetrics {
  readonly claimLatency: Histogram<'operation'>;
  readonly processingTime: Histogram<'operation' | 'status_code'>;
  readonly purged: Counter<'operation'>;

  constructor(registry: Registry, store: Store, now: () => Date) {
    const buckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    this.claimLatency = new Histogram({
      name: 'ecomgate_async_claim_latency_seconds',
      help: 'Time from submit to the start of processing',
      labelNames: ['operation'],
      buckets,
      registers: [registry],
    });
    this.processingTime = new Histogram({
      name: 'ecomgate_async_processing_seconds',
      help: 'Time a worker spent on a task',
      labelNames: ['operation', 'status_code'],
      buckets,
      registers: [registry],
    });
    this.purged = new Counter({
      name: 'ecomgate_async_results_purged_total',
      help: 'Async results removed after their retention',
      labelNames: ['operation'],
      registers: [registry],
    });
    let stats: Promise<Awaited<ReturnType<typeof queueStats>>> | undefined;
    // One query per scrape serves both gauges.
    const read = () => (stats ??= queueStats(store).finally(() => setTimeout(() => (stats = undefined), 100)));
    new Gauge({
      name: 'ecomgate_async_queue_depth',
      help: 'Unfinished async tasks by operation and state',
      labelNames: ['operation', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of await read()) this.set({ operation: row.operation, state: row.state }, row.depth);
      },
    });
    new Gauge({
      name: 'ecomgate_async_oldest_task_age_seconds',
      help: 'Age of the oldest unfinished async task by operation',
      labelNames: ['operation'],
      registers: [registry],
      async collect() {
        this.reset();
        const oldest = new Map<string, number>();
        for (const row of await read()) {
          if (!row.oldest) continue;
          const age = (now().getTime() - Date.parse(row.oldest)) / 1000;
          oldest.set(row.operation, Math.max(oldest.get(row.operation) ?? 0, age));
        }
        for (const [operation, age] of oldest) this.set({ operation }, age);
      },
    });
  }
}
