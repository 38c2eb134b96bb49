import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Shop } from '../domain/shop.js';
import type { ProcessingContext } from '../processing/context.js';
import { claimTasks, completeTask, releaseTask } from '../store/tasks.js';
import type { AsyncTaskTable } from '../store/schema.js';
import type { AsyncMetrics } from './metrics.js';
import { runTask } from './runner.js';

export interface WorkerOptions {
  ctx: ProcessingContext;
  shopOf: (id: number) => Promise<Shop | undefined>;
  log: Logger;
  metrics: AsyncMetrics;
  /** Tasks in flight in this process: sized for slow banks (hundreds waiting on I/O), not for cores. */
  concurrency: number;
  /** How long a claim holds; a worker that died is taken over after it. Longer than any acquirer call. */
  leaseMs: number;
  /** Fallback wake-up when no signal came (expired leases of dead workers, missed notifications). */
  pollMs: number;
}

const CLAIM_BATCH = 100;

/**
 * The async task workers of one process. One claim loop fills free slots with a single claim query each
 * round; it sleeps until woken (a submit in this process, a NOTIFY from another, a slot freed) or until
 * the poll interval passes, so an idle gateway picks a new task up at once without busy polling.
 */
export class TaskWorkers {
  readonly owner = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly inFlight = new Map<string, Promise<void>>();
  private stopping = false;
  private woken = false;
  private wakeUp: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;

  constructor(private readonly options: WorkerOptions) {}

  start(): void {
    this.loopDone ??= this.loop();
  }

  /** Something may be claimable: a task was submitted, or a slot freed. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  get busy(): number {
    return this.inFlight.size;
  }

  /** Graceful stop: claim nothing more, let in-flight tasks finish (each is bounded by the acquirer timeout). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loopDone;
    await Promise.allSettled(this.inFlight.values());
  }

  /** Claims and runs what is claimable now, and waits for it (tests drive the queue this way). */
  async drain(): Promise<void> {
    for (;;) {
      const claimed = await this.claim(this.options.concurrency);
      if (claimed === 0 && this.inFlight.size === 0) return;
      await Promise.allSettled(this.inFlight.values());
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const free = this.options.concurrency - this.inFlight.size;
      let claimed = 0;
      if (free > 0) {
        try {
          claimed = await this.claim(Math.min(free, CLAIM_BATCH));
        } catch (err) {
          this.options.log.error({ err }, 'claiming async tasks failed');
        }
      }
      // A full batch may mean more is waiting: claim again at once while slots are free.
      if (claimed === CLAIM_BATCH && this.inFlight.size < this.options.concurrency) continue;
      await this.idle();
    }
  }

  private idle(): Promise<void> {
    if (this.woken || this.stopping) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.options.pollMs);
      timer.unref();
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakeUp = undefined;
        self.woken = false;
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async claim(limit: number): Promise<number> {
    const { ctx } = this.options;
    const now = ctx.now();
    const tasks = await claimTasks(ctx.store, this.owner, now.toISOString(), new Date(now.getTime() + this.options.leaseMs).toISOString(), limit);
    for (const task of tasks) {
      this.options.metrics.claimLatency.observe({ operation: task.operation }, Math.max(0, now.getTime() - Date.parse(task.created_at)) / 1000);
      const running = this.run(task).finally(() => {
        this.inFlight.delete(task.id);
        this.wake();
      });
      this.inFlight.set(task.id, running);
    }
    return tasks.length;
  }

  private async run(task: AsyncTaskTable): Promise<void> {
    const { ctx, log, metrics } = this.options;
    const started = performance.now();
    try {
      const shop = await this.options.shopOf(Number(task.shop_id));
      if (!shop) throw new Error(`async task ${task.id}: shop ${task.shop_id} is gone`);
      const response = await runTask(ctx, shop, task, (err) => log.error({ err, task: task.id, operation: task.operation }, 'async task fault'));
      const completed = await completeTask(ctx.store.db, task.id, this.owner, {
        status_code: response.statusCode,
        response: JSON.stringify(response.body),
        completed_at: ctx.now().toISOString(),
      });
      if (!completed) log.warn({ task: task.id }, 'async task was taken over before it completed; its result is kept by the new owner');
      metrics.processingTime.observe({ operation: task.operation, status_code: String(response.statusCode) }, (performance.now() - started) / 1000);
    } catch (err) {
      // Store unreachable or similar: leave the task to its lease; another attempt resumes it.
      log.error({ err, task: task.id }, 'async task could not be completed; it will be retried after its lease');
      if (this.stopping) await releaseTask(ctx.store.db, task.id, this.owner).catch(() => {});
    }
  }
}
