import type { Logger } from 'pino';
import { faultLevel } from '../domain/faults.js';

export interface PeriodicJobOptions<Result> {
  /** What the job is, for its logs ("in-doubt resolver", "expiry sweeper"). */
  name: string;
  /** Pause between the end of one run and the start of the next. */
  intervalMs: number;
  run(): Promise<Result>;
  log: Logger;
}

/**
 * A piece of background work done every so often (the in-doubt resolver, the retention and expiry
 * sweepers). The next run is scheduled only when the previous one ended, so a slow database never piles
 * runs up; a run started by hand (tests, `runNow`) waits for the one in flight instead of racing it. The
 * timer is unref'd: a job alone never keeps the process alive.
 *
 * The claim loops (claimLoop.ts) are not built on it: they are not periodic but sleep until woken (new
 * work, a NOTIFY, a freed slot), claim again at once after a full batch, and poll only as a fallback.
 */
export class PeriodicJob<Result = unknown> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private started = false;

  constructor(private readonly options: PeriodicJobOptions<Result>) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule();
  }

  /** One run now, after the one in flight; its failure is the caller's (the timer's runs log theirs). */
  runNow(): Promise<Result> {
    return this.after(() => this.options.run());
  }

  /** No further runs; waits for the one in flight, so nothing touches the store after close. */
  async stop(): Promise<void> {
    this.started = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running.catch(() => {});
  }

  private after<T>(work: () => Promise<T>): Promise<T> {
    const next = this.running.catch(() => {}).then(work);
    this.running = next;
    return next;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const { log, name } = this.options;
      // Queued behind a run by hand, it may begin after stop(): then it does nothing.
      this.after(async () => (this.started ? this.options.run() : undefined))
        .catch((err) => log[faultLevel(err)]({ err, job: name }, `${name} failed`))
        .finally(() => {
          if (this.started) this.schedule();
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }
}
