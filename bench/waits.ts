import pg from 'pg';
import { BENCH_APPLICATION_NAME } from './stores.js';

/**
 * What the gateway's PostgreSQL backends wait on while a scenario runs: pg_stat_activity sampled every
 * SAMPLE_INTERVAL_MS on a connection of its own, filtered to the benchmark's application_name. A backend
 * sample is counted unless the backend is idle (waiting for the gateway's next query outside any
 * transaction): active on a wait event ("IO:WALSync"), active with none ("CPU"), or waiting for the
 * gateway inside a transaction ("idle in transaction").
 */
export interface WaitFigures {
  /** Backend samples counted (one per non-idle backend per sampling). */
  samples: number;
  /** The five most frequent, with their share of the samples. */
  top: { event: string; share: number }[];
  /** Share of samples waiting on a heavyweight lock (wait_event_type Lock: rows, advisory locks, ...). */
  lockShare: number;
}

const SAMPLE_INTERVAL_MS = 10;

const SAMPLE = `select state, wait_event_type, wait_event from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid() and state is not null and state <> 'idle'`;

interface ActivityRow {
  state: string;
  wait_event_type: string | null;
  wait_event: string | null;
}

function eventOf(row: ActivityRow): string {
  if (row.state !== 'active') return row.state;
  return row.wait_event_type ? `${row.wait_event_type}:${row.wait_event}` : 'CPU';
}

/** Samples while running (between `start` and `stop`); the counts add up over several runs. */
export class WaitSampler {
  private readonly counts = new Map<string, number>();
  private client: pg.Client | undefined;
  private connected: Promise<unknown> | undefined;
  private sampling: Promise<void> | undefined;
  private running = false;

  constructor(private readonly postgresUrl: string) {}

  async start(): Promise<void> {
    this.client ??= new pg.Client({ connectionString: this.postgresUrl });
    const client = this.client;
    this.connected ??= client.connect();
    await this.connected;
    this.running = true;
    this.sampling = this.loop(client);
  }

  private async loop(client: pg.Client): Promise<void> {
    while (this.running) {
      const { rows } = await client.query<ActivityRow>(SAMPLE, [BENCH_APPLICATION_NAME]);
      for (const row of rows) this.counts.set(eventOf(row), (this.counts.get(eventOf(row)) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_INTERVAL_MS));
    }
  }

  /** Stops sampling (start() resumes on the same connection). */
  async pause(): Promise<void> {
    this.running = false;
    await this.sampling;
  }

  async stop(): Promise<WaitFigures> {
    await this.pause();
    await this.client?.end();
    this.client = this.connected = undefined;
    return this.figures();
  }

  figures(): WaitFigures {
    const samples = [...this.counts.values()].reduce((sum, count) => sum + count, 0);
    const share = (count: number) => (samples ? count / samples : NaN);
    const top = [...this.counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([event, count]) => ({ event, share: share(count) }));
    const locks = [...this.counts.entries()].filter(([event]) => event.startsWith('Lock:')).reduce((sum, [, count]) => sum + count, 0);
    return { samples, top, lockShare: share(locks) };
  }
}
