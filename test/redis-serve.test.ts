import assert from 'node:assert/strict';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { describe } from 'node:test';
import { Redis } from 'ioredis';
import { PROCESS_ADMIN_TOKEN, scratchDatabase, serve, stop } from './support/processes.js';
import { needs, REDIS_URL } from './support/services.js';
import { it, until } from './support/deadline.js';
import { apiRequest, basicAuth } from './support/http.js';

/**
 * ECOMGATE_REDIS_URL reaches `ecomgate serve` (a child process on PostgreSQL): the per-shop rate limit is
 * counted in Redis, and an unreachable Redis lets requests through (fail open) with a warning. Needs
 * PostgreSQL and Redis (support/services.ts): skipped with one line when either is absent, a failure when
 * CI=true.
 */

// PostgreSQL for every case; Redis for the first (the second points serve at a closed port on purpose).
const postgres = await needs('postgres');
const redis = await needs('redis');

/** A port on loopback where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function withShop(url: string): Promise<{ id: number; authorization: string }> {
  // A shop id of its own: every gateway on this Redis counts under the same key prefix.
  const shop = { id: randomInt(100_000, 2_000_000_000), secret: `redis-shop-${randomBytes(8).toString('hex')}` };
  const fields = { id: shop.id, secret_key: shop.secret, test: true };
  const created = await apiRequest(url, 'POST', '/admin/shops', fields, { auth: { bearer: PROCESS_ADMIN_TOKEN } });
  assert.equal(created.status, 201, created.text);
  return { id: shop.id, authorization: basicAuth(shop) };
}

describe('ECOMGATE_REDIS_URL wired through `ecomgate serve` [postgres]', postgres, () => {
  it('counts the shop rate limit in Redis: a burst beyond it answers 429', { timeout: 60_000, ...redis }, async () => {
    const db = await scratchDatabase('postgres');
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
    const gateway = await serve({
      databaseUrl: db.url,
      masterKey: randomBytes(32).toString('base64'),
      env: { ECOMGATE_REDIS_URL: REDIS_URL, ECOMGATE_RATE_LIMIT: '3' },
    });
    try {
      const shop = await withShop(gateway.url);
      const ask = () => fetch(`${gateway.url}/transactions/${randomUUID()}`, { headers: { authorization: shop.authorization } });
      const first = await ask();
      assert.equal(first.status, 404, await first.text());
      const keys = await redis.keys(`ecomgate:rl:${shop.id}:*`);
      assert.ok(keys.length >= 1, 'the request was counted in Redis');
      const burst = await Promise.all(Array.from({ length: 12 }, ask));
      const statuses = burst.map((r) => r.status);
      // 3 per second: the 13 requests span at most two one-second windows, so at most 6 pass.
      assert.ok(statuses.filter((s) => s === 404).length <= 6, statuses.join(','));
      const refused = burst.find((r) => r.status === 429);
      assert.ok(refused, statuses.join(','));
      const body = await refused.json();
      assert.equal(body.response.message, body.message);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    } finally {
      await stop(gateway);
      redis.disconnect();
      await db.close();
    }
  });

  it('with Redis unreachable, lets requests through and warns', { timeout: 60_000 }, async () => {
    const db = await scratchDatabase('postgres');
    const port = await closedPort();
    const gateway = await serve({
      databaseUrl: db.url,
      masterKey: randomBytes(32).toString('base64'),
      env: { ECOMGATE_REDIS_URL: `redis://127.0.0.1:${port}`, ECOMGATE_RATE_LIMIT: '1' },
    });
    try {
      const shop = await withShop(gateway.url);
      for (let i = 0; i < 3; i++) {
        const answer = await fetch(`${gateway.url}/transactions/${randomUUID()}`, { headers: { authorization: shop.authorization } });
        assert.equal(answer.status, 404, 'fail open: no 429 and no 500 without Redis');
      }
      await until(
        () => gateway.lines.some((line) => line.includes('shared rate limit unavailable (Redis)')),
        () => `no Redis warning logged:\n${gateway.lines.slice(-10).join('\n')}`,
      );
    } finally {
      await stop(gateway);
      await db.close();
    }
  });
});
