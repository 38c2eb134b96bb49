/**
 * Command-line flags of `npm run bench` (after `--`):
 *   --quick            one run of 2 s per scenario (a smoke test of the benchmark itself)
 *   --full             the drain scenarios with 10,000 payments in flight (DESIGN.md's figure), one run
 *   --slow-count N     payments in flight in the slow-bank drain (default 2000)
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
  drainRuns: number;
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
    inFlightPayments: full ? 10_000 : 2000,
    // 10,000 payments in flight take about a minute per store and bank: once keeps the run bounded; by
    // default twice, so every scenario fits in the budget.
    drainRuns: quick || full ? 1 : 2,
    slowBankLatencyMs: 2000,
    statusTaskCount: 200,
    // With the build before it (about a minute), the whole `npm run bench` stays under 10 minutes.
    timeBudgetSec: 480,
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
