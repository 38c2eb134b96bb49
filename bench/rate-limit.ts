/**
 * The per-shop rate limiter alone: N takes with 50 in flight, for each backend (docs/scale-out.md).
 *   npx tsc -p tsconfig.json && node dist/bench/rate-limit.js [N]
 * PostgreSQL: ECOMGATE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test), a fresh schema.
 * Redis: ECOMGATE_REDIS_URL (default redis://127.0.0.1:6379).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { RateLimiter } from '../src/limits/rateLimit.js';
import { DatabaseRateLimiter, RedisRateLimiter, type ShopRateLimiter } from '../src/limits/sharedRateLimit.js';
import { migrate, openStore } from '../src/store/db.js';

const N = Number(process.argv[2] ?? 20_000);
const CONCURRENCY = 50;
const PG_URL = process.env.ECOMGATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.ECOMGATE_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** High enough never to refuse: we time the bookkeeping, not the 429 path. Shops spread like real traffic. */
const LIMIT = 1e9;
const SHOPS = 10;

async function measure(name: string, limiter: ShopRateLimiter, n = N): Promise<{ name: string; n: number; perSecond: number }> {
  // Warm-up (connections, prepared paths).
  for (let i = 0; i < 200; i++) await limiter.take(i % SHOPS);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        await limiter.take(i % SHOPS);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const result = { name, n, perSecond: Math.round(n / seconds) };
  console.log(JSON.stringify(result));
  return result;
}

const results = [];
results.push(await measure('memory (token bucket, one process)', new RateLimiter(LIMIT), N * 10));

const dir = mkdtempSync(join(tmpdir(), 'ecomgate-rl-'));
const sqlite = await openStore({ url: `sqlite:${join(dir, 'rl.db')}` });
await migrate(sqlite);
results.push(await measure('sqlite (rate_limits upsert, store connection)', DatabaseRateLimiter.overStore(LIMIT, sqlite), Math.min(N, 5000)));
await sqlite.close();
rmSync(dir, { recursive: true, force: true });

const schema = `bench_rl_${randomBytes(4).toString('hex')}`;
const pgStore = await openStore({ url: PG_URL, schema });
await migrate(pgStore);
results.push(await measure('postgres (rate_limits upsert via store pool, synchronous_commit=on)', DatabaseRateLimiter.overStore(LIMIT, pgStore)));
const own = DatabaseRateLimiter.overPostgres(LIMIT, PG_URL, schema);
results.push(await measure('postgres (rate_limits upsert, own pool of 4, synchronous_commit=off)', own));
await own.close();
await pgStore.close();
const admin = new pg.Client({ connectionString: PG_URL });
await admin.connect();
await admin.query(`drop schema if exists ${schema} cascade`);
await admin.end();

const redis = new RedisRateLimiter(LIMIT, REDIS_URL, `bench-${randomBytes(4).toString('hex')}`);
results.push(await measure('redis (MULTI INCR+EXPIRE, one connection)', redis));
await redis.close();
console.log(JSON.stringify({ concurrency: CONCURRENCY, shops: SHOPS, results }, null, 2));
