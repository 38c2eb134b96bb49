import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { describe } from 'node:test';
import { bankAccountsQuery } from './support/bank.js';
import { it } from './support/deadline.js';
import { APPROVED_CARD, card, DECLINED_CARD } from './support/cards.js';
import { testStores } from './support/gateway.js';
import { apiRequest, type RequestOptions } from './support/http.js';
import { kill, PROCESS_ADMIN_TOKEN, scratchDatabase, serve, type ServeProcess, stop } from './support/processes.js';

/**
 * Spec §4: "Tasks survive restarts and crashes: an accepted request is processed once, never lost, never
 * charged twice, also when the process dies mid-call to the acquirer (resolve by inquiry, not by
 * resending)." The gateway runs as a real child process (`ecomgate serve`) and is killed with SIGKILL twice
 * while a batch of async payments is in flight at a slow bank; after the last restart the database must
 * show every task done once, and the gateway's books must match the bank's.
 */

const SHOP = { id: 5001, secret: 'crash-test-secret-key-0123456789' };
const TASKS = 60;
const LATENCY_MS = 400;
const CONCURRENCY = 4;
const LEASE_MS = 5000;
/**
 * Longer than the sandbox latency, shorter than the lease, both with room for a loaded machine: a task
 * of a live worker must never outlive its lease (it would be taken over while its call is in flight).
 */
const ACQUIRER_TIMEOUT_MS = 3000;
const INQUIRY_DELAY_MS = 1000;
const FIRST_KILL_AT = 15;
const SECOND_KILL_AT = 38;

type Gateway = ServeProcess;

function serveWithCrashSettings(databaseUrl: string, masterKey: string, overrides: Record<string, string> = {}): Promise<Gateway> {
  return serve({
    databaseUrl,
    masterKey,
    env: {
      ECOMGATE_ASYNC_CONCURRENCY: String(CONCURRENCY),
      ECOMGATE_ASYNC_LEASE_MS: String(LEASE_MS),
      ECOMGATE_ASYNC_POLL_MS: '100',
      ECOMGATE_ACQUIRER_TIMEOUT_MS: String(ACQUIRER_TIMEOUT_MS),
      // A dead attempt's transaction may be inquired from timeout + delay after its creation: before the
      // lease runs out, so a task taken over after a kill settles at once.
      ECOMGATE_INQUIRY_DELAY_MS: String(INQUIRY_DELAY_MS),
      ...overrides,
    },
  });
}

const call = (gateway: Gateway, method: string, path: string, body?: unknown, auth: RequestOptions['auth'] = SHOP) =>
  apiRequest(gateway.url, method, path, body, { auth });

/** Status polls per round: a window over the open tasks, so the polling itself barely loads the gateway. */
const POLL_WINDOW = 12;

/** What the status URLs have said so far: a task once completed stays completed. */
class Progress {
  readonly completed = new Set<string>();
  private cursor = 0;
  constructor(readonly ids: string[]) {}

  /** The next open tasks to ask about, cycling through all of them. */
  window(): string[] {
    const open = this.ids.filter((id) => !this.completed.has(id));
    if (open.length <= POLL_WINDOW) return open;
    const start = this.cursor % open.length;
    this.cursor = start + POLL_WINDOW;
    return [...open, ...open].slice(start, start + POLL_WINDOW);
  }
}

/** Polls status URLs until `done(completed)` holds; answers the completed count seen. */
async function waitForCompleted(
  gateway: Gateway,
  progress: Progress,
  done: (completed: number) => boolean,
  what: string,
  timeoutMs = 45_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const asked = progress.window();
    const statuses = await Promise.all(asked.map((id) => call(gateway, 'GET', `/async/status/${id}`)));
    for (const [i, status] of statuses.entries()) {
      assert.equal(status.status, 200, status.text);
      assert.ok(['processing', 'completed'].includes(status.body.status), status.text);
      if (status.body.status === 'completed') progress.completed.add(asked[i]!);
    }
    const completed = progress.completed.size;
    if (done(completed)) return completed;
    if (Date.now() > deadline)
      assert.fail(`${what}: still ${completed}/${progress.ids.length} completed after ${timeoutMs} ms\n${gateway.lines.slice(-20).join('\n')}`);
    await delay(20);
  }
}

