import type { LoadFigures } from './load.js';
import type { BenchOptions, StoreKind } from './options.js';
import type { CpuShare } from './proc.js';
import type { CompletionFigures, CompletionScenario } from './scenarios/completion.js';
import type { DrainFigures, DrainScenario } from './scenarios/drain.js';
import type { StoreInsertFigures } from './scenarios/store.js';
import type { ThroughputScenario } from './scenarios/throughput.js';

/** Everything one store was measured at; a scenario that failed or was skipped has its reason in `errors`. */
export interface StoreResults {
  /** The store's own baseline: single-row durable inserts. */
  storeInsert?: StoreInsertFigures;
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

const header = ['scenario', 'store', 'rate/s', 'ratio', 'p50 ms', 'p99 ms', 'fail', 'gw cpu ms/op', 'cpu gw', 'cpu load', 'cpu pg', 'cpu other', 'notes'];

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

function completionRow(store: string, figures: CompletionFigures, echoRps: number): Row {
  return {
    name: 'submit→completed, live, 0 ms bank',
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
    row.map((cell, column) => (column < 2 || column === row.length - 1 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd();
  return [line(header), line(header.map((_, column) => '-'.repeat(widths[column]!))), ...rows.map(line)].join('\n');
}

export function resultsTable(results: BenchResults): string {
  const echoRps = results.echo.median.rps;
  const bankSec = results.options.slowBankLatencyMs / 1000;
  const rows: Row[] = [loadRow('bare Fastify echo (baseline)', '-', results.echo.median, echoRps)];
  for (const [store, measured] of Object.entries(results.stores) as [StoreKind, StoreResults][]) {
    if (measured.storeInsert) rows.push(storeInsertRow(store, measured.storeInsert, echoRps));
    if (measured.asyncSubmit) rows.push(loadRow('async submit', store, measured.asyncSubmit.median, echoRps, versusInserts(measured.asyncSubmit.median, measured.storeInsert)));
    if (measured.asyncAcceptOnly) {
      rows.push(loadRow('  diagnostic: same, workers idle', store, measured.asyncAcceptOnly.median, echoRps, versusInserts(measured.asyncAcceptOnly.median, measured.storeInsert)));
    }
    if (measured.clusterSubmit) {
      const one = measured.asyncSubmit?.median.rps;
      const notes = (one ? `${decimal(measured.clusterSubmit.median.rps / one)}× one process; ` : '') + 'cpu gw: both processes';
      rows.push(loadRow('async submit, --cluster 2', store, measured.clusterSubmit.median, echoRps, notes));
    }
    if (measured.syncPayment) rows.push(loadRow('sync payment', store, measured.syncPayment.median, echoRps));
    if (measured.authorizationCapture) rows.push(loadRow('sync authorization + capture', store, measured.authorizationCapture.median, echoRps, 'rate counts both requests'));
    if (measured.refund) rows.push(loadRow('sync refund', store, measured.refund.median, echoRps));
    if (measured.statusPoll) rows.push(loadRow('status poll', store, measured.statusPoll.median, echoRps));
    if (measured.queryByUid) rows.push(loadRow('query by uid', store, measured.queryByUid.median, echoRps));
    if (measured.completion) rows.push(completionRow(store, measured.completion.median, echoRps));
    const zero = measured.zeroLatencyDrain?.median;
    if (zero) rows.push(drainRow('drain in-flight payments, 0 ms bank', store, zero, ratioTo(zero.drainRate, echoRps, 'echo')));
    const slow = measured.slowBankDrain?.median;
    if (slow) rows.push(drainRow(`drain in-flight payments, ${bankSec} s bank`, store, slow, zero ? ratioTo(slow.drainRate, zero.drainRate, '0 ms') : '-'));
  }
  return formatTable(rows.map(cells));
}

/** One verdict per DESIGN.md performance target and store. */
export function judge(results: Omit<BenchResults, 'verdicts'>): Verdict[] {
  const echoRps = results.echo.median.rps;
  const verdicts: Verdict[] = [];
  for (const [store, measured] of Object.entries(results.stores) as [StoreKind, StoreResults][]) {
    const add = (target: string, met: boolean | undefined, text: string) => verdicts.push({ store, target, met, measured: text });
    const ratio = (scenario: ThroughputScenario) => scenario.median.rps / echoRps;
    const versusEcho = (scenario: ThroughputScenario | undefined, minimum: number, target: string) =>
      add(target, scenario && ratio(scenario) >= minimum, scenario ? `${decimal(ratio(scenario))}× echo` : 'not measured');

    const submit = measured.asyncSubmit;
    add(
      'async submit ≥ 0.6× echo and p99 ≤ 20 ms',
      submit && ratio(submit) >= 0.6 && submit.median.p99Ms <= 20,
      submit ? `${decimal(ratio(submit))}× echo, p99 ${submit.median.p99Ms} ms` : 'not measured',
    );
    versusEcho(measured.syncPayment, 0.35, 'sync payment ≥ 0.35× echo');
    versusEcho(measured.statusPoll, 0.8, 'status poll ≥ 0.8× echo');

    const slow = measured.slowBankDrain?.median;
    const zero = measured.zeroLatencyDrain?.median;
    const drainRatio = slow && zero ? slow.drainRate / zero.drainRate : NaN;
    const scale = slow && slow.payments < 10_000 ? ` (${slow.payments} payments in flight; DESIGN.md says 10,000: --full)` : '';
    add(
      'slow-bank drain ≥ 0.5× zero-latency rate, no errors, RSS < 512 MB',
      slow && zero && !slow.unfinished && !zero.unfinished ? drainRatio >= 0.5 && slow.failures === 0 && slow.peakRssMb < 512 : undefined,
      slow
        ? `${decimal(drainRatio)}× zero-latency, ${slow.failures} errors, ${slow.unfinished + (zero?.unfinished ?? 0)} not done in time, peak RSS ${integer(slow.peakRssMb)} MB${scale}`
        : 'not measured',
    );
  }
  return verdicts;
}

/** What a second process adds (DESIGN.md's scale-out path), reported, not judged. */
export function clusterLines(results: BenchResults): string[] {
  return (Object.entries(results.stores) as [StoreKind, StoreResults][]).flatMap(([store, measured]) => {
    const two = measured.clusterSubmit?.median;
    const one = measured.asyncSubmit?.median;
    if (!two || !one) return [];
    return [`[${store}] async submit on serve --cluster 2: ${integer(two.rps)}/s against ${integer(one.rps)}/s on one process (${decimal(two.rps / one.rps)}×), p99 ${integer(two.p99Ms)} ms`];
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
