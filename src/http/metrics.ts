import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one gateway process (a registry per app, so tests can run several). */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'ecomgate_http_requests_total',
    help: 'HTTP requests by route, method and status code',
    labelNames: ['route', 'method', 'status_code'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'ecomgate_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly transactions = new Counter({
    name: 'ecomgate_transactions_total',
    help: 'Transactions answered (sync answers and stored async results), by type and status',
    labelNames: ['type', 'status'] as const,
    registers: [this.registry],
  });

  /** Counts an answer that carries a transaction: a sync response as it is sent, an async result as it is stored. */
  countAnswer(statusCode: number, body: unknown): void {
    const transaction = (body as { transaction?: { type: string; status: string } } | null)?.transaction;
    if (transaction && statusCode === 200) this.transactions.inc({ type: transaction.type, status: transaction.status });
  }
  readonly connectionsDropped = new Counter({
    name: 'ecomgate_http_connections_dropped_total',
    help: 'Client connections closed on arrival because ECOMGATE_MAX_CONNECTIONS were open',
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'ecomgate_auth_failures_total',
    help: 'Shop authentications that presented credentials and failed (unknown shop or wrong secret)',
    registers: [this.registry],
  });
  readonly authThrottled = new Counter({
    name: 'ecomgate_auth_throttled_total',
    help: 'Shop authentications answered 429: the client address, or the shop id, is over its failure limit',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });
  readonly inDoubtResolved = new Counter({
    name: 'ecomgate_in_doubt_resolved_total',
    help: 'Transactions whose unknown acquirer outcome was settled by inquiry',
    registers: [this.registry],
  });

  readonly cardEnumerationRefused = new Counter({
    name: 'ecomgate_card_enumeration_refused_total',
    help: 'Requests refused by the card guard (too many different numbers with the same shown digits), by shop',
    labelNames: ['shop'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'ecomgate_' });
  }
}