for (const kind of testStores()) {
  describe(`async mode survives SIGKILL of the gateway [${kind}]`, () => {
    it('processes every accepted task once, charges nothing twice, and keeps the books equal to the bank', { timeout: 120_000 }, async (t) => {
      const db = await scratchDatabase(kind);
      const masterKey = randomBytes(32).toString('base64');
      const gateways: Gateway[] = [];
      try {
        // Run 1: the slow shop and the batch.
        let gateway = await serveWithCrashSettings(db.url, masterKey);
        gateways.push(gateway);
        const created = await call(
          gateway,
          'POST',
          '/admin/shops',
          { id: SHOP.id, secret_key: SHOP.secret, test: true, acquirer_settings: { latency_ms: LATENCY_MS } },
          { bearer: PROCESS_ADMIN_TOKEN },
        );
        assert.equal(created.status, 201, created.text);

        const cardOf = new Map<string, string>();
        const amountOf = new Map<string, number>();
        const submitted = await Promise.all(
          Array.from({ length: TASKS }, async (_, i) => {
            const number = i % 3 === 2 ? DECLINED_CARD : APPROVED_CARD;
            const amount = 1000 + i;
            const answer = await call(gateway, 'POST', '/async/transactions/payments', {
              request: {
                amount,
                currency: 'EUR',
                description: `Crash order ${i}`,
                tracking_id: `crash-${i}`,
                duplicate_check: false,
                credit_card: card(number),
              },
            });
            assert.equal(answer.status, 200, answer.text);
            assert.equal(answer.body.status, 'processing');
            const id: string = answer.body.request_id;
            assert.equal(new URL(answer.body.status_url).pathname, `/async/status/${id}`);
            cardOf.set(id, number);
            amountOf.set(id, amount);
            return id;
          }),
        );
        const ids = [...new Set(submitted)];
        assert.equal(ids.length, TASKS);

        // Kill 1: some done, not all.
        const progress = new Progress(ids);
        const seenBeforeKill1 = await waitForCompleted(gateway, progress, (n) => n >= FIRST_KILL_AT, 'before the first kill');
        await kill(gateway);
        const killedAt1 = new Date().toISOString();
        assert.ok(seenBeforeKill1 < TASKS, `the first kill must come mid-batch (${seenBeforeKill1}/${TASKS} were already completed)`);

        // Run 2, then kill 2: more done, still not all.
        const restart1 = performance.now();
        gateway = await serveWithCrashSettings(db.url, masterKey);
        gateways.push(gateway);
        const seenBeforeKill2 = await waitForCompleted(gateway, progress, (n) => n >= SECOND_KILL_AT, 'before the second kill');
        await kill(gateway);
        const killedAt2 = new Date().toISOString();
        const run2Ms = performance.now() - restart1;
        assert.ok(seenBeforeKill2 < TASKS, `the second kill must come mid-batch (${seenBeforeKill2}/${TASKS} were already completed)`);

        // Run 3: everything completes.
        const restart2 = performance.now();
        gateway = await serveWithCrashSettings(db.url, masterKey);
        gateways.push(gateway);
        await waitForCompleted(gateway, progress, (n) => n === TASKS, 'after the last restart');
        const recoveryMs = performance.now() - restart2;

        // Every request id has its one result: the synchronous answer with a transaction.
        const results = new Map<string, any>();
        for (const id of ids) {
          const first = await call(gateway, 'GET', `/async/result/${id}`);
          assert.equal(first.status, 200, `result of ${id}: ${first.text}`);
          assert.ok(first.body.transaction?.uid, `result of ${id} carries a transaction: ${first.text}`);
          const again = await call(gateway, 'GET', `/async/result/${id}`);
          assert.deepEqual(again.body, first.body, 'a 200 result reads the same every time');
          results.set(id, first.body.transaction);
        }
        await stop(gateway);

        const faults = gateways.flatMap((g) =>
          g.lines.filter((line) => line.includes('async task fault') || line.includes('could not be completed') || line.includes('taken over')),
        );
        assert.deepEqual(faults, [], 'no async task faulted, and none was taken over from a live worker');

        // The queue: every task done once, with a 200, and its card data erased.
        const tasks = await db.rows('select * from async_tasks where shop_id = ?', SHOP.id);
        assert.equal(tasks.length, TASKS);
        assert.deepEqual(new Set(tasks.map((task) => task.id)), new Set(ids));
        for (const task of tasks) {
          assert.equal(task.state, 'done', `task ${task.id}`);
          assert.equal(Number(task.status_code), 200, `task ${task.id}`);
          assert.equal(task.request_enc, null, `task ${task.id} still holds its sealed request (card, CVC)`);
          assert.equal(task.lease_owner, null);
          assert.ok(!JSON.stringify(task).includes(cardOf.get(task.id)!), `task ${task.id} keeps no full card number`);
          assert.equal(task.idempotency_key, `async:${task.id}`);
        }
        const lingering = await db.rows('select count(*) as n from async_tasks where request_enc is not null');
        assert.equal(Number(lingering[0]!.n), 0, 'no task keeps its request after completion');

        // One transaction per task, linked to the task's key in the same commit that created it.
        const keys = await db.rows("select key, transaction_uid from idempotency_keys where shop_id = ? and key like 'async:%'", SHOP.id);
        assert.equal(keys.length, TASKS, 'one idempotency record per task');
        const uidOf = new Map(keys.map((k) => [String(k.key).slice('async:'.length), k.transaction_uid as string | null]));
        for (const id of ids) {
          assert.ok(uidOf.get(id), `task ${id} names its transaction`);
          assert.equal(results.get(id).uid, uidOf.get(id), `the result of ${id} is the transaction its key names`);
        }
        assert.equal(new Set(uidOf.values()).size, TASKS, 'no two tasks share a transaction');

        const transactions = await db.rows(
          'select uid, type, status, amount, currency, message, code, acquirer_ref from transactions where shop_id = ?',
          SHOP.id,
        );
        assert.equal(transactions.length, TASKS, 'exactly one payment row per task: nothing charged twice');
        const byUid = new Map(transactions.map((row) => [row.uid as string, row]));
        assert.deepEqual(new Set(byUid.keys()), new Set(uidOf.values()));

        let approved = 0;
        let declined = 0;
        let notReceived = 0;
        for (const id of ids) {
          const row = byUid.get(uidOf.get(id)!)!;
          const result = results.get(id);
          assert.equal(row.type, 'payment');
          assert.equal(Number(row.amount), amountOf.get(id));
          assert.equal(result.status, row.status, `result and row of ${id} agree`);
          assert.equal(result.amount, amountOf.get(id));
          if (row.status === 'failed' && row.message === 'Acquirer did not receive the operation') {
            notReceived++;
            continue;
          }
          if (cardOf.get(id) === DECLINED_CARD) {
            assert.equal(row.status, 'failed', `${id}: ${JSON.stringify(row)}`);
            assert.equal(row.message, 'Payment was declined');
            declined++;
          } else {
            assert.equal(row.status, 'successful', `${id}: ${JSON.stringify(row)}`);
            approved++;
          }
        }

        // The bank's books against ours.
        const successful = transactions.filter((row) => row.status === 'successful');
        const ledger = await db.rows('select transaction_uid, currency, amount from ledger_entries where shop_id = ?', SHOP.id);
        const ledgerCount = new Map<string, number>();
        for (const entry of ledger) ledgerCount.set(entry.transaction_uid, (ledgerCount.get(entry.transaction_uid) ?? 0) + 1);
        for (const row of successful) {
          assert.equal(ledgerCount.get(row.uid), 1, `successful payment ${row.uid} has exactly one ledger entry`);
          const entry = ledger.find((e) => e.transaction_uid === row.uid)!;
          assert.equal(Number(entry.amount), Number(row.amount));
          assert.equal(entry.currency, 'EUR');
        }
        assert.equal(ledger.length, successful.length, 'only successful payments reach the ledger');

        const operations = await db.rows(
          'select reference, kind, amount, currency, approved, response from sandbox_operations where shop_id = ?',
          SHOP.id,
        );
        const byRef = new Map(transactions.map((row) => [row.acquirer_ref as string, row]));
        for (const operation of operations) {
          const row = byRef.get(operation.reference);
          assert.ok(row, `the bank holds operation ${operation.reference} of no transaction`);
          assert.equal(operation.kind, 'payment');
          assert.equal(Number(operation.amount), Number(row.amount));
          assert.equal(row.status, Number(operation.approved) === 1 ? 'successful' : 'failed', `transaction ${row.uid} agrees with the bank`);
          if (Number(operation.approved) !== 1) assert.equal(row.message, 'Payment was declined');
        }
        const approvedRefs = operations.filter((op) => Number(op.approved) === 1).map((op) => op.reference as string);
        assert.equal(new Set(approvedRefs).size, approvedRefs.length);
        assert.deepEqual(
          new Set(approvedRefs),
          new Set(successful.map((row) => row.acquirer_ref as string)),
          "the bank's approved set is the gateway's successful set",
        );
        for (const row of transactions.filter((r) => r.message === 'Acquirer did not receive the operation')) {
          assert.ok(!operations.some((op) => op.reference === row.acquirer_ref), `not-received ${row.uid} is unknown to the bank`);
        }

        const ledgerSum = ledger.reduce((sum, entry) => sum + Number(entry.amount), 0);
        const account = (await db.rows(bankAccountsQuery, SHOP.id)).filter((row) => row.currency === 'EUR');
        assert.equal(ledgerSum, Number(account[0]?.amount ?? 0), 'ledger sum equals the bank balance');
        assert.ok(ledgerSum > 0);

        // The kills cut work off: some tasks needed a later attempt.
        const retried = tasks.filter((task) => Number(task.attempts) > 1);
        assert.ok(retried.length > 0, 'at least one task was interrupted by a kill and resumed');
        const resumedAs = (status: string, message?: string) =>
          retried.filter((task) => {
            const row = byUid.get(uidOf.get(task.id)!)!;
            return row.status === status && (message === undefined || row.message === message);
          }).length;
        for (const row of transactions.filter((r) => r.message === 'Acquirer did not receive the operation')) {
          const task = tasks.find((candidate) => uidOf.get(candidate.id) === row.uid)!;
          assert.ok(Number(task.attempts) > 1, `only an interrupted task ends "not received" (${row.uid})`);
        }
        const doneBefore = (at: string) => tasks.filter((task) => task.completed_at <= at).length;
        const completedBeforeKill1 = doneBefore(killedAt1);
        const completedBeforeKill2 = doneBefore(killedAt2);
        assert.ok(completedBeforeKill1 >= FIRST_KILL_AT && completedBeforeKill1 < TASKS);
        assert.ok(completedBeforeKill2 > completedBeforeKill1 && completedBeforeKill2 < TASKS);

        t.diagnostic(
          `[${kind}] tasks=${TASKS} completed before kill 1=${completedBeforeKill1}, before kill 2=${completedBeforeKill2}; ` +
            `resumed (attempts>1)=${retried.length} (max attempts ${Math.max(...tasks.map((task) => Number(task.attempts)))}: ` +
            `${resumedAs('successful')} successful, ${resumedAs('failed', 'Payment was declined')} declined, ${resumedAs('failed', 'Acquirer did not receive the operation')} not received); ` +
            `successful=${approved} declined=${declined} not received by the bank=${notReceived}; ` +
            `run 2 (restart to kill 2)=${Math.round(run2Ms)} ms; last restart to all completed=${Math.round(recoveryMs)} ms; ledger=${ledgerSum}`,
        );
      } finally {
        for (const gateway of gateways) await kill(gateway);
        await db.close();
      }
    });

    it('keeps the lease of a live worker whose bank is slower than the lease, and charges once', { timeout: 60_000 }, async () => {
      // A lease shorter than the bank's latency: the worker renews it while it waits, so the task is never
      // taken over under a live attempt (which could run the operation a second time, or settle it by an
      // inquiry made while the first call is still on its way).
      const db = await scratchDatabase(kind);
      let gateway: Gateway | undefined;
      try {
        gateway = await serveWithCrashSettings(db.url, randomBytes(32).toString('base64'), {
          ECOMGATE_ASYNC_LEASE_MS: '300',
          ECOMGATE_ACQUIRER_TIMEOUT_MS: '2000',
          ECOMGATE_INQUIRY_DELAY_MS: '500',
        });
        const live = gateway;
        const slowBank = { id: SHOP.id, secret_key: SHOP.secret, test: true, acquirer_settings: { latency_ms: 1000 } };
        const created = await call(live, 'POST', '/admin/shops', slowBank, { bearer: PROCESS_ADMIN_TOKEN });
        assert.equal(created.status, 201, created.text);
        const ids = await Promise.all(
          [0, 1, 2].map(async (i) => {
            const answer = await call(live, 'POST', '/async/transactions/payments', {
              request: {
                amount: 500 + i,
                currency: 'EUR',
                description: `Lease order ${i}`,
                duplicate_check: false,
                credit_card: card(APPROVED_CARD),
              },
            });
            assert.equal(answer.status, 200, answer.text);
            return answer.body.request_id as string;
          }),
        );
        await waitForCompleted(live, new Progress(ids), (n) => n === ids.length, 'lease shorter than the bank');
        for (const id of ids) {
          const result = await call(live, 'GET', `/async/result/${id}`);
          assert.equal(result.status, 200, result.text);
          assert.equal(result.body.transaction.status, 'successful', result.text);
        }
        await stop(live);

        const tasks = await db.rows('select id, attempts from async_tasks where shop_id = ?', SHOP.id);
        assert.deepEqual(
          tasks.map((task) => Number(task.attempts)),
          [1, 1, 1],
          'a live attempt lost its lease',
        );
        const successful = await db.rows("select acquirer_ref from transactions where shop_id = ? and status = 'successful'", SHOP.id);
        const approved = await db.rows('select reference from sandbox_operations where shop_id = ? and approved = 1', SHOP.id);
        assert.equal(successful.length, ids.length);
        assert.deepEqual(new Set(approved.map((op) => op.reference)), new Set(successful.map((row) => row.acquirer_ref)));
        const ledger = await db.rows('select count(*) as n, sum(amount) as total from ledger_entries where shop_id = ?', SHOP.id);
        const account = (await db.rows(bankAccountsQuery, SHOP.id)).filter((row) => row.currency === 'EUR');
        assert.equal(Number(ledger[0]!.n), ids.length);
        assert.equal(Number(ledger[0]!.total), Number(account[0]!.amount));
      } finally {
        if (gateway) await kill(gateway);
        await db.close();
      }
    });
  });
}
