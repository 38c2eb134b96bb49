/**
 * Scale-out (docs/scale-out.md): `serve --role api|worker` and `--cluster N` as real processes on one
 * PostgreSQL schema, the per-shop rate limit shared by two processes, and the in-doubt deadline flag.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import {
  ADMIN_TOKEN,
  AS_OPERATOR,
  card,
  type Credentials,
  DEMO_SHOP,
  paymentRequest,
  startGateway,
  type TestGateway,
  testStores,
} from './support/gateway.js';
import { it, PATIENCE_MS, until, within } from './support/deadline.js';
import { isRunning, runCli, scratchDatabase, serve, serveSettings, stop, type ScratchDatabase, type ServeProcess } from './support/processes.js';
import { apiRequest } from './support/http.js';
import { needs, REDIS_URL } from './support/services.js';

const postgres = await needs('postgres');
const redis = await needs('redis');

/** `ecomgate serve` with the admin token of the in-process gateways, started once it listens. */
function start(databaseUrl: string, masterKey: string, args: string[] = [], env: Record<string, string> = {}): Promise<ServeProcess> {
  return serve({ databaseUrl, masterKey, args, env: { ECOMGATE_ADMIN_TOKEN: ADMIN_TOKEN, ...env } });
}

/** Its JSON log lines so far with this `msg`. */
function entries(gateway: ServeProcess, msg: string): any[] {
  return gateway.lines.flatMap((line) => {
    try {
      const entry = JSON.parse(line);
      return entry?.msg === msg ? [entry] : [];
    } catch {
      return [];
    }
  });
}

/** Its JSON log lines with this `msg`, once there are `count` of them (rejects if it exits first, or on the deadline). */
async function logged(gateway: ServeProcess, msg: string, count = 1): Promise<any[]> {
  return until(
    () => {
      const ended = !isRunning(gateway);
      const found = entries(gateway, msg);
      if (found.length >= count) return found;
      if (ended) throw new Error(`ecomgate exited (${gateway.proc.exitCode}) while waiting for "${msg}":\n${gateway.lines.join('\n')}`);
      return undefined;
    },
    () => `${count} × "${msg}" in the log of ecomgate:\n${gateway.lines.slice(-20).join('\n')}`,
  );
}

const call = (base: string, method: string, path: string, body?: unknown, auth: Credentials | null = DEMO_SHOP) =>
  apiRequest(base, method, path, body, { auth });

describe('serve --role api / --role worker on one PostgreSQL', postgres, () => {
  const key = randomBytes(32).toString('base64');
  let db: ScratchDatabase;
  let api: ServeProcess;
  let worker: ServeProcess;
  let apiUrl: string;
  let workerUrl: string;
  before(async () => {
    db = await scratchDatabase('postgres');
    // The worker's fallback poll is an hour: only the api process's NOTIFY can wake it in this test.
    worker = await start(db.url, key, ['--role', 'worker'], { ECOMGATE_ASYNC_POLL_MS: '3600000' });
    workerUrl = worker.url;
    api = await start(db.url, key, [], { ECOMGATE_ROLE: 'api' });
    apiUrl = api.url;
  });
  after(async () => {
    await Promise.all([api && stop(api), worker && stop(worker)]);
    await db?.close();
  });

  it('an async payment submitted to the api process is completed by the worker process (woken by NOTIFY)', async () => {
    const submit = await call(apiUrl, 'POST', '/async/transactions/payments', { request: paymentRequest() });
    assert.equal(submit.status, 200, JSON.stringify(submit.body));
    const requestId: string = submit.body.request_id;
    // Well inside the worker's hour-long fallback poll: only a NOTIFY can finish it in time.
    const result = await until(
      async () => {
        const answer = await call(apiUrl, 'GET', `/async/result/${requestId}`);
        return answer.body?.status === 'processing' ? undefined : answer;
      },
      () => `the worker process completing task ${requestId}`,
    );
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.transaction.status, 'successful', JSON.stringify(result.body));
    const [task] = await db.rows('select * from async_tasks where id = ?', requestId);
    assert.ok(task, 'the task row exists');
  });

  it('each process runs only its role: api has no workers, worker has no merchant routes', async () => {
    const apiRole = (await logged(api, 'ecomgate role'))[0];
    assert.deepEqual([apiRole.role, apiRole.asyncWorkers, apiRole.webhookDelivery, apiRole.resolver], ['api', false, false, false]);
    const workerRole = (await logged(worker, 'ecomgate role'))[0];
    assert.deepEqual([workerRole.role, workerRole.asyncWorkers, workerRole.webhookDelivery, workerRole.resolver], ['worker', true, true, true]);
    // The api process took no task: its processing histogram is empty; the worker's is not.
    const count = (text: string) => Number(/^ecomgate_async_processing_seconds_count\S* (\d+)/m.exec(text)?.[1] ?? 0);
    const apiMetrics = await fetch(apiUrl + '/metrics').then((r) => r.text());
    const workerMetrics = await fetch(workerUrl + '/metrics').then((r) => r.text());
    assert.equal(count(apiMetrics), 0);
    assert.ok(
      count(workerMetrics) >= 1,
      workerMetrics
        .split('\n')
        .filter((l) => l.includes('processing_seconds_count'))
        .join('\n'),
    );
    // The worker serves health, readiness and metrics only.
    assert.equal((await call(workerUrl, 'POST', '/transactions/payments', { request: paymentRequest() })).status, 404);
    assert.equal((await call(workerUrl, 'GET', '/transactions/' + randomUUID())).status, 404);
    assert.equal((await call(workerUrl, 'GET', '/admin/in-doubt', undefined, null)).status, 404);
    assert.equal((await call(workerUrl, 'GET', '/healthz', undefined, null)).status, 200);
    assert.equal((await call(workerUrl, 'GET', '/readyz', undefined, null)).status, 200);
    // The api process serves merchants.
    assert.equal((await call(apiUrl, 'POST', '/transactions/payments', { request: paymentRequest() })).body.transaction.status, 'successful');
  });
});

