import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { canStart, startBudget } from './budget.js';
import { repoRoot } from './child.js';
import { parseOptions, type StoreKind } from './options.js';
import { writeChart } from './chart.js';
import {
  busyMachineWarning,
  clusterLines,
  judge,
  resultsTable,
  statementLines,
  type BenchResults,
  type StoreResults,
  verdictLines,
  waitLines,
} from './report.js';
import {
  measureAsyncAcceptOnly,
  measureAsyncSubmit,
  measureAuthorizationCapture,
  measureClusterSubmit,
  measureQueryByUid,
  measureRefund,
  measureStatusPoll,
  measureSyncPayment,
} from './scenarios/api.js';
import { measureCompletion } from './scenarios/completion.js';
import { measureSlowBankDrain, measureZeroLatencyDrain } from './scenarios/drain.js';
import { measureGraphilePeer } from './scenarios/peer.js';
import { measurePgbench } from './scenarios/pgbench.js';
import { measureStatementCounts } from './scenarios/statements.js';
import { measureStoreInsert } from './scenarios/store.js';
import { measureEcho } from './scenarios/throughput.js';

/**
 * `npm run bench [-- --quick | --full | ...]` (flags: bench/options.ts). Measures the bare Fastify echo
 * baseline and the gateway's scenarios on each store in one run, prints a table of figures and their
 * ratios, one verdict per DESIGN.md performance target, and writes bench/results/latest.json.
 */
const options = parseOptions(process.argv.slice(2));
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
const progress = (message: string) => process.stderr.write(`[bench ${elapsed()}] ${message}\n`);

type ScenarioName = Exclude<keyof StoreResults, 'errors'>;
/** Scenarios no target judges run as often as the diagnostic row (once by default), to keep within the budget. */
const diagnostic = { ...options, runs: Math.min(options.runs, options.diagnosticRuns) };

/**
 * What each scenario measures: its id (for --only), the label its progress line shows, and the stores
 * it applies to.
 */
const scenarios: {
  id: string;
  name: ScenarioName;
  label: string;
  only?: StoreKind;
  measure: (store: StoreKind) => Promise<StoreResults[ScenarioName]>;
}[] = [
  // The references first, then what the targets judge, so a run that hits its time budget skips
  // diagnostics.
  { id: 'store-insert', name: 'storeInsert', label: 'baseline: single-row durable inserts', measure: (store) => measureStoreInsert(store, options) },
  { id: 'pgbench', name: 'pgbench', label: 'reference: pgbench simple-update', only: 'postgres', measure: () => measurePgbench(options) },
  {
    id: 'graphile-peer',
    name: 'graphilePeer',
    label: 'reference: graphile-worker peer',
    only: 'postgres',
    measure: () => measureGraphilePeer(options),
  },
  {
    id: 'statements',
    name: 'statements',
    label: `statements per operation (${options.countedOperations} each)`,
    measure: (store) => measureStatementCounts(store, options),
  },
  { id: 'async-submit', name: 'asyncSubmit', label: 'async submit', measure: (store) => measureAsyncSubmit(store, options) },
  { id: 'async-accept', name: 'asyncAcceptOnly', label: 'async submit, workers idle', measure: (store) => measureAsyncAcceptOnly(store, options) },
  { id: 'sync-payment', name: 'syncPayment', label: 'sync payment', measure: (store) => measureSyncPayment(store, options) },
  { id: 'status-poll', name: 'statusPoll', label: 'status poll', measure: (store) => measureStatusPoll(store, options) },
  {
    id: 'live',
    name: 'completion',
    label: `submit→completed live (${options.livePayments} payments)`,
    measure: (store) => measureCompletion(store, options),
  },
  {
    id: 'drain',
    name: 'zeroLatencyDrain',
    label: `drain ${options.completionCount} in flight, 0 ms bank`,
    measure: (store) => measureZeroLatencyDrain(store, options),
  },
  {
    id: 'slow-drain',
    name: 'slowBankDrain',
    label: `drain ${options.inFlightPayments} in flight, slow bank`,
    measure: (store) => measureSlowBankDrain(store, options),
  },
  {
    id: 'auth-capture',
    name: 'authorizationCapture',
    label: 'sync authorization + capture',
    measure: (store) => measureAuthorizationCapture(store, diagnostic),
  },
  { id: 'refund', name: 'refund', label: 'sync refund', measure: (store) => measureRefund(store, diagnostic) },
  { id: 'query', name: 'queryByUid', label: 'query by uid', measure: (store) => measureQueryByUid(store, diagnostic) },
  {
    id: 'cluster',
    name: 'clusterSubmit',
    label: 'async submit, --cluster 2',
    only: 'postgres',
    measure: (store) => measureClusterSubmit(store, diagnostic),
  },
];
const unknown = options.only?.filter((id) => !scenarios.some((scenario) => scenario.id === id));
if (unknown?.length) throw new Error(`--only: no scenario ${unknown.join(', ')} (ids: ${scenarios.map((scenario) => scenario.id).join(', ')})`);

