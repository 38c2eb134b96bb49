import type { Logger } from 'pino';
import type { Shop } from '../domain/shop.js';
import type { ApiResponse, ProcessingContext, TaskCompletion } from '../processing/context.js';
import { inApiVersion } from '../processing/apiVersion.js';
import { InquiryNotDue } from '../processing/idempotency.js';
import { faultLevel } from '../domain/faults.js';
import { claimTasks, completeTask, deferTask, releaseTask, renewTaskLease } from '../store/tasks.js';
import type { AsyncTaskTable } from '../store/schema.js';
import { QueueWorkers } from '../workers/claimLoop.js';
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
  /** Called with each result stored (ecomgate_transactions_total counts async results as sync answers). */
  onResult?: (statusCode: number, body: unknown) => void;
}

const CLAIM_BATCH = 100;

/**
 * The async task workers of one process, on the shared claim loop (src/workers/claimLoop.ts): a submit in
 * this process or a NOTIFY from another wakes it, the poll interval covers the rest.
 */
export class TaskWorkers extends QueueWorkers<AsyncTaskTable> {
  constructor(private readonly options: WorkerOptions) {
    super({ name: 'async tasks', concurrency: options.concurrency, batch: CLAIM_BATCH, pollMs: options.pollMs, log: options.log });
  }

  protected async claim(limit: number): Promise<AsyncTaskTable[]> {
    const { ctx } = this.options;
    const now = ctx.now();
    const tasks = await ctx.store.write((tx) =>
      claimTasks(tx, this.owner, now.toISOString(), new Date(now.getTime() + this.options.leaseMs).toISOString(), limit),
    );
    for (const task of tasks) {
      this.options.metrics.claimLatency.observe({ operation: task.operation }, Math.max(0, now.getTime() - Date.parse(task.created_at)) / 1000);
    }
    return tasks;
  }

  protected async run(task: AsyncTaskTable): Promise<void> {
    const { ctx, log, metrics } = this.options;
    const started = performance.now();
    // A live worker keeps its lease, so only a dead one's task is ever taken over.
    const heartbeat = setInterval(
      () => {
        const until = new Date(ctx.now().getTime() + this.options.leaseMs).toISOString();
        ctx.store
          .write((tx) => renewTaskLease(tx, task.id, this.owner, until))
          .catch((err) => log.warn({ err, task: task.id }, 'renewing an async task lease failed'));
      },
      Math.max(50, Math.floor(this.options.leaseMs / 3)),
    );
    heartbeat.unref();
    try {
      const shop = await this.options.shopOf(Number(task.shop_id));
      if (!shop) throw new Error(`async task ${task.id}: shop ${task.shop_id} is gone`);
      const completion: TaskCompletion = { id: task.id, owner: this.owner };
      const onFault = (err: unknown) => log[faultLevel(err)]({ err, task: task.id, operation: task.operation }, 'async task fault');
      let response: ApiResponse;
      try {
        response = await runTask(ctx, shop, task, onFault, completion);
      } catch (err) {
        if (!(err instanceof InquiryNotDue)) throw err;
        // Waiting here would hold a slot for seconds while other tasks queue: the lease brings it back.
        await ctx.store.write((tx) => deferTask(tx, task.id, this.owner, err.dueAt.toISOString()));
        return;
      }
      // A payment's result is stored by its transaction B; any other answer (a refusal, a query) here.
      let stored = completion.completed === true;
      if (!stored) {
        const answer = inApiVersion(completion.apiVersion ?? 2, response);
        const result = { status_code: answer.statusCode, response: JSON.stringify(answer.body), completed_at: ctx.now().toISOString() };
        stored = await ctx.store.write((tx) => completeTask(tx, task.id, this.owner, result));
        if (!stored) log.warn({ task: task.id }, 'async task was taken over before it completed; its result is kept by the new owner');
      }
      if (stored) this.options.onResult?.(response.statusCode, response.body);
      metrics.processingTime.observe({ operation: task.operation, status_code: String(response.statusCode) }, (performance.now() - started) / 1000);
    } catch (err) {
      // Store unreachable or similar: leave the task to its lease; another attempt resumes it.
      log[faultLevel(err)]({ err, task: task.id }, 'async task could not be completed; it will be retried after its lease');
      if (this.loop.stopping) await ctx.store.write((tx) => releaseTask(tx, task.id, this.owner)).catch(() => {});
    } finally {
      clearInterval(heartbeat);
    }
  }
}
