import pg from 'pg';
import { Counter, type Registry } from 'prom-client';

/**
 * What the store sent to its database, counted where every query passes (the pg pool's client, the
 * SQLite statement cache), so a per-operation figure is measured, not estimated: the benchmark divides
 * the difference of two /metrics scrapes by the operations between them.
 *
 * - statements: SQL statements that read or write data; transaction control (BEGIN, COMMIT, ROLLBACK,
 *   SAVEPOINT, RELEASE) is left out.
 * - roundTrips (PostgreSQL only): every query sent to the server and waited for, transaction control
 *   included. SQLite runs in the process: it has none.
 *
 * Always on: a counter increment and an anchored regular expression per query.
 */
export interface QueryCounts {
  statements: number;
  roundTrips: number;
}

export const TRANSACTION_CONTROL = /^\s*(begin|commit|rollback|savepoint|release|start\s+transaction|end)\b/i;

export function countStatement(counts: QueryCounts, text: unknown): void {
  if (typeof text === 'string' && TRANSACTION_CONTROL.test(text)) return;
  counts.statements++;
}

/** The pg client's own `query`, which a pipelined transaction uses because it counts for itself. */
export const sendUncounted = Symbol('send uncounted');

/**
 * A pg client class (the pool's `Client` option) that counts each query it sends. Every query the
 * store runs, Kysely's and the pool's own, goes through `Client.query`.
 */
export function countingPgClient(counts: QueryCounts): typeof pg.Client {
  const send = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
  class CountingClient extends pg.Client {}
  // A pipelined transaction (store/sql.ts) counts its own statements and round trips (one per write).
  (CountingClient.prototype as unknown as Record<symbol, unknown>)[sendUncounted] = send;
  // pg's overloads (text, config object, submittable) all arrive here; only the text is looked at.
  CountingClient.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0];
    counts.roundTrips++;
    countStatement(counts, typeof first === 'string' ? first : (first as { text?: unknown } | null)?.text);
    return send.apply(this, args);
  } as pg.Client['query'];
  return CountingClient;
}

/** ecomgate_store_statements_total and ecomgate_store_round_trips_total, read from `counts` at each scrape. */
export function registerQueryCounters(registry: Registry, counts: QueryCounts): void {
  const counter = (name: string, help: string, value: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(value());
      },
    });
  counter('ecomgate_store_statements_total', 'SQL statements the store ran (transaction control not counted)', () => counts.statements);
  counter(
    'ecomgate_store_round_trips_total',
    'Queries the store sent to PostgreSQL and waited for, BEGIN/COMMIT/ROLLBACK included (0 on SQLite)',
    () => counts.roundTrips,
  );
}
