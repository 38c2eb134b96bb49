import type { LoadFigures } from './load.js';
import type { BenchOptions, StoreKind } from './options.js';
import type { CpuShare } from './proc.js';
import type { CompletionFigures, CompletionScenario } from './scenarios/completion.js';
import type { DrainFigures, DrainScenario } from './scenarios/drain.js';
import type { PeerFigures } from './scenarios/peer.js';
import { PGBENCH_SHAPE, type PgbenchFigures } from './scenarios/pgbench.js';
import type { StatementCounts } from './scenarios/statements.js';
import type { StoreInsertFigures } from './scenarios/store.js';
import type { ThroughputScenario } from './scenarios/throughput.js';
import type { WaitFigures } from './waits.js';

/** Everything one store was measured at; a scenario that failed or was skipped has its reason in `errors`. */
export interface StoreResults {
  /** The store's own baseline: single-row durable inserts. */
  storeInsert?: StoreInsertFigures;
  /** PostgreSQL's own reference: pgbench simple-update on a scratch database. */
  pgbench?: PgbenchFigures;
  /** The async-mode reference built on graphile-worker (PostgreSQL). */
  graphilePeer?: PeerFigures;
  /** Statements and round trips per operation, counted by the store. */
  statements?: StatementCounts;
  asyncSubmit?: ThroughputScenario;
  asyncAcceptOnly?: ThroughputScenario;
  syncPayment?: ThroughputScenario;
  statusPoll?: ThroughputScenario;
  authorizationCapture?: ThroughputScenario;
  refund?: ThroughputScenario;
  queryByUid?: ThroughputScenario;
  /** Async submit on `serve --cluster 2` (PostgreSQL). */
  clusterSubmit?: ThroughputScenario;
  completion?: CompletionScenario;
  zeroLatencyDrain?: DrainScenario;
  slowBankDrain?: DrainScenario;
  errors: Record<string, string>;
}

export interface BenchResults {
  startedAt: string;
  elapsedSec: number;
  options: BenchOptions;
  machine: { cores: number; node: string; loadAverageBefore: number[]; loadAverageAfter: number[] };
  echo: ThroughputScenario;
  stores: Partial<Record<StoreKind, StoreResults>>;
  verdicts: Verdict[];
}

export interface Verdict {
  store: StoreKind;
  target: string;
  met: boolean | undefined;
  measured: string;
}

const integer = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-');
const decimal = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

const header = [
  'scenario',
  'store',
  'rate/s',
  'ratio',
  'p50 ms',
  'p99 ms',
  'fail',
  'gw cpu ms/op',
  'cpu gw',
  'cpu load',
  'cpu pg',
  'cpu other',
  'notes',
];

interface Row {
  name: string;
  store: string;
  rate: number;
  ratio: string;
  p50Ms: number;
  p99Ms: number;
  failures: number;
  cpuMsPerOp: number;
  cpu: CpuShare;
  notes?: string;
}

function cells(row: Row): string[] {
  const { cpu } = row;
  return [
    row.name,
    row.store,
    integer(row.rate),
    row.ratio,
    integer(row.p50Ms),
    integer(row.p99Ms),
    integer(row.failures),
    decimal(row.cpuMsPerOp),
    decimal(cpu.server),
    decimal(cpu.loadGenerator),
    decimal(cpu.postgres),
    decimal(cpu.other),
    row.notes ?? '',
  ];
}

const ratioTo = (value: number, base: number, unit: string) => `${decimal(value / base)}× ${unit}`;

function loadRow(name: string, store: string, figures: LoadFigures, echoRps: number, notes?: string): Row {
  return { name, store, rate: figures.rps, ratio: ratioTo(figures.rps, echoRps, 'echo'), ...figures, cpuMsPerOp: figures.cpuMsPerRequest, notes };
}

const noCpu: CpuShare = { server: NaN, serverSeconds: NaN, loadGenerator: NaN, postgres: NaN, other: NaN };

function storeInsertRow(store: string, figures: StoreInsertFigures, echoRps: number): Row {
  return {
    name: 'store: single-row durable insert (baseline)',
    store,
    rate: figures.rps,
    ratio: ratioTo(figures.rps, echoRps, 'echo'),
    ...figures,
    failures: 0,
    cpuMsPerOp: NaN,
    cpu: noCpu,
    notes: `one commit per row${store === 'postgres' ? ', 50 in flight on 10 connections' : ''}; ${integer(figures.batchedRowsPerSec)} rows/s at 100 rows per commit`,
  };
}

