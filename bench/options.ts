/**
 * Command-line flags of `npm run bench` (after `--`):
 *   --quick            one run of 2 s per scenario, 2,000 payments in flight at the slow bank (a smoke test
 *                      of the benchmark itself)
 *   --full             the slow-bank drain with 10,000 payments in flight even with --quick
 *   --only a,b         only these scenarios (ids in bench/run.ts, e.g. sync-payment,pgbench); the echo
 *                      baseline always runs
 *   --slow-count N     payments in flight in the slow-bank drain (default 10000, 2000 with --quick)
 *   --count-ops N      operations per counted batch of the statement counts (default 200)
 *   --completion-count N  payments in flight per zero-latency drain (default 1000)
 *   --live-count N     payments per live submit→completed run (default 500)
 *   --runs N           runs per scenario (default 3; medians are reported)
 *   --duration S       seconds per load run (default 5)
 *   --stores a,b       sqlite and/or postgres (default both)
 *   --postgres URL     the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/test)
 *   --one-card         every payment on the card 4200000000000000 (default: a pool of 1,000 cards)
 *   --docs             also write the chart to docs/performance.svg (bench/results/latest.svg always)
 */
export type StoreKind = 'sqlite' | 'postgres';

export interface BenchOptions {
  runs: number;
  durationSec: number;
  warmupSec: number;
  /** Load connections of the throughput scenarios (DESIGN.md's targets are at 50). */
  connections: number;
  /** Async payments per zero-latency drain run (the completion capacity the slow bank is compared to). */
  completionCount: number;
  /** Async payments per live submit→completed run (submit-bound: fewer suffice for its latencies). */
  livePayments: number;
  /** Runs of the diagnostic scenario (workers idle), which no target judges. */
  diagnosticRuns: number;
  /** Payments in flight in the slow-bank drain. */
  inFlightPayments: number;
  /** Runs of the zero-latency drain. */
  drainRuns: number;
  /** Runs of the slow-bank drain (10,000 in flight take a minute or more on PostgreSQL). */
  slowDrainRuns: number;
  /** Operations per counted batch of the statements-and-round-trips scenario. */
  countedOperations: number;
  /** Scenario ids to run (bench/run.ts); undefined: all. */
  only: string[] | undefined;
  /** Bank latency of the slow-bank shop. */
  slowBankLatencyMs: number;
  /** Tasks seeded for the status-poll scenario (polled round-robin). */
  statusTaskCount: number;
  /** The measuring part's time budget (bench/budget.ts). */
  timeBudgetSec: number;
  /** Distinct approved cards the payments cycle through. */
  cards: number;
  stores: StoreKind[];
  postgresUrl: string;
  quick: boolean;
  full: boolean;
  docs: boolean;
}

function numberFlag(name: string, value: string | undefined): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${name} needs a positive number, got "${value}"`);
  return parsed;
}

export function parseOptions(argv: string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const full = argv.includes('--full');
  const options: BenchOptions = {
    runs: quick ? 1 : 3,
    durationSec: quick ? 2 : 5,
    warmupSec: quick ? 0.5 : 1,
    connections: 50,
    completionCount: 1000,
    livePayments: 500,
    diagnosticRuns: 1,
    inFlightPayments: quick && !full ? 2000 : 10_000,
    drainRuns: quick ? 1 : 2,
    // 10,000 payments in flight take about a minute and a half on PostgreSQL: once keeps the run bounded.
    slowDrainRuns: 1,
    countedOperations: quick ? 100 : 200,
    only: undefined,
    slowBankLatencyMs: 2000,
    statusTaskCount: 200,
    // bench/budget.ts says why 600 s.
    timeBudgetSec: 600,
    cards: argv.includes('--one-card') ? 1 : 1000,
    stores: ['sqlite', 'postgres'],
    postgresUrl: 'postgres://postgres@127.0.0.1:5432/test',
    quick,
    full,
    docs: argv.includes('--docs'),
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    switch (flag) {
      case '--quick':
      case '--full':
      case '--one-card':
      case '--docs':
        break;
      case '--runs':
        options.runs = Math.round(numberFlag(flag, value));
        i++;
        break;
      case '--duration':
        options.durationSec = numberFlag(flag, value);
        i++;
        break;
      case '--completion-count':
        options.completionCount = Math.round(numberFlag(flag, value));
        i++;
        break;
      case '--live-count':
        options.livePayments = Math.round(numberFlag(flag, value));
        i++;
        break;
      case '--count-ops':
        options.countedOperations = Math.round(numberFlag(flag, value));
        i++;
        break;
      case '--only':
        options.only = (value ?? '').split(',').filter(Boolean);
        if (options.only.length === 0) throw new Error('--only takes scenario ids, e.g. sync-payment,pgbench');
        i++;
        break;
      case '--slow-count':
        options.inFlightPayments = Math.round(numberFlag(flag, value));
        i++;
        break;
      case '--stores':
        options.stores = (value ?? '').split(',').map((store) => {
          if (store !== 'sqlite' && store !== 'postgres') throw new Error(`--stores takes sqlite,postgres, got "${store}"`);
          return store;
        });
        i++;
        break;
      case '--postgres':
        options.postgresUrl = value ?? '';
        i++;
        break;
      default:
        throw new Error(`unknown flag "${flag}" (see bench/options.ts)`);
    }
  }
  return options;
}
