import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe } from 'node:test';
import { it, until } from './support/deadline.js';
import { DEMO_SHOP, exchange, paymentRequest, POSTGRES_URL, startGateway, testStores } from './support/gateway.js';
import { scratchDatabase, serve, stop } from './support/processes.js';
import { TcpProxy } from './support/tcpProxy.js';
import { apiRequest } from './support/http.js';

/**
 * A database that cannot be reached is the same event at start and later: `serve` waits for it (with
 * back-off, saying so) instead of exiting, and background workers log an outage at the level the HTTP
 * side does (warn), so an alert on errors does not fire on every database restart.
 */

const onPostgres = testStores().includes('postgres');
const skip = onPostgres ? false : 'PostgreSQL is not among ECOMGATE_TEST_STORES';
const entries = (lines: string[]) =>
  lines.flatMap((line) => {
    try {
      return [JSON.parse(line)];
    } catch {
      return [];
    }
  });

describe('starting while PostgreSQL is unreachable [postgres]', { skip }, () => {
  it('serve waits, logs that it retries, and serves once the database is reachable', { timeout: 60_000 }, async () => {
    const proxy = await TcpProxy.start('127.0.0.1', 5432);
    const db = await scratchDatabase('postgres', (url) => proxy.rewrite(url));
    proxy.cut();
    try {
      const starting = serve({ databaseUrl: db.url, masterKey: randomBytes(32).toString('base64'), startMs: 45_000 });
      // Two connection attempts refused: the gateway is retrying, not exiting.
      await until(
        async () => proxy.dropped >= 2,
        () => 'the gateway never tried the database twice',
        30_000,
        100,
      );
      proxy.restore();
      const gateway = await starting;
      try {
        const retries = entries(gateway.lines).filter((entry) => entry.msg === 'database unavailable at startup; retrying');
        assert.ok(retries.length >= 2, gateway.lines.join('\n'));
        assert.ok(retries.every((entry) => entry.level === 40 && entry.retry_in_ms > 0));
        assert.equal((await exchange(`${gateway.url}/readyz`, {})).status, 200);
        const payment = await apiRequest(gateway.url, 'POST', '/transactions/payments', { request: paymentRequest() }, { auth: DEMO_SHOP });
        assert.equal(payment.status, 200, payment.text);
        assert.equal(payment.body.transaction.status, 'successful');
      } finally {
        await stop(gateway);
      }
    } finally {
      await proxy.close();
      await db.close();
    }
  });
});

describe('a database outage seen by the HTTP side and by the workers [postgres]', { skip }, () => {
  it('is logged at warn by both', { timeout: 60_000 }, async () => {
    const proxy = await TcpProxy.start('127.0.0.1', 5432);
    const gateway = await startGateway('postgres', { databaseUrl: proxy.rewrite(POSTGRES_URL), asyncPollMs: 50 }, { asyncWorkers: true });
    try {
      proxy.cut();
      const answer = await gateway.post('/transactions/payments', paymentRequest());
      assert.equal(answer.status, 503);
      const claimFailed = () => entries(gateway.logs).find((entry) => entry.msg === 'claiming async tasks failed');
      await until(
        async () => claimFailed() !== undefined,
        () => 'the workers never met the outage',
        30_000,
        100,
      );
      const http = entries(gateway.logs).find((entry) => entry.msg === 'database unavailable');
      assert.ok(http, 'the HTTP side logged the outage');
      assert.equal(http.level, 40);
      assert.equal(claimFailed()!.level, http.level, 'one event, one level');
      assert.ok(!entries(gateway.logs).some((entry) => entry.level >= 50), 'nothing at error level during the outage');
    } finally {
      proxy.restore();
      await gateway.close();
      await proxy.close();
    }
  });
});
