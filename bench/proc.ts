import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/**
 * Linux /proc readers: CPU time and peak memory of a child, the whole machine's CPU time, and the port a
 * child listens on. The benchmark shares 2 cores between the gateway, the load generator and PostgreSQL,
 * so who used the CPU during a run says what limited it.
 */

/** Kernel clock ticks per second (USER_HZ); 100 on every mainstream Linux build. */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces: the numeric fields start after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / TICKS_PER_SECOND;
}

/** CPU seconds of a process and its live descendants (`serve --cluster N` forks its workers). */
export function processTreeCpuSeconds(pid: number): number {
  let total = processCpuSeconds(pid);
  for (const child of childPids(pid)) {
    try {
      total += processTreeCpuSeconds(child);
    } catch {
      // The child ended while we looked.
    }
  }
  return total;
}

function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/**
 * CPU seconds used so far by each PostgreSQL process (server and backends), by pid. Every backend on
 * the machine counts, including other people's sessions: what PostgreSQL cost the machine.
 */
function postgresCpuSecondsByPid(): Map<number, number> {
  const byPid = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
      byPid.set(Number(entry), processCpuSeconds(Number(entry)));
    } catch {
      // The process ended while we looked.
    }
  }
  return byPid;
}

/** Busy CPU seconds of the whole machine (all cores, idle and iowait excluded). */
export function machineBusyCpuSeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  // cpu  user nice system idle iowait irq softirq steal ...
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / TICKS_PER_SECOND;
}

/** Peak resident set size (VmHWM) in megabytes. */
export function peakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmHWM for process ${pid}`);
  return Number(match[1]) / 1024;
}

/**
 * The TCP port a process listens on, or undefined while it has none. Used when the gateway runs at log
 * level warn, where its "ecomgate listening" line (logged at info) is not written.
 */
export function listeningPort(pid: number): number | undefined {
  const sockets = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) sockets.add(match[1]!);
    } catch {
      // The descriptor closed while we looked.
    }
  }
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const row of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const columns = row.trim().split(/\s+/);
      const [, local, , state, , , , , , inode] = columns;
      // State 0A is LISTEN; the local address is hex "ADDR:PORT".
      if (state === '0A' && inode && sockets.has(inode)) return parseInt(local!.split(':')[1]!, 16);
    }
  }
  return undefined;
}

/** CPU use of the server, the load generator and everything else over one measured interval, in cores. */
export interface CpuShare {
  server: number;
  /** The server's CPU seconds over the interval (divided by the work done: CPU cost per request). */
  serverSeconds: number;
  loadGenerator: number;
  /** PostgreSQL's processes (backends that ended during the interval fall under `other`). */
  postgres: number;
  /** Anything else running on the machine (other people's tests, the kernel's network work). */
  other: number;
}

/**
 * Measures from its creation to stop(). The server is named either at once (its CPU counted from now) or,
 * for a server that works before it listens, after it started (`watch(pid, { sinceStart: true })`: all
 * its CPU counts, start-up included).
 */
export class CpuMeter {
  private readonly start = {
    wall: performance.now(),
    server: 0,
    self: process.cpuUsage(),
    postgres: postgresCpuSecondsByPid(),
    machine: machineBusyCpuSeconds(),
  };
  private serverPid: number | undefined;

  constructor(serverPid?: number) {
    if (serverPid !== undefined) this.watch(serverPid);
  }

  watch(serverPid: number, options: { sinceStart?: boolean } = {}): this {
    this.serverPid = serverPid;
    this.start.server = options.sinceStart ? 0 : processTreeCpuSeconds(serverPid);
    return this;
  }

  private postgresSince(): number {
    let total = 0;
    for (const [pid, seconds] of postgresCpuSecondsByPid()) total += seconds - (this.start.postgres.get(pid) ?? 0);
    return total;
  }

  stop(): CpuShare {
    const seconds = (performance.now() - this.start.wall) / 1000;
    if (this.serverPid === undefined) throw new Error('CpuMeter: no server to measure');
    const server = processTreeCpuSeconds(this.serverPid) - this.start.server;
    const self = process.cpuUsage(this.start.self);
    const loadGenerator = (self.user + self.system) / 1e6;
    const postgres = this.postgresSince();
    const machine = machineBusyCpuSeconds() - this.start.machine;
    const round = (value: number) => Math.round((value / seconds) * 100) / 100;
    return {
      server: round(server),
      serverSeconds: server,
      loadGenerator: round(loadGenerator),
      postgres: round(postgres),
      other: round(Math.max(0, machine - server - loadGenerator - postgres)),
    };
  }
}
