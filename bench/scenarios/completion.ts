import { canStart } from '../budget.js';
import type { ServerProcess } from '../child.js';
import { waitForTasksDone, withGateway } from '../gateway.js';
import { sendCount } from '../load.js';
import type { BenchOptions, StoreKind } from '../options.js';
import { CpuMeter, type CpuShare } from '../proc.js';
import { DEMO_SHOP } from '../../test/support/shops.js';
import { medianOf, percentile } from '../stats.js';
import type { TaskLog, TaskTimes } from '../stores.js';
import { paymentTraffic, SUBMIT_CONNECTIONS } from '../traffic.js';

/**
 * Submit → completed, live: N async payments are submitted as fast as SUBMIT_CONNECTIONS connections
 * allow while the workers run, then each task's created/started/completed timestamps are read from the
 * async_tasks table once all are done, so nothing polls the gateway while it works. The completion rate
 * here cannot exceed the submit rate; the drain scenarios measure the workers' capacity.
 */
export interface CompletionFigures {
  /** Payments submitted and recorded (fewer than asked only if submitting hit its time bound). */
  payments: number;
  /** Submits answered non-2xx, tasks whose result is not a 200, and tasks not done in time. */
  failures: number;
  /** Submits per second while submitting. */
  submitRate: number;
  /** First task created → last task completed. */
  drainSec: number;
  /** Payments completed per second over drainSec. */
  completionRate: number;
  /** Per task, created → completed, and created → claimed by a worker. */
  p50Ms: number;
  p99Ms: number;
  queueWaitP50Ms: number;
  cpu: CpuShare;
  /** Gateway CPU milliseconds per completed payment (submit and processing together). */
  cpuMsPerPayment: number;
}

export interface CompletionScenario {
  runs: CompletionFigures[];
  median: CompletionFigures;
}

/** Submitted first and left out of the figures: the gateway's JIT and pools warm up on them. */
const WARM_UP_PAYMENTS = 100;
/** Bound on submitting the measured payments. */
const SUBMIT_MAX_SECONDS = 60;
const DRAIN_TIMEOUT_MS = 60_000;

function figuresOf(tasks: TaskTimes[], submit: { failures: number; seconds: number }, cpu: CpuShare): CompletionFigures {
  const done = tasks.filter((task) => task.completedAt !== undefined);
  const firstCreated = Math.min(...tasks.map((task) => task.createdAt));
  const lastCompleted = done.length ? Math.max(...done.map((task) => task.completedAt!)) : NaN;
  const drainSec = (lastCompleted - firstCreated) / 1000;
  const latencies = done.map((task) => task.completedAt! - task.createdAt);
  const queueWaits = tasks.filter((task) => task.startedAt !== undefined).map((task) => task.startedAt! - task.createdAt);
  const notApproved = done.filter((task) => task.statusCode !== 200).length;
  return {
    payments: tasks.length,
    failures: submit.failures + notApproved + (tasks.length - done.length),
    submitRate: Math.round(tasks.length / submit.seconds),
    drainSec,
    completionRate: Math.round(done.length / drainSec),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    queueWaitP50Ms: percentile(queueWaits, 50),
    cpu,
    cpuMsPerPayment: (cpu.serverSeconds * 1000) / done.length,
  };
}

/** Async payments against the zero-latency sandbox, submitted while the workers process them. */
export async function measureCompletion(kind: StoreKind, options: BenchOptions): Promise<CompletionScenario> {
  const runs: CompletionFigures[] = [];
  for (let run = 0; run < options.runs && (run === 0 || canStart()); run++) {
    runs.push(await withGateway(kind, options.postgresUrl, (gateway) => completionRun(gateway.server, gateway.store, options)));
  }
  return { runs, median: medianOf(runs) };
}

/** One run on a server whose async payments `log` records (the gateway's store, or the graphile-worker peer's). */
export async function completionRun(server: ServerProcess, log: TaskLog, options: BenchOptions): Promise<CompletionFigures> {
  const traffic = paymentTraffic(DEMO_SHOP, 'async', options.cards);
  const warmUp = await sendCount(server, traffic, SUBMIT_CONNECTIONS, WARM_UP_PAYMENTS, SUBMIT_MAX_SECONDS);
  if (warmUp.failures > 0 || !(await waitForTasksDone(log, warmUp.answered, SUBMIT_MAX_SECONDS * 1000))) {
    throw new Error(`warm-up async payments failed: ${JSON.stringify(warmUp.statusCodes)}`);
  }

  // Task timestamps come from the gateway's clock, on this same machine.
  const measuredFrom = Date.now();
  const meter = new CpuMeter(server.pid);
  const submit = await sendCount(server, traffic, SUBMIT_CONNECTIONS, options.livePayments, SUBMIT_MAX_SECONDS);
  await waitForTasksDone(log, warmUp.answered + submit.answered, DRAIN_TIMEOUT_MS);
  const cpu = meter.stop();
  const tasks = (await log.taskTimes()).filter((task) => task.createdAt >= measuredFrom);
  if (tasks.length === 0) throw new Error(`no async payment was accepted: ${JSON.stringify(submit.statusCodes)}`);
  return figuresOf(tasks, submit, cpu);
}
