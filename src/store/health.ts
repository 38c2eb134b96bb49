import type { Store } from './db.js';
import { statement } from './sql.js';

const ping = statement('store.ping', 'select 1');

/**
 * The readiness probe's question: can the store answer a statement now? Rejects when it cannot (a
 * restarted or unreachable database, a locked SQLite file), which the probe answers 503. On SQLite it waits
 * for a group commit in progress, as any read does.
 */
export async function pingStore(store: Store): Promise<void> {
  await store.sql.one(ping);
}
