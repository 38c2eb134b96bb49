import { type Gateway, probe, waitForTasksDone } from '../gateway.js';
import { sendCount, type Traffic } from '../load.js';
import type { BenchOptions, StoreKind } from '../options.js';
import { childRequestBody, paths, paymentRequestBody } from '../payments.js';
import { DEMO_SHOP } from '../../test/support/shops.js';
import { WaitSampler } from '../waits.js';
import { authorizationCaptureTraffic, paymentTraffic, queryByUidTraffic, refundTraffic, statusPollTraffic, SUBMIT_CONNECTIONS } from '../traffic.js';
import { measureGatewayReads, measureGatewayThroughput } from './throughput.js';

/**
 * The request/answer scenarios, each at 50 connections against the zero-latency sandbox: those of
 * DESIGN.md's targets (async submit, sync payment, async status poll), the other money movements
 * (authorization + capture, refund), the query by uid, and async submit on two processes.
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
 * The accept path alone: the same submits with the workers idle (ECOMGATE_ASYNC_CONCURRENCY=0 lets them
 * claim nothing), as an API-only process would run it.
 */
export function measureAsyncAcceptOnly(kind: StoreKind, options: BenchOptions) {
  return measureGatewayThroughput(kind, options, (gateway) => checkedAsyncSubmit(gateway, options), { ECOMGATE_ASYNC_CONCURRENCY: '0' });
}

async function checkedAsyncSubmit(gateway: Gateway, options: BenchOptions): Promise<Traffic> {
  const answer = await probe(gateway, DEMO_SHOP, 'POST', paths.asyncPayment, paymentRequestBody);
  expect(answer.status === 200 && answer.json.status === 'processing', 'async submit', answer);
  return paymentTraffic(DEMO_SHOP, 'async', options.cards);
}

/**
 * POST /transactions/payments: the whole pipeline (two transactions and the bank call) per request. On
 * PostgreSQL the gateway's backends' wait events are sampled during the measured runs.
 */
export function measureSyncPayment(kind: StoreKind, options: BenchOptions) {
  const waits = kind === 'postgres' ? new WaitSampler(options.postgresUrl) : undefined;
  const prepare = async (gateway: Gateway) => {
    const answer = await probe(gateway, DEMO_SHOP, 'POST', paths.syncPayment, paymentRequestBody);
    const transaction = answer.json.transaction as { status?: string } | undefined;
    expect(answer.status === 200 && transaction?.status === 'successful', 'sync payment', answer);
    return paymentTraffic(DEMO_SHOP, 'sync', options.cards);
  };
  return measureGatewayThroughput(kind, options, prepare, {}, undefined, waits);
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

/** Successful payments to act on, made through the sync API; answers their uids. */
async function seedPayments(gateway: Gateway, options: BenchOptions): Promise<string[]> {
  const seeded = await sendCount(
    gateway.server,
    paymentTraffic(DEMO_SHOP, 'sync', options.cards),
    SUBMIT_CONNECTIONS,
    options.statusTaskCount,
    SEED_MAX_SECONDS,
  );
  expect(seeded.failures === 0 && seeded.answered > 0, 'seeding payments', seeded.statusCodes);
  return gateway.store.paymentUids();
}

/** POST /transactions/authorizations, then a capture of it, per connection in turn (both counted). */
export function measureAuthorizationCapture(kind: StoreKind, options: BenchOptions) {
  return measureGatewayThroughput(kind, options, async (gateway) => {
    const authorization = await probe(gateway, DEMO_SHOP, 'POST', paths.authorization, paymentRequestBody);
    const uid = (authorization.json.transaction as { uid?: string } | undefined)?.uid;
    expect(authorization.status === 200 && uid !== undefined, 'authorization', authorization);
    const capture = await probe(gateway, DEMO_SHOP, 'POST', paths.capture, childRequestBody(uid!, 1999));
    expect(capture.status === 200 && (capture.json.transaction as { status?: string }).status === 'successful', 'capture', capture);
    return authorizationCaptureTraffic(DEMO_SHOP, options.cards, 1999);
  });
}

/** POST /transactions/refunds of one minor unit, over payments seeded for each run. */
export function measureRefund(kind: StoreKind, options: BenchOptions) {
  return measureGatewayThroughput(kind, options, async (gateway) => {
    const uids = await seedPayments(gateway, options);
    const refund = await probe(gateway, DEMO_SHOP, 'POST', paths.refund, childRequestBody(uids[0]!, 1, 'bench refund'));
    expect(refund.status === 200 && (refund.json.transaction as { status?: string }).status === 'successful', 'refund', refund);
    return refundTraffic(DEMO_SHOP, uids);
  });
}

/** GET /transactions/{uid} over payments seeded once (one gateway serves the runs). */
export function measureQueryByUid(kind: StoreKind, options: BenchOptions) {
  return measureGatewayReads(kind, options, async (gateway) => {
    const uids = await seedPayments(gateway, options);
    const answer = await probe(gateway, DEMO_SHOP, 'GET', paths.transaction(uids[0]!));
    expect(answer.status === 200 && (answer.json.transaction as { uid?: string }).uid === uids[0], 'query by uid', answer);
    return queryByUidTraffic(DEMO_SHOP, uids);
  });
}

/** Async submit served by `ecomgate serve --cluster 2` (PostgreSQL only): what a second process adds. */
export function measureClusterSubmit(kind: StoreKind, options: BenchOptions) {
  if (kind !== 'postgres') throw new Error('--cluster needs PostgreSQL');
  return measureGatewayThroughput(kind, options, (gateway) => checkedAsyncSubmit(gateway, options), {}, ['--cluster', '2']);
}
