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

  /**
   * Listens until close(). A lost connection (database restart, cut network) is re-established with a
   * growing delay; meanwhile the workers' poll interval keeps them going.
   */
  async listen(onNotify: () => void, options: { schema?: string } = {}): Promise<void> {
    await this.connect(onNotify, options).catch((err: unknown) => {
      // Not even the first connection: the caller's start fails, so nothing is left retrying.
      this.closed = true;
      throw err;
    });
  }

  private async connect(onNotify: () => void, options: { schema?: string }, retryMs = 250): Promise<void> {
    const client = new pg.Client({
      connectionString: this.connectionString,
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    });
    let lost = false;
    const reconnect = (err: unknown) => {
      if (lost) return;
      lost = true;
      this.listener = undefined;
      client.end().catch(() => {});
      if (this.closed) return;
      this.log.warn({ err }, 'task notification connection lost; reconnecting');
      setTimeout(() => {
        // A missed NOTIFY while disconnected is covered by one wake-up now.
        this.connect(onNotify, options, Math.min(retryMs * 2, 5_000)).then(onNotify, () => {});
      }, retryMs).unref();
    };
    client.on('notification', () => onNotify());
    client.on('error', reconnect);
    client.on('end', () => reconnect(new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`listen ${CHANNEL}`);
    } catch (err) {
      reconnect(err);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
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
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
  }
}