describe('serve --role on SQLite', () => {
  const key = randomBytes(32).toString('base64');
  it('SQLite refuses a role other than all with a clear message', async () => {
    const settings = serveSettings({ databaseUrl: 'sqlite::memory:', masterKey: key, env: { ECOMGATE_ADMIN_TOKEN: ADMIN_TOKEN } });
    const sqlite = await runCli(['serve', '--role', 'api'], settings);
    assert.equal(sqlite.code, 1);
    assert.match(sqlite.stderr, /--role api needs PostgreSQL/);
    const clustered = await runCli(['serve', '--cluster', '2'], settings);
    assert.equal(clustered.code, 1);
    assert.match(clustered.stderr, /--cluster needs PostgreSQL/);
  });
});

describe('serve --cluster 2', postgres, () => {
  it('serves on one port, replaces a process that dies, and exits 0 on SIGTERM', async () => {
    const db = await scratchDatabase('postgres');
    let primary: ServeProcess | undefined;
    try {
      primary = await start(db.url, randomBytes(32).toString('base64'), ['--cluster', '2']);
      const up = await logged(primary, 'ecomgate listening', 2);
      assert.equal(up[0].address, up[1].address, 'both processes share the port');
      const url = up[0].address;
      for (let i = 0; i < 6; i++) {
        assert.equal((await call(url, 'POST', '/transactions/payments', { request: paymentRequest() })).body.transaction.status, 'successful');
      }
      const started = await logged(primary, 'cluster process started', 2);
      process.kill(started[0].pid, 'SIGKILL');
      await logged(primary, 'cluster process died; starting another');
      await logged(primary, 'ecomgate listening', 3);
      assert.equal((await call(url, 'GET', '/healthz', undefined, null)).status, 200);
      assert.equal((await call(url, 'GET', '/transactions/' + randomUUID())).status, 404);
      primary.proc.kill('SIGTERM');
      await within(primary.exited, PATIENCE_MS, () => 'the cluster primary did not exit on SIGTERM');
      assert.equal(primary.proc.exitCode, 0, primary.lines.join('\n'));
      const stopped = entries(primary, 'cluster process stopped');
      assert.equal(stopped.length, 2);
    } finally {
      if (primary) await stop(primary);
      await db.close();
    }
  });
});

describe('the per-shop rate limit is shared by the processes on one PostgreSQL', postgres, () => {
  it('a burst split across two processes passes at most the limit per one-second window', async () => {
    const db = await scratchDatabase('postgres');
    const key = randomBytes(32).toString('base64');
    const starting = [start(db.url, key, [], { ECOMGATE_RATE_LIMIT: '5' }), start(db.url, key, [], { ECOMGATE_RATE_LIMIT: '5' })];
    try {
      const urls = (await Promise.all(starting)).map((gateway) => gateway.url);
      const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => call(urls[i % 2]!, 'GET', '/transactions/' + randomUUID())));
      const passed = burst.filter((a) => a.status === 404).length;
      const limited = burst.filter((a) => a.status === 429);
      assert.equal(passed + limited.length, 40, burst.map((a) => a.status).join(','));
      for (const answer of limited) {
        assert.equal(answer.headers.get('retry-after'), '1');
        assert.deepEqual(answer.body, { message: 'Rate limit exceeded', response: { message: 'Rate limit exceeded' } });
      }
      // Every request was counted once in the shared table; each window let through at most 5.
      const windows = await db.rows('select window_start, count from rate_limits where shop_id = ?', DEMO_SHOP.id);
      const counted = windows.reduce((sum, w) => sum + Number(w.count), 0);
      assert.equal(counted, 40, JSON.stringify(windows));
      const allowed = windows.reduce((sum, w) => sum + Math.min(5, Number(w.count)), 0);
      assert.equal(passed, allowed, JSON.stringify(windows));
      assert.ok(passed <= 5 * windows.length, `${passed} passed in ${windows.length} windows`);
      // Both processes limited: with per-process buckets each would have passed 5 at once.
      assert.ok(limited.length >= 40 - 5 * windows.length, `${limited.length} limited in ${windows.length} windows`);
    } finally {
      await Promise.all(starting.map((gateway) => gateway.then(stop, () => undefined)));
      await db.close();
    }
  });
});