/** Runs one scenario on one store; a failing or skipped scenario is recorded and the others still run. */
async function attempt(store: StoreKind, scenario: (typeof scenarios)[number], results: StoreResults): Promise<void> {
  const { errors } = results;
  if (!canStart()) {
    errors[scenario.label] = `skipped: too little left of the run's ${options.timeBudgetSec} s budget`;
    progress(`${store}: ${scenario.label} ${errors[scenario.label]}`);
    return;
  }
  progress(`${store}: ${scenario.label}`);
  try {
    // Each scenario's measure answers the shape its own name holds.
    Object.assign(results, { [scenario.name]: await scenario.measure(store) });
  } catch (error) {
    errors[scenario.label] = error instanceof Error ? error.message : String(error);
    progress(`${store}: ${scenario.label} failed: ${errors[scenario.label]}`);
  }
}

startBudget(options.timeBudgetSec);
const loadAverageBefore = loadavg();
progress(`baseline: bare Fastify echo (${options.runs} × ${options.durationSec} s at ${options.connections} connections)`);
const echo = await measureEcho(options);
const stores: BenchResults['stores'] = {};
for (const store of options.stores) stores[store] = { errors: {} };
// Scenario by scenario, each on every store: both stores' figures are taken under similar conditions.
for (const scenario of scenarios.filter((scenario) => !options.only || options.only.includes(scenario.id))) {
  for (const store of options.stores) if (!scenario.only || scenario.only === store) await attempt(store, scenario, stores[store]!);
}

const measured = {
  startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
  elapsedSec: Math.round((performance.now() - started) / 1000),
  options,
  machine: { cores: cpus().length, node: process.version, loadAverageBefore, loadAverageAfter: loadavg() },
  echo,
  stores,
};
const results: BenchResults = { ...measured, verdicts: judge(measured) };

const resultsFolder = resolve(repoRoot, 'bench', 'results');
mkdirSync(resultsFolder, { recursive: true });
writeFileSync(resolve(resultsFolder, 'latest.json'), JSON.stringify(results, null, 2) + '\n');

const load = (values: number[]) => values.map((value) => value.toFixed(1)).join(' ');
console.log(
  `\necomgate benchmark: ${results.machine.cores} cores, Node ${results.machine.node}, ${options.runs} run(s) × ${options.durationSec} s per load scenario (medians), ` +
    `${options.connections} connections; load average ${load(loadAverageBefore)} before, ${load(results.machine.loadAverageAfter)} after; took ${results.elapsedSec} s\n`,
);
console.log(resultsTable(results));
console.log(
  "\ngw cpu ms/op: the server's CPU time per successful request (per completed payment for the submit→completed and drain rows).\n" +
    'cpu columns: cores used during the measured interval by the server (gw), the load generator (this process), PostgreSQL, and everything else.',
);
const warning = busyMachineWarning(results);
if (warning) console.log(warning);
for (const [store, result] of Object.entries(stores)) {
  for (const [scenario, message] of Object.entries(result.errors)) console.log(`error [${store}] ${scenario}: ${message}`);
}
for (const line of [...statementLines(results), ...waitLines(results)]) console.log(line);
console.log('\n' + verdictLines(results.verdicts));
for (const line of clusterLines(results)) console.log(line);
const chart = writeChart(results, resolve(resultsFolder, 'latest.svg'));
if (options.docs) writeChart(results, resolve(repoRoot, 'docs', 'performance.svg'));
console.log(`\nresults: ${resolve(resultsFolder, 'latest.json')}; chart: ${chart}`);
