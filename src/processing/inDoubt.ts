import { Gauge, type Registry } from 'prom-client';
import type { Store } from '../store/db.js';
import { countInDoubtTransactions, type InDoubtRow, listInDoubtCreatedBy } from '../store/inDoubt.js';

/**
 * Unknown outcomes the resolver has not settled by the deadline (ECOMGATE_IN_DOUBT_DEADLINE, default 24 h
 * after creation) are flagged for the operator: listed at GET /admin/in-doubt and counted by the gauge
 * ecomgate_in_doubt_transactions{flagged="true"}. The resolver keeps inquiring them (back-off capped at
 * ECOMGATE_INQUIRY_MAX_DELAY_MS); flagging changes nothing in the row.
 */
export type InDoubtEntry = InDoubtRow & { flagged_since: string };

const cutoff = (now: Date, deadlineMs: number) => new Date(now.getTime() - deadlineMs).toISOString();

export async function listInDoubt(store: Store, now: Date, deadlineMs: number, limit = 1000): Promise<InDoubtEntry[]> {
  const rows = await listInDoubtCreatedBy(store.sql, cutoff(now, deadlineMs), limit);
  return rows.map((row) => ({
    ...row,
    shop_id: Number(row.shop_id),
    amount: Number(row.amount),
    inquiry_attempts: Number(row.inquiry_attempts),
    flagged_since: new Date(Date.parse(row.created_at) + deadlineMs).toISOString(),
  }));
}

export async function countInDoubt(store: Store, now: Date, deadlineMs: number): Promise<{ flagged: number; unflagged: number }> {
  const { total, flagged } = await countInDoubtTransactions(store.sql, cutoff(now, deadlineMs));
  return { flagged, unflagged: total - flagged };
}

/** ecomgate_in_doubt_transactions{flagged}: read from the database at each scrape (same in every process). */
export function registerInDoubtGauge(registry: Registry, store: Store, now: () => Date, deadlineMs: number): Gauge {
  return new Gauge({
    name: 'ecomgate_in_doubt_transactions',
    help: 'Transactions whose acquirer outcome is still unknown (pending/processing); flagged="true" once past ECOMGATE_IN_DOUBT_DEADLINE',
    labelNames: ['flagged'] as const,
    registers: [registry],
    async collect() {
      const { flagged, unflagged } = await countInDoubt(store, now(), deadlineMs);
      this.set({ flagged: 'true' }, flagged);
      this.set({ flagged: 'false' }, unflagged);
    },
  });
}
