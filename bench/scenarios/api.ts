import { type Gateway, probe, waitForTasksDone } from '../gateway.js';
import { sendCount, type Traffic } from '../load.js';
import type { BenchOptions, StoreKind } from '../options.js';
import { DEMO_SHOP, paths, paymentRequestBody } from '../payments.js';
import { paymentTraffic, statusPollTraffic, SUBMIT_CONNECTIONS } from '../traffic.js';
import { measureGatewayReads, measureGatewayThroughput } from './throughput.js';

/**
 * The three request/answer scenarios of DESIGN.md's targets, each at 50 connections against the
 * zero-latency sandbox: async submit, sync payment, async status poll.
 */

/** Bound on seeding and on waiting for seeded tasks, so a busy machine cannot stretch the run forever. */
const SEED_MAX_SECONDS = 60;

function expect(condition: boolean, what: string, answer: unknown): void {
  if (!condition) throw new Error(`${what}: unexpected answer ${JSON.stringify(answer)}`);
}

/**
 * POST /async/transactions/payments: answered once the task row is durably committed. The gateway's
 * workers process the accepted payments meanwhile, in the same process, as they do in production.
 */
export function measureAsyncSubmit(kind: StoreKind, options: BenchOptions) {
  return measureGatewayThroughput(kind, options, (gateway) => checkedAsyncSubmit(gateway, options));
}

/**
 * Diagnostic, judged by no target: the same submits with the workers idle (ECOMGATE_ASYNC_CONCURRENCY=0
 * lets them claim nothing), i.e. the accept path alone, as an API-only process would run it.
 */
export function measureAsyncAcceptOnly(kind: StoreKind, options: BenchOptions) {
  const diagnostic = { ...options, runs: Math.min(options.runs, options.diagnosticRuns) };
  return measureGatewayThroughput(kind, diagnostic, (gateway) => checkedAsyncSubmit(gateway, options), { ECOMGATE_ASYNC_CONCURRENCY: '0' });
}

async function checkedAsyncSubmit(gateway: Gateway, options: BenchOptions): Promise<Traffic> {
  const answer = await probe(gateway, DEMO_SHOP, 'POST', paths.asyncPayment, paymentRequestBody);
  expect(answer.status === 200 && answer.json.status === 'processing', 'async submit', answer);
  return paymentTraffic(DEMO_SHOP, 'async', options.cards);
}

/** POST /transactions/payments: the whole pipeline (two transactions and the bank call) per request. */
export function measureSyncPayment(kind: StoreKind, options: BenchOptions) {
  return measureGatewayThroughput(kind, options, async (gateway) => {
    const answer = await probe(gateway, DEMO_SHOP, 'POST', paths.syncPayment, paymentRequestBody);
    const transaction = answer.json.transaction as { status?: string } | undefined;
    expect(answer.status === 200 && transaction?.status === 'successful', 'sync payment', answer);
    return paymentTraffic(DEMO_SHOP, 'sync', options.cards);
  });
}

/** GET /async/status/{id}, cycling through completed tasks seeded once before the runs. */
export function measureStatusPoll(kind: StoreKind, options: BenchOptions) {
  return measureGatewayReads(kind, options, (gateway) => seedCompletedTasks(gateway, options));
}

async function seedCompletedTasks(gateway: Gateway, options: BenchOptions): Promise<Traffic> {
  const count = options.statusTaskCount;
  const seeded = await sendCount(gateway.server, paymentTraffic(DEMO_SHOP, 'async', options.cards), SUBMIT_CONNECTIONS, count, SEED_MAX_SECONDS);
  expect(seeded.failures === 0 && seeded.answered > 0, 'seeding async payments', seeded.statusCodes);
  if (!(await waitForTasksDone(gateway.store, seeded.answered, SEED_MAX_SECONDS * 1000))) {
    throw new Error(`the ${seeded.answered} seeded async payments did not complete within ${SEED_MAX_SECONDS} s`);
  }
  const requestIds = await gateway.store.taskIds();
  const answer = await probe(gateway, DEMO_SHOP, 'GET', paths.status(requestIds[0]!));
  expect(answer.status === 200 && answer.json.status === 'completed', 'status poll', answer);
  return statusPollTraffic(DEMO_SHOP, requestIds);
}
