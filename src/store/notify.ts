import { sql } from 'kysely';
import type { Store } from './db.js';

/**
 * Sends a PostgreSQL NOTIFY on the store's pool, autocommitted and outside any transaction (a NOTIFY inside
 * one serialises commits: DESIGN.md). The statement's text comes from its owner, the async task notifier
 * (src/async/notifier.ts `TaskNotifier.notifyStatement`), which also LISTENs on the channel it names.
 */
export async function sendNotify(store: Store, notifyStatement: string): Promise<void> {
  await sql.raw(notifyStatement).execute(store.db);
}
