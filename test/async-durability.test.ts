import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe } from 'node:test';
import { it } from './support/deadline.js';
import { card, connectionLost, DEMO_SHOP, testStores } from './support/gateway.js';
import { kill, scratchDatabase, serve, type ServeProcess } from './support/processes.js';
import { authHeaders, basicAuth } from './support/http.js';

/**
 * DESIGN.md, Durability: a 200 for an async submit is sent only once its task is committed, also when
 * many submits share one group commit. Concurrent submitters keep batches committing while the gateway
 * (`ecomgate serve`, a child process) is killed with SIGKILL the moment enough answers have arrived; a
 * restarted gateway on the same store must know every request id that was answered 200, and a retried
 * submit with the same RequestID must answer the same id.
 */

const SUBMITTERS = 40;
/** Answers to collect before the kill (submits keep coming while it happens). */
const KILL_AFTER = 400;
const AUTH = basicAuth(DEMO_SHOP);

type Gateway = ServeProcess;

function submit(gateway: Gateway, i: number, requestId?: string) {
  return fetch(`${gateway.url}/async/transactions/payments`, {
    method: 'POST',
    headers: { ...authHeaders(DEMO_SHOP), ...(requestId ? { RequestID: requestId } : {}) },
    body: JSON.stringify({
      request: { amount: 100 + i, currency: 'EUR', description: `Durable order ${i}`, duplicate_check: false, credit_card: card() },
    }),
  });
}

for (const kind of testStores()) {
  describe(`async submits answered 200 survive SIGKILL [${kind}]`, () => {
    it('knows every acknowledged request id after a restart on the same store', { timeout: 120_000 }, async (t) => {
      const store = await scratchDatabase(kind);
      const masterKey = randomBytes(32).toString('base64');
      const gateways: Gateway[] = [];
      try {
        const first = await serve({ databaseUrl: store.url, masterKey });
        gateways.push(first);
        const acknowledged = new Map<string, { i: number; requestId?: string }>(); // request id → what was sent
        let sent = 0;
        let killed = false;
        const submitter = async () => {
          while (!killed) {
            const i = sent++;
            // Every third submit carries a RequestID: its retry must find the same task.
            const requestId = i % 3 === 0 ? `durable-${i}` : undefined;
            let status: number;
            let text: string;
            try {
              const response = await submit(first, i, requestId);
              status = response.status;
              text = await response.text();
            } catch (error) {
              // Cut off by the kill: not acknowledged, so nothing is owed. Any answer, or any other failure, counts.
              if (killed && connectionLost(error)) return;
              throw error;
            }
            assert.equal(status, 200, text);
            acknowledged.set(JSON.parse(text).request_id, { i, requestId });
            if (acknowledged.size >= KILL_AFTER && !killed) {
              killed = true;
              first.proc.kill('SIGKILL');
            }
          }
        };
        await Promise.all(Array.from({ length: SUBMITTERS }, submitter));
        await first.exited;
        assert.ok(acknowledged.size >= KILL_AFTER);

        const second = await serve({ databaseUrl: store.url, masterKey });
        gateways.push(second);
        const missing: string[] = [];
        for (const [requestId, { i, requestId: key }] of acknowledged) {
          const response = await fetch(`${second.url}/async/status/${requestId}`, { headers: { authorization: AUTH } });
          const body = await response.json();
          if (response.status !== 200 || !['processing', 'completed'].includes(body.status)) missing.push(requestId);
          if (key !== undefined) {
            const retried = await submit(second, i, key);
            assert.equal(retried.status, 200);
            assert.equal((await retried.json()).request_id, requestId, `a retry with RequestID ${key} answers its first task`);
          }
        }
        assert.deepEqual(missing, [], 'every request id answered 200 before the kill is known after the restart');
        t.diagnostic(`[${kind}] ${acknowledged.size} submits acknowledged of ${sent} sent before SIGKILL; all found after restart`);
      } finally {
        for (const gateway of gateways) await kill(gateway);
        await store.close();
      }
    });
  });
}
