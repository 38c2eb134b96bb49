import { setTimeout as delay } from 'node:timers/promises';
import { isRunning, kill, serve, type ServeProcess, stop } from '../../support/processes.js';

/**
 * Settings every chaos gateway runs with: short timeouts, leases and polls so that what a crash leaves
 * behind (a leased task, a leased webhook delivery, a transaction between A and B) is taken over within
 * seconds rather than the production minutes, so a run stays short.
 */
export const CHAOS_ENV: Record<string, string> = {
  // The shared per-shop limit stays on, as in production, with room for the test's load.
  ECOMGATE_RATE_LIMIT: '100000',
  ECOMGATE_ACQUIRER_TIMEOUT_MS: '1500',
  ECOMGATE_INQUIRY_DELAY_MS: '300',
  ECOMGATE_INQUIRY_MAX_DELAY_MS: '1000',
  ECOMGATE_ASYNC_LEASE_MS: '3000',
  ECOMGATE_ASYNC_POLL_MS: '200',
  ECOMGATE_ASYNC_CONCURRENCY: '50',
  ECOMGATE_WEBHOOK_TIMEOUT_MS: '2000',
  ECOMGATE_WEBHOOK_POLL_MS: '200',
};

/** A fixed number of gateway processes on one database, any of which can be killed and started again. */
export class Fleet {
  readonly processes: ServeProcess[] = [];
  /** Every process that ever ran, killed ones included (their logs are read afterwards). */
  readonly history: ServeProcess[] = [];
  kills = 0;
  private readonly killed = new Set<ServeProcess>();
  /** SIGKILL → the replacement listening, per kill, in ms. */
  readonly restartMs: number[] = [];

  constructor(
    private readonly databaseUrl: string,
    private readonly masterKey: string,
    private readonly env: Record<string, string> = {},
  ) {}

  async start(count: number): Promise<void> {
    // One at a time: the first runs the migrations, the others find them done.
    for (let i = 0; i < count; i++) this.processes.push(await this.launch());
  }

  /** Base URLs of the processes up now. */
  urls(): string[] {
    return this.processes.filter(isRunning).map((gateway) => gateway.url);
  }

  /** `kill -9` process `index` and start its replacement. */
  async killAndRestart(index: number): Promise<void> {
    const started = performance.now();
    this.killed.add(this.processes[index]!);
    await kill(this.processes[index]!);
    this.kills++;
    this.processes[index] = await this.launch();
    this.restartMs.push(performance.now() - started);
  }

  /**
   * Kills one process every `everyMs` (in turn) until `done` settles. Waiting here is the schedule of the
   * chaos itself, not a synchronisation: what is checked afterwards holds whenever the kills land.
   */
  async killPeriodically(everyMs: number, done: Promise<unknown>): Promise<void> {
    let finished = false;
    void done.finally(() => (finished = true)).catch(() => {});
    for (let victim = 0; ; victim = (victim + 1) % this.processes.length) {
      await Promise.race([delay(everyMs), done.catch(() => {})]);
      if (finished) return;
      await this.killAndRestart(victim);
    }
  }

  async stopAll(): Promise<void> {
    for (const gateway of this.processes) {
      this.killed.add(gateway);
      await stop(gateway);
    }
  }

  /** The last log lines of every process that died without being killed or stopped by the test. */
  crashes(): string[] {
    return this.history.filter((gateway) => !this.killed.has(gateway) && !isRunning(gateway)).map((gateway) => gateway.lines.slice(-15).join('\n'));
  }

  async killAll(): Promise<void> {
    for (const gateway of this.history) {
      this.killed.add(gateway);
      await kill(gateway);
    }
  }

  /** Log lines of every process that ever ran that match `pattern`. */
  linesMatching(pattern: RegExp): string[] {
    return this.history.flatMap((gateway) => gateway.lines.filter((line) => pattern.test(line)));
  }

  private async launch(): Promise<ServeProcess> {
    const gateway = await serve({ databaseUrl: this.databaseUrl, masterKey: this.masterKey, env: { ...CHAOS_ENV, ...this.env } });
    this.history.push(gateway);
    return gateway;
  }
}
