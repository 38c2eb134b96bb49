import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

/** A process that dies this soon after it started is restarted after a pause (no tight crash loop). */
const QUICK_DEATH_MS = 5_000;
const RESTART_PAUSE_MS = 1_000;

/**
 * `ecomgate serve --cluster N`: the primary forks N processes running `serve` with the same arguments and
 * environment (so the same role). They share the listening port (node:cluster hands connections round
 * robin). The primary opens no database. A process that dies is replaced; SIGTERM/SIGINT is passed on to
 * every process, each shuts down gracefully, and the primary exits 0 when all of them did.
 */
export function runCluster(processes: number, log: Logger): Promise<void> {
  let stopping = false;
  const started = new Map<number, number>();

  const fork = () => {
    const worker = cluster.fork();
    started.set(worker.id, Date.now());
    log.info({ worker: worker.id, pid: worker.process.pid }, 'cluster process started');
    return worker;
  };

  return new Promise<void>((resolve) => {
    let failed = false;
    cluster.on('exit', (worker: Worker, code: number | null, signal: string | null) => {
      const lived = Date.now() - (started.get(worker.id) ?? 0);
      started.delete(worker.id);
      if (stopping) {
        // Killed by the SIGTERM itself: a replacement still starting, before it had its handler.
        if (code !== 0 && signal !== 'SIGTERM') failed = true;
        log.info({ worker: worker.id, pid: worker.process.pid, code, signal }, 'cluster process stopped');
        if (Object.keys(cluster.workers ?? {}).length === 0) {
          log.info({ failed }, 'cluster stopped');
          process.exit(failed ? 1 : 0);
        }
        return;
      }
      log.error({ worker: worker.id, pid: worker.process.pid, code, signal }, 'cluster process died; starting another');
      setTimeout(
        () => {
          if (!stopping) fork();
        },
        lived < QUICK_DEATH_MS ? RESTART_PAUSE_MS : 0,
      ).unref();
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (stopping) return;
        stopping = true;
        log.info({ signal, processes: Object.keys(cluster.workers ?? {}).length }, 'cluster shutting down: passing the signal on');
        const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
        if (workers.length === 0) process.exit(0);
        for (const worker of workers) worker.process.kill('SIGTERM');
        resolve();
      });
    }
    log.info({ processes, pid: process.pid }, 'cluster primary started');
    for (let i = 0; i < processes; i++) fork();
  });
}