for (const kind of testStores()) {
  describe(`in-doubt deadline [${kind}]`, () => {
    let gw: TestGateway;
    const HOUR = 3_600_000;
    before(async () => {
      gw = await startGateway(kind, { inDoubtDeadlineMs: HOUR });
    });
    after(() => gw.close());

    const gauge = async (flagged: string) => {
      const text = (await gw.get('/metrics', { auth: null })).text;
      return Number(new RegExp(`^ecomgate_in_doubt_transactions\\{flagged="${flagged}"\\} (\\d+)`, 'm').exec(text)?.[1]);
    };

    it('a transaction still pending past ECOMGATE_IN_DOUBT_DEADLINE is listed at /admin/in-doubt and counted by the gauge', async () => {
      const secret = 'slow-bank-' + randomBytes(8).toString('hex');
      const created = await gw.request('POST', '/admin/shops', { id: 7101, secret_key: secret, acquirer_settings: { settle_ms: 1e9 } }, AS_OPERATOR);
      assert.equal(created.status, 201, created.text);
      const shop = { id: 7101, secret };
      const paid = await gw.post('/transactions/payments', paymentRequest({ credit_card: card('4000000000000606') }), { auth: shop });
      assert.equal(paid.body.transaction.status, 'pending', paid.text);
      const uid = paid.body.transaction.uid;

      assert.deepEqual((await gw.request('GET', '/admin/in-doubt', undefined, AS_OPERATOR)).body.transactions, []);
      assert.equal(await gauge('false'), 1);
      assert.equal(await gauge('true'), 0);
      assert.equal((await gw.request('GET', '/admin/in-doubt', undefined, { auth: null })).status, 401);

      gw.clock.advance(HOUR + 1000);
      assert.equal(await gw.app.resolveInDoubt(), 0, 'the bank still has no answer');
      const row = await gw.app.store.db.selectFrom('transactions').selectAll().where('uid', '=', uid).executeTakeFirstOrThrow();
      assert.equal(row.status, 'pending');
      assert.ok(row.next_inquiry_at && row.next_inquiry_at > gw.clock.now().toISOString(), 'the resolver keeps trying later');

      const listed = await gw.request('GET', '/admin/in-doubt', undefined, AS_OPERATOR);
      assert.equal(listed.status, 200, listed.text);
      assert.equal(listed.body.deadline_seconds, 3600);
      assert.equal(listed.body.transactions.length, 1);
      assert.equal(listed.body.transactions[0].uid, uid);
      assert.equal(listed.body.transactions[0].shop_id, 7101);
      assert.equal(listed.body.transactions[0].status, 'pending');
      assert.ok(listed.body.transactions[0].inquiry_attempts >= 1);
      assert.equal(await gauge('true'), 1);
      assert.equal(await gauge('false'), 0);
    });
  });
}

describe('the Redis rate limiter (ECOMGATE_REDIS_URL)', redis, () => {
  it('counts one window per shop and second across limiter instances (fixed clock)', async () => {
    const { RedisRateLimiter } = await import('../src/limits/sharedRateLimit.js');
    const prefix = `test-${randomBytes(6).toString('hex')}`;
    let now = 1_700_000_000_250;
    const a = new RedisRateLimiter(5, REDIS_URL, prefix, () => now);
    const b = new RedisRateLimiter(5, REDIS_URL, prefix, () => now);
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          Promise.resolve((i % 2 ? a : b).take(1)).then(
            () => 'ok',
            (e) => e.headers?.['retry-after'],
          ),
        ),
      );
      assert.equal(outcomes.filter((o) => o === 'ok').length, 5, outcomes.join(','));
      assert.ok(
        outcomes.filter((o) => o !== 'ok').every((o) => o === '1'),
        outcomes.join(','),
      );
      await a.take(2); // another shop has its own count
      now += 1000; // the next window
      for (let i = 0; i < 5; i++) await b.take(1);
      await assert.rejects(Promise.resolve(a.take(1)), /Rate limit exceeded/);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
