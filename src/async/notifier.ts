import pg from 'pg';
import type { Logger } from 'pino';

const CHANNEL = 'ecomgate_tasks';
/** At most one NOTIFY per this many milliseconds from one process. */
const NOTIFY_INTERVAL_MS = 5;

/**
 * Cross-process wake-up on PostgreSQL. Workers LISTEN on one dedicated connection. Submits do not NOTIFY
 * inside their transaction (that serialises commits in PostgreSQL, see DESIGN.md): a NOTIFY is sent after
 * the commit, on its own, and coalesced so a burst of submits sends one. The workers' poll interval
 * covers a lost notification.
 */
export class TaskNotifier {
  private listener: pg.Client | undefined;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly connectionString: string,
    private readonly send: () => Promise<unknown>,
    private readonly log: Logger,
  ) {}

  static notifyStatement = `select pg_notify('${CHANNEL}', '')`;

  async listen(onNotify: () => void, options: { schema?: string } = {}): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}) });
    client.on('notification', () => onNotify());
    client.on('error', (err) => {
      this.log.warn({ err }, 'task notification connection lost; reconnecting');
      this.listener = undefined;
      if (!this.closed) setTimeout(() => this.listen(onNotify, options).catch(() => {}), 1000).unref();
    });
    await client.connect();
    await client.query(`listen ${CHANNEL}`);
    this.listener = client;
  }

  poke(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setTimeout(() => {
      this.send()
        .catch((err) => this.log.warn({ err }, 'task notification failed; workers will poll'))
        .finally(() => (this.scheduled = false));
    }, NOTIFY_INTERVAL_MS).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.listener?.end().catch(() => {});
  }
}
