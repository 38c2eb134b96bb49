import autocannon, { type Options, type Request, type Result } from 'autocannon';
import type { ServerProcess } from './child.js';
import { withinBudget } from './budget.js';
import { CpuMeter, type CpuShare } from './proc.js';

/**
 * The load generator: autocannon in this process (closed loop: each connection sends its next request
 * when the previous answer arrives), against one server child on loopback.
 */

/** Either one request repeated, or a list every connection cycles through. */
export type Traffic = Request | { requests: Request[] };

export interface LoadFigures {
  /** Successful (2xx) answers per second. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers, connection errors and timeouts. */
  failures: number;
  cpu: CpuShare;
  /**
   * The server's CPU milliseconds per successful request. Unlike req/s it holds when other processes
   * share the cores, so it still says something on a busy machine.
   */
  cpuMsPerRequest: number;
}

const REQUEST_TIMEOUT_SEC = 30;

/** autocannon takes a single request's path from the URL (it ignores a top-level `path`). */
function optionsFor(server: ServerProcess, traffic: Traffic, connections: number): Options {
  const base = { connections, timeout: REQUEST_TIMEOUT_SEC };
  if ('requests' in traffic) return { ...base, url: server.url, ...traffic };
  const { path, ...request } = traffic;
  return { ...base, url: server.url + (path ?? '/'), ...request };
}

function failuresOf(result: Result): number {
  return result.non2xx + result.errors + result.timeouts;
}

/** Load at `connections` for `durationSec`, with the CPU use of server, load generator and the rest. */
export async function measureThroughput(server: ServerProcess, traffic: Traffic, connections: number, durationSec: number): Promise<LoadFigures> {
  const meter = new CpuMeter(server.pid);
  const result = await autocannon({ ...optionsFor(server, traffic, connections), duration: durationSec });
  const cpu = meter.stop();
  return {
    rps: Math.round(result['2xx'] / result.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    failures: failuresOf(result),
    cpu,
    cpuMsPerRequest: (cpu.serverSeconds * 1000) / result['2xx'],
  };
}

/** Unmeasured load, so the server's JIT and pools are warm before the measured run. */
export async function warmUp(server: ServerProcess, traffic: Traffic, connections: number, durationSec: number): Promise<void> {
  await autocannon({ ...optionsFor(server, traffic, connections), duration: durationSec });
}

/**
 * Sends `count` requests as fast as `connections` allow, or fewer if `maxSeconds` pass first (a busy
 * machine must not stretch the benchmark without bound); answers what was sent and how it went.
 */
export async function sendCount(server: ServerProcess, traffic: Traffic, connections: number, count: number, maxSeconds: number) {
  const run = autocannon({ ...optionsFor(server, traffic, connections), amount: count });
  const deadline = setTimeout(() => run.stop(), withinBudget(maxSeconds * 1000));
  const result = await run;
  clearTimeout(deadline);
  return { answered: result['2xx'], failures: failuresOf(result), seconds: result.duration, statusCodes: result.statusCodeStats };
}
