import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import pg from 'pg';
import { card, DEMO_SHOP, POSTGRES_URL, testStores, type StoreKind } from './support/gateway.js';

/**
 * DESIGN.md, Durability: a 200 for an async submit is sent only once its task is committed, also when
 * many submits share one group commit. Concurrent submitters keep batches committing while the gateway
 * (`ecomgate serve`, a child process) is killed with SIGKILL the moment enough answers have arrived; a
 * restarted gateway on the same store must know every request id that was answered 200, and a retried
 * submit with the same RequestID must answer the same id.
 */

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const SUBMITTERS = 40;
/** Answers to collect before the kill (submits keep coming while it happens). */
const KILL_AFTER = 400;
const AUTH = `Basic ${Buffer.from(`${DEMO_SHOP.id}:${DEMO_SHOP.secret}`).toString('base64')}`;

interface Gateway {
  proc: ChildProcess;
  url: string;
  exited: Promise<unknown>;
}

async function storeUrl(kind: StoreKind): Promise<{ url: string; drop(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'ecomgate-durability-'));
    return { url: `sqlite:${join(dir, 'ecomgate.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = `durability_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const separator = POSTGRES_URL.includes('?') ? '&' : '?';
  return {
    url: `${POSTGRES_URL}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    drop: async () => {
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    },
  };
}

async function startGateway(databaseUrl: string, masterKey: string): Promise<Gateway> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ECOMGATE_')));
  Object.assign(env, {
    ECOMGATE_HOST: '127.0.0.1',
    ECOMGATE_PORT: '0',
    ECOMGATE_DATABASE_URL: databaseUrl,
    ECOMGATE_MASTER_KEY: masterKey,
    ECOMGATE_DEMO_SHOPS: '1',
    ECOMGATE_RATE_LIMIT: '0',
    ECOMGATE_LOG_LEVEL: 'info',
  });
  const cwd = mkdtempSync(join(tmpdir(), 'ecomgate-durability-cwd-'));
  const proc = spawn(process.execPath, [MAIN, 'serve'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(proc, 'exit').finally(() => rmSync(cwd, { recursive: true, force: true }));
  const output: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    let pending = '';
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let end: number;
      while ((end = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        output.push(line);
        if (line.includes('"ecomgate listening"')) resolve(JSON.parse(line).address);
      }
    });
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
    void exited.then(() => reject(new Error(`gateway exited before listening:\n${output.join('\n')}`)));
  });
  return { proc, url, exited };
}

async function kill(gateway: Gateway): Promise<void> {
  if (gateway.proc.exitCode === null && gateway.proc.signalCode === null) gateway.proc.kill('SIGKILL');
  await gateway.exited;
}

function submit(gateway: Gateway, i: number, requestId?: string) {
  return fetch(`${gateway.url}/async/transactions/payments`, {
    method: 'POST',
    headers: { authorization: AUTH, 'content-type': 'application/json', ...(requestId ? { RequestID: requestId } : {}) },
    body: JSON.stringify({ request: { amount: 100 + i, currency: 'EUR', description: `Durable order ${i}`, duplicate_check: false, credit_card: card() } }),
  });
}

for (const kind of testStores()) {
  describe(`async submits answered 200 survive SIGKILL [${kind}]`, () => {
    it('knows every acknowledged request id after a restart on the same store', { timeout: 120_000 }, async (t) => {
      const store = await storeUrl(kind);
      const masterKey = randomBytes(32).toString('base64');
      const gateways: Gateway[] = [];
      try {
        const first = await startGateway(store.url, masterKey);
        gateways.push(first);
        const acknowledged = new Map<string, string | undefined>(); // request id → RequestID sent with it
        let sent = 0;
        let killed = false;
        const submitter = async () => {
          while (!killed) {
            const i = sent++;
            // Every third submit carries a RequestID: its retry must find the same task.
            const requestId = i % 3 === 0 ? `durable-${i}` : undefined;
            try {
              const response = await submit(first, i, requestId);
              const text = await response.text();
              assert.equal(response.status, 200, text);
              acknowledged.set(JSON.parse(text).request_id, requestId);
            } catch (error) {
              if (killed) return; // cut off by the kill: not acknowledged, so nothing is owed
              throw error;
            }
            if (acknowledged.size >= KILL_AFTER && !killed) {
              killed = true;
              first.proc.kill('SIGKILL');
            }
          }
        };
        await Promise.all(Array.from({ length: SUBMITTERS }, submitter));
        await first.exited;
        assert.ok(acknowledged.size >= KILL_AFTER);

        const second = await startGateway(store.url, masterKey);
        gateways.push(second);
        const missing: string[] = [];
        for (const [requestId, key] of acknowledged) {
          const response = await fetch(`${second.url}/async/status/${requestId}`, { headers: { authorization: AUTH } });
          const body = await response.json();
          if (response.status !== 200 || !['processing', 'completed'].includes(body.status)) missing.push(requestId);
          if (key !== undefined) {
            const retried = await submit(second, 0, key);
            assert.equal(retried.status, 200);
            assert.equal((await retried.json()).request_id, requestId, `a retry with RequestID ${key} answers its first task`);
          }
        }
        assert.deepEqual(missing, [], 'every request id answered 200 before the kill is known after the restart');
        t.diagnostic(`[${kind}] ${acknowledged.size} submits acknowledged of ${sent} sent before SIGKILL; all found after restart`);
      } finally {
        for (const gateway of gateways) await kill(gateway);
        await store.drop();
      }
    });
  });
}
