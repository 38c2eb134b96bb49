import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { describe } from 'node:test';
import { it } from './support/deadline.js';
import { card, DEMO_SHOP, startGateway, testStores } from './support/gateway.js';
import { runCli, scratchDatabase, serve, stop } from './support/processes.js';
import { apiRequest } from './support/http.js';

/**
 * Key rotation as the README describes it: put the new key first, keep the old one after it, run
 * `ecomgate vault rotate`, drop the old key. Async tasks still queued at that moment hold their request
 * (card number and CVC) sealed under the old key; once the old key is gone they must still be processed.
 * The queue is filled by a gateway whose workers are off, the rotation runs through the CLI, and the
 * queued payments are processed by a restarted `ecomgate serve` that knows only the new key.
 */

/** More than one rotation batch, so the batching itself is exercised. */
const QUEUED = 130;
const keyIdOf = (key: string) => createHash('sha256').update(Buffer.from(key, 'base64')).digest('hex').slice(0, 8);

const call = (base: string, method: string, path: string, body?: unknown) => apiRequest(base, method, path, body, { auth: DEMO_SHOP });

for (const kind of testStores()) {
  describe(`vault rotate with queued async tasks [${kind}]`, () => {
    it('re-seals queued requests: with only the new key, every queued payment succeeds', { timeout: 120_000 }, async () => {
      const db = await scratchDatabase(kind);
      const keyA = randomBytes(32).toString('base64');
      const keyB = randomBytes(32).toString('base64');
      const requestIds: string[] = [];
      try {
        // 1. Payments queued under key A, no worker running.
        const underA = await startGateway(kind, {}, { reuse: { databaseUrl: db.url, masterKey: keyA, remove: async () => {} } });
        try {
          for (let i = 0; i < QUEUED; i++) {
            const pan = i % 2 === 0 ? '4200000000000000' : '5555555555554444';
            const submitted = await underA.post('/async/transactions/payments', {
              amount: 500 + i,
              currency: 'EUR',
              description: `Queued order ${i}`,
              tracking_id: `rotation-${i}`,
              duplicate_check: false,
              credit_card: card(pan),
            });
            assert.equal(submitted.status, 200, submitted.text);
            requestIds.push(submitted.body.request_id);
          }
        } finally {
          await underA.close({ keepDatabase: true });
        }
        const queued = await db.rows("select request_enc from async_tasks where state = 'queued'");
        assert.equal(queued.length, QUEUED);
        assert.ok(queued.every((row) => row.request_enc.startsWith(keyIdOf(keyA) + '.')));

        // 2. Rotate with "B,A": every queued request is sealed under B afterwards.
        const env = { ECOMGATE_DATABASE_URL: db.url, ECOMGATE_MASTER_KEY: `${keyB},${keyA}`, ECOMGATE_LOG_LEVEL: 'warn' };
        const rotation = await runCli(['vault', 'rotate'], env);
        assert.equal(rotation.code, 0, rotation.stderr);
        const printed = JSON.parse(rotation.stdout);
        assert.equal(printed.rotated.tasks, QUEUED, rotation.stdout);
        assert.equal(printed.key_id, keyIdOf(keyB));
        const again = JSON.parse((await runCli(['vault', 'rotate'], env)).stdout);
        assert.equal(again.rotated.tasks, 0, 'a second rotation has nothing left to re-seal');
        const sealed = await db.rows('select request_enc from async_tasks');
        assert.ok(
          sealed.every((row) => row.request_enc.startsWith(keyIdOf(keyB) + '.')),
          'no queued request left under the old key',
        );

        // 3. Restart with only B: the workers process every queued payment.
        const underB = await serve({ databaseUrl: db.url, masterKey: keyB, env: { ECOMGATE_ASYNC_POLL_MS: '100' } });
        try {
          const pending = new Set(requestIds);
          const deadline = Date.now() + 60_000;
          while (pending.size > 0) {
            for (const id of [...pending]) {
              const status = await call(underB.url, 'GET', `/async/status/${id}`);
              assert.equal(status.status, 200, status.text);
              if (status.body.status === 'completed') pending.delete(id);
            }
            if (Date.now() > deadline) assert.fail(`${pending.size} queued payments not completed in 60 s:\n${underB.lines.slice(-20).join('\n')}`);
            if (pending.size > 0) await delay(20);
          }
          const results = await Promise.all(requestIds.map((id) => call(underB.url, 'GET', `/async/result/${id}`)));
          for (const result of results) {
            assert.equal(result.status, 200, result.text);
            assert.equal(result.body.transaction.status, 'successful', result.text);
          }
          const done = await db.rows("select count(*) as n from async_tasks where state = 'done' and request_enc is null");
          assert.equal(Number(done[0]!.n), QUEUED);
        } finally {
          await stop(underB);
        }
      } finally {
        await db.close();
      }
    });
  });
}
