import Fastify from 'fastify';
import { Logger, makeWorkerUtils, run, type Runner, type Task } from 'graphile-worker';

/**
 * The reference for async mode: what a Node team would build with graphile-worker (durable jobs in the
 * same PostgreSQL). A Fastify route answers each async payment once `addJob` committed its job; a task
 * inserts the payment row, then its result row, as two statements (ecomgate's transactions A and B).
 * graphile-worker's defaults throughout (one job at a time, poll every 2 s, LISTEN/NOTIFY for new jobs,
 * a pool of 10). No authentication, card vault or bank call: the peer does less per payment, not more.
 *
 * Usage: node graphile-server.js <postgres url with search_path> <graphile-worker schema> workers|no-workers
 * Its tables are made by the benchmark (bench/scenarios/peer.ts) before it starts.
 */
const [connectionString, schema, mode] = process.argv.slice(2);
if (!connectionString || !schema || (mode !== 'workers' && mode !== 'no-workers')) {
  throw new Error('usage: graphile-server.js <postgres url> <graphile-worker schema> workers|no-workers');
}

// Warnings and errors only: graphile-worker logs every job at debug and its start-up at info.
const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') process.stderr.write(`graphile-worker ${level}: ${message}\n`);
});

interface PaymentJob {
  amount: number;
  currency: string;
  /** The last four digits only: the peer keeps no card number (ecomgate seals it in its vault). */
  cardLast4: string;
}

const payment: Task = async (payload, helpers) => {
  const job = payload as PaymentJob;
  await helpers.query(
    'insert into peer_payments (job_id, amount, currency, card_last4, created_at, started_at) values ($1, $2, $3, $4, $5, clock_timestamp())',
    [helpers.job.id, job.amount, job.currency, job.cardLast4, helpers.job.created_at],
  );
  await helpers.query('insert into peer_results (job_id, status_code, completed_at) values ($1, 200, clock_timestamp())', [helpers.job.id]);
};

const utils = await makeWorkerUtils({ connectionString, schema, logger });
await utils.migrate();
const runner: Runner | undefined =
  mode === 'workers' ? await run({ connectionString, schema, logger, taskList: { payment }, noHandleSignals: true }) : undefined;

interface PaymentRequest {
  request?: { amount?: unknown; currency?: unknown; credit_card?: { number?: unknown } };
}

const app = Fastify({ logger: false });
app.post('/async/transactions/payments', async (request, reply) => {
  const body = (request.body as PaymentRequest | undefined)?.request;
  const number = body?.credit_card?.number;
  if (typeof body?.amount !== 'number' || typeof body.currency !== 'string' || typeof number !== 'string') {
    return reply.code(422).send({ message: 'amount, currency and credit_card.number are required' });
  }
  const job = await utils.addJob('payment', { amount: body.amount, currency: body.currency, cardLast4: number.slice(-4) } satisfies PaymentJob);
  return { status: 'processing', request_id: job.id };
});

const address = await app.listen({ host: '127.0.0.1', port: 0 });
// The benchmark reads the address from this line, as it does from the gateway's log.
process.stdout.write(JSON.stringify({ msg: 'graphile-worker peer listening', address }) + '\n');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void (async () => {
      await app.close();
      await runner?.stop();
      await utils.release();
      process.exit(0);
    })();
  });
}