/** Async submit's rate against the store's single-row durable insert rate (what one commit per submit would allow). */
const versusInserts = (submit: LoadFigures, inserts: StoreInsertFigures | undefined) =>
  inserts ? `${decimal(submit.rps / inserts.rps)}× the store's single-row insert rate` : undefined;

function pgbenchRow(figures: PgbenchFigures, echoRps: number): Row {
  return {
    name: 'reference: pgbench simple-update',
    store: 'postgres',
    rate: figures.tps,
    ratio: ratioTo(figures.tps, echoRps, 'echo'),
    p50Ms: NaN,
    p99Ms: NaN,
    failures: 0,
    cpuMsPerOp: NaN,
    cpu: noCpu,
    notes: `${PGBENCH_SHAPE}; latency average ${decimal(figures.latencyAvgMs)} ms; a scratch database of its own`,
  };
}

function peerRows(peer: PeerFigures, echoRps: number): Row[] {
  const rows: Row[] = [];
  if (peer.submit)
    rows.push(
      loadRow('reference: graphile-worker peer, submit (workers stopped)', 'postgres', peer.submit.median, echoRps, 'Fastify route calling addJob'),
    );
  if (peer.completion)
    rows.push(completionRow('postgres', peer.completion.median, echoRps, 'reference: graphile-worker peer, submit→completed live'));
  if (peer.drain)
    rows.push(
      drainRow(`reference: graphile-worker peer, drain`, 'postgres', peer.drain.median, ratioTo(peer.drain.median.drainRate, echoRps, 'echo')),
    );
  return rows;
}

function completionRow(store: string, figures: CompletionFigures, echoRps: number, name = 'submit→completed, live, 0 ms bank'): Row {
  return {
    name,
    store,
    rate: figures.completionRate,
    ratio: ratioTo(figures.completionRate, echoRps, 'echo'),
    ...figures,
    cpuMsPerOp: figures.cpuMsPerPayment,
    notes: `${integer(figures.payments)} payments submitted at ${integer(figures.submitRate)}/s; queue wait p50 ${integer(figures.queueWaitP50Ms)} ms`,
  };
}

function drainRow(name: string, store: string, figures: DrainFigures, ratio: string): Row {
  return {
    name,
    store,
    rate: figures.drainRate,
    ratio,
    ...figures,
    cpuMsPerOp: figures.cpuMsPerPayment,
    notes:
      (figures.unfinished ? `CUT SHORT: ${integer(figures.unfinished)} not done; ` : '') +
      `${integer(figures.payments)} in flight drained in ${decimal(figures.drainSec, 1)} s; peak RSS ${integer(figures.peakRssMb)} MB; ` +
      (figures.listenedAfterSec === undefined ? 'HTTP not up while draining' : `HTTP up ${decimal(figures.listenedAfterSec, 1)} s after start`),
  };
}

function formatTable(rows: string[][]): string {
  const widths = header.map((_, column) => Math.max(header[column]!.length, ...rows.map((row) => row[column]!.length)));
  // Names and notes left-aligned, figures right-aligned.
  const line = (row: string[]) =>
    row
      .map((cell, column) => (column < 2 || column === row.length - 1 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(header.map((_, column) => '-'.repeat(widths[column]!))), ...rows.map(line)].join('\n');
}

export function resultsTable(results: BenchResults): string {
  const echoRps = results.echo.median.rps;
  const bankSec = results.options.slowBankLatencyMs / 1000;
  const rows: Row[] = [loadRow('bare Fastify echo (baseline)', '-', results.echo.median, echoRps)];
  for (const [store, measured] of Object.entries(results.stores) as [StoreKind, StoreResults][]) {
    if (measured.storeInsert) rows.push(storeInsertRow(store, measured.storeInsert, echoRps));
    if (measured.pgbench) rows.push(pgbenchRow(measured.pgbench, echoRps));
    if (measured.graphilePeer) rows.push(...peerRows(measured.graphilePeer, echoRps));
    if (measured.asyncSubmit)
      rows.push(
        loadRow('async submit', store, measured.asyncSubmit.median, echoRps, versusInserts(measured.asyncSubmit.median, measured.storeInsert)),
      );
    if (measured.asyncAcceptOnly) {
      rows.push(
        loadRow(
          'async submit, workers idle (accept path)',
          store,
          measured.asyncAcceptOnly.median,
          echoRps,
          versusInserts(measured.asyncAcceptOnly.median, measured.storeInsert),
        ),
      );
    }
    if (measured.clusterSubmit) {
      const one = measured.asyncSubmit?.median.rps;
      const notes = (one ? `${decimal(measured.clusterSubmit.median.rps / one)}× one process; ` : '') + 'cpu gw: both processes';
      rows.push(loadRow('async submit, --cluster 2', store, measured.clusterSubmit.median, echoRps, notes));
    }
    if (measured.syncPayment) {
      const pgbench = measured.pgbench ? `${decimal(measured.syncPayment.median.rps / measured.pgbench.tps)}× pgbench simple-update` : undefined;
      rows.push(loadRow('sync payment', store, measured.syncPayment.median, echoRps, pgbench));
    }
    if (measured.authorizationCapture)
      rows.push(loadRow('sync authorization + capture', store, measured.authorizationCapture.median, echoRps, 'rate counts both requests'));
    if (measured.refund) rows.push(loadRow('sync refund', store, measured.refund.median, echoRps));
    if (measured.statusPoll) rows.push(loadRow('status poll', store, measured.statusPoll.median, echoRps));
    if (measured.queryByUid) rows.push(loadRow('query by uid', store, measured.queryByUid.median, echoRps));
    if (measured.completion) rows.push(completionRow(store, measured.completion.median, echoRps));
    const zero = measured.zeroLatencyDrain?.median;
    if (zero) rows.push(drainRow('drain in-flight payments, 0 ms bank', store, zero, ratioTo(zero.drainRate, echoRps, 'echo')));
    const slow = measured.slowBankDrain?.median;
    if (slow)
      rows.push(drainRow(`drain in-flight payments, ${bankSec} s bank`, store, slow, zero ? ratioTo(slow.drainRate, zero.drainRate, '0 ms') : '-'));
  }
  return formatTable(rows.map(cells));
}

/** The targets of this round (the performance issue's bar), per store. */
export const TARGETS = {
  sqlite: { syncVersusEcho: 0.2, syncCpuMs: 0.25, acceptVersusEcho: 0.4, acceptP99Ms: 20, pollVersusEcho: 0.5 },
  postgres: { syncVersusPgbench: 0.15, syncCpuMs: 0.6, acceptVersusEcho: 0.2, acceptP99Ms: 30, pollVersusEcho: 0.25 },
} as const;
const SUBMIT_VERSUS_SYNC = 0.7;
const LIVE_VERSUS_PEER = 2;
const IN_FLIGHT_TARGET = 10_000;
const SLOW_DRAIN_VERSUS_ZERO = 0.5;
const SLOW_DRAIN_RSS_MB = 300;
const ROUND_TRIPS_PER_SYNC_PAYMENT = 6;
const LOCK_WAIT_SHARE = 0.05;

/** The wait samples of the scenarios that take them, added up. */
export function combinedWaits(measured: StoreResults): { samples: number; locks: number } {
  const all = [measured.syncPayment?.waits, measured.zeroLatencyDrain?.waits, measured.slowBankDrain?.waits].filter(
    (w): w is WaitFigures => !!w && w.samples > 0,
  );
  return { samples: all.reduce((sum, w) => sum + w.samples, 0), locks: all.reduce((sum, w) => sum + w.samples * w.lockShare, 0) };
}

/** One verdict per target of this round and store. */
export function judge(results: Omit<BenchResults, 'verdicts'>): Verdict[] {
  const echoRps = results.echo.median.rps;
  const verdicts: Verdict[] = [];
  const percent = (share: number) => `${decimal(share * 100, 1)}%`;
  for (const [store, measured] of Object.entries(results.stores) as [StoreKind, StoreResults][]) {
    const add = (target: string, met: boolean | undefined, text: string) => verdicts.push({ store, target, met, measured: text });
    const ratio = (scenario: ThroughputScenario) => scenario.median.rps / echoRps;
    const versusEcho = (scenario: ThroughputScenario | undefined, minimum: number, target: string) =>
      add(target, scenario && ratio(scenario) >= minimum, scenario ? `${decimal(ratio(scenario))}× echo` : 'not measured');
    const sync = measured.syncPayment;

    if (store === 'sqlite') {
      versusEcho(sync, TARGETS.sqlite.syncVersusEcho, `sync payment ≥ ${TARGETS.sqlite.syncVersusEcho}× echo`);
    } else {
      const pgbench = measured.pgbench;
      const versus = sync && pgbench ? sync.median.rps / pgbench.tps : NaN;
      add(
        `sync payment ≥ ${TARGETS.postgres.syncVersusPgbench}× pgbench simple-update`,
        sync && pgbench ? versus >= TARGETS.postgres.syncVersusPgbench : undefined,
        sync && pgbench
          ? `${decimal(versus)}× (${integer(sync.median.rps)}/s against ${integer(pgbench.tps)} tps)`
          : sync
            ? 'pgbench not measured'
            : 'not measured',
      );
    }
    const cpuLimit = TARGETS[store].syncCpuMs;
    const paid = sync && sync.median.rps > 0 ? sync : undefined;
    add(
      `gateway CPU per sync payment ≤ ${cpuLimit} ms`,
      paid && paid.median.cpuMsPerRequest <= cpuLimit,
      paid ? `${decimal(paid.median.cpuMsPerRequest)} ms` : sync ? 'no payment answered in the measured runs' : 'not measured',
    );

    const accept = measured.asyncAcceptOnly;
    const { acceptVersusEcho, acceptP99Ms } = TARGETS[store];
    add(
      `async submit, accept path (workers idle) ≥ ${acceptVersusEcho}× echo and p99 ≤ ${acceptP99Ms} ms`,
      accept && ratio(accept) >= acceptVersusEcho && accept.median.p99Ms <= acceptP99Ms,
      accept ? `${decimal(ratio(accept))}× echo, p99 ${accept.median.p99Ms} ms` : 'not measured',
    );
    const submit = measured.asyncSubmit;
    add(
      `async submit, workers running ≥ ${SUBMIT_VERSUS_SYNC}× the sync payment rate`,
      submit && sync ? submit.median.rps / sync.median.rps >= SUBMIT_VERSUS_SYNC : undefined,
      submit && sync
        ? `${decimal(submit.median.rps / sync.median.rps)}× (${integer(submit.median.rps)}/s against ${integer(sync.median.rps)}/s)`
        : 'not measured',
    );
    if (store === 'postgres') {
      const ours = measured.completion?.median;
      const peer = measured.graphilePeer?.completion?.median;
      add(
        `submit→completed live: completions ≥ ${LIVE_VERSUS_PEER}× the graphile-worker peer's`,
        ours && peer ? ours.completionRate / peer.completionRate >= LIVE_VERSUS_PEER : undefined,
        ours && peer
          ? `${decimal(ours.completionRate / peer.completionRate)}× (${integer(ours.completionRate)}/s against ${integer(peer.completionRate)}/s)`
          : 'not measured',
      );
    }
    versusEcho(measured.statusPoll, TARGETS[store].pollVersusEcho, `status poll ≥ ${TARGETS[store].pollVersusEcho}× echo`);

    const slow = measured.slowBankDrain?.median;
    const zero = measured.zeroLatencyDrain?.median;
    const drainRatio = slow && zero ? slow.drainRate / zero.drainRate : NaN;
    const scale =
      slow && slow.payments < IN_FLIGHT_TARGET ? ` (only ${integer(slow.payments)} in flight: the target is at ${integer(IN_FLIGHT_TARGET)})` : '';
    add(
      `${integer(IN_FLIGHT_TARGET)} in flight at a ${results.options.slowBankLatencyMs / 1000} s bank ≥ ${SLOW_DRAIN_VERSUS_ZERO}× the 0 ms drain, no errors, peak RSS < ${SLOW_DRAIN_RSS_MB} MB`,
      slow && zero && !slow.unfinished && !zero.unfinished
        ? drainRatio >= SLOW_DRAIN_VERSUS_ZERO && slow.failures === 0 && slow.peakRssMb < SLOW_DRAIN_RSS_MB
        : undefined,
      slow
        ? `${decimal(drainRatio)}× the 0 ms drain, ${slow.failures} errors, ${slow.unfinished + (zero?.unfinished ?? 0)} not done in time, peak RSS ${integer(slow.peakRssMb)} MB${scale}`
        : 'not measured',
    );

    if (store === 'postgres') {
      const counted = measured.statements?.perOperation.find((count) => count.operation === 'sync payment');
      add(
        `≤ ${ROUND_TRIPS_PER_SYNC_PAYMENT} round trips per sync payment`,
        counted && counted.roundTrips <= ROUND_TRIPS_PER_SYNC_PAYMENT,
        counted ? `${decimal(counted.roundTrips, 1)} round trips (${decimal(counted.statements, 1)} statements)` : 'not measured',
      );
      const waits = combinedWaits(measured);
      add(
        `Lock waits < ${percent(LOCK_WAIT_SHARE)} of sampled wait events`,
        waits.samples ? waits.locks / waits.samples < LOCK_WAIT_SHARE : undefined,
        waits.samples
          ? `${percent(waits.locks / waits.samples)} of ${integer(waits.samples)} backend samples (sync payment and drains)`
          : 'not measured',
      );
    }
  }
  return verdicts;
}

/** Statements and round trips per operation, as the store counted them. */
export function statementLines(results: BenchResults): string[] {
  return (Object.entries(results.stores) as [StoreKind, StoreResults][]).flatMap(([store, measured]) => {
    const counts = measured.statements;
    if (!counts) return [];
    const each = counts.perOperation.map(
      (count) => `${count.operation} ${decimal(count.statements, 1)}` + (store === 'postgres' ? ` / ${decimal(count.roundTrips, 1)}` : ''),
    );
    const unit = store === 'postgres' ? 'statements / round trips' : 'statements';
    return [
      `store counts [${store}] ${unit} per operation (${counts.operations} each, one at a time, idle gateway; ` +
        `${decimal(counts.backgroundStatementsPerSec, 1)} background statements/s subtracted): ${each.join('; ')}`,
    ];
  });
}

/** The top wait events of the gateway's PostgreSQL backends, per sampled scenario. */
export function waitLines(results: BenchResults): string[] {
  const measured = results.stores.postgres;
  if (!measured) return [];
  const sampled: [string, WaitFigures | undefined][] = [
    ['sync payment', measured.syncPayment?.waits],
    ['drain, 0 ms bank', measured.zeroLatencyDrain?.waits],
    [`drain, ${results.options.slowBankLatencyMs / 1000} s bank`, measured.slowBankDrain?.waits],
  ];
  return sampled.flatMap(([scenario, waits]) => {
    if (!waits?.samples) return [];
    const top = waits.top.map((entry) => `${entry.event} ${decimal(entry.share * 100, 1)}%`).join(', ');
    return [
      `wait events [postgres] ${scenario} (${integer(waits.samples)} backend samples, idle backends left out): ${top}; Lock ${decimal(waits.lockShare * 100, 1)}%`,
    ];
  });
}

/** What a second process adds (DESIGN.md's scale-out path), reported, not judged. */
export function clusterLines(results: BenchResults): string[] {
  return (Object.entries(results.stores) as [StoreKind, StoreResults][]).flatMap(([store, measured]) => {
    const two = measured.clusterSubmit?.median;
    const one = measured.asyncSubmit?.median;
    if (!two || !one) return [];
    return [
      `[${store}] async submit on serve --cluster 2: ${integer(two.rps)}/s against ${integer(one.rps)}/s on one process (${decimal(two.rps / one.rps)}×), p99 ${integer(two.p99Ms)} ms`,
    ];
  });
}

export function verdictLines(verdicts: Verdict[]): string {
  const word = (met: boolean | undefined) => (met === undefined ? 'NOT MEASURED' : met ? 'met' : 'NOT MET');
  return verdicts.map((v) => `verdict [${v.store}] ${v.target}: ${word(v.met)} — ${v.measured}`).join('\n');
}

/** Cores other processes may take during measurements before the figures are flagged as disturbed. */
const BUSY_MACHINE_CORES = 0.3;

/** A warning when other processes took CPU during the measured intervals (the figures then understate). */
export function busyMachineWarning(results: BenchResults): string | undefined {
  const others: number[] = results.echo.runs.map((run) => run.cpu.other);
  for (const measured of Object.values(results.stores)) {
    const scenarios = [
      measured.asyncSubmit,
      measured.asyncAcceptOnly,
      measured.clusterSubmit,
      measured.syncPayment,
      measured.authorizationCapture,
      measured.refund,
      measured.statusPoll,
      measured.queryByUid,
      measured.completion,
      measured.zeroLatencyDrain,
      measured.slowBankDrain,
      measured.graphilePeer?.submit,
      measured.graphilePeer?.completion,
      measured.graphilePeer?.drain,
    ];
    for (const scenario of scenarios) others.push(...(scenario?.runs.map((run) => run.cpu.other) ?? []));
  }
  const worst = Math.max(...others);
  if (worst <= BUSY_MACHINE_CORES) return undefined;
  return (
    `WARNING: other processes used up to ${decimal(worst)} of ${results.machine.cores} cores during measurements ` +
    `(load average ${results.machine.loadAverageBefore.map((value) => value.toFixed(1)).join(' ')} at the start): rates and ratios are disturbed; ` +
    'the "gw cpu ms/op" column holds up best.'
  );
}
