import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { it, PATIENCE_MS, until } from './support/deadline.js';
import { AS_OPERATOR, BankGate, card, DEMO_3DS_SHOP, paymentRequest, startGateway, type TestGateway, testStores } from './support/gateway.js';
import { DECLINED_CARD } from './support/cards.js';

/** Replaces what legitimately differs between two runs of the same request (ids, times, tokens). */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, member]) => {
        if (
          [
            'uid',
            'id',
            'parent_uid',
            'tracking_id',
            'receipt_url',
            'redirect_url',
            'auth_code',
            'rrn',
            'ref_id',
            'amount',
            'current_volume',
            'current_count',
          ].includes(key)
        )
          return [key, typeof member];
        if (key.endsWith('_at')) return [key, member === null ? null : 'timestamp'];
        return [key, shapeOf(member)];
      }),
    );
  }
  return value;
}

for (const store of testStores()) {
  describe(`async mode [${store}]`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(store);
    });
    after(() => gw.close());

    async function submit(path: string, fields?: unknown, options: { method?: string; auth?: typeof DEMO_3DS_SHOP } = {}) {
      const method = options.method ?? 'POST';
      const answer = await gw.request(method, `/async${path}`, method === 'POST' ? { request: fields } : undefined, { auth: options.auth });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.status, 'processing');
      return answer.body as { request_id: string; status_url: string; response_url: string };
    }

    async function completed(requestId: string) {
      await gw.app.workers.drain();
      const status = await gw.get(`/async/status/${requestId}`);
      assert.equal(status.body.status, 'completed');
      return gw.get(`/async/result/${requestId}`);
    }

    it('counts async results in ecomgate_transactions_total as the sync answers are counted', async () => {
      const count = async (status: string) => {
        const text = (await gw.get('/metrics', { auth: null })).text;
        const line = text.split('\n').find((l) => l.startsWith(`ecomgate_transactions_total{type="payment",status="${status}"} `));
        return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
      };
      const [successful, failed] = [await count('successful'), await count('failed')];
      const paid = await submit('/transactions/payments', paymentRequest());
      const declined = await submit('/transactions/payments', paymentRequest({ credit_card: card(DECLINED_CARD) }));
      assert.equal((await completed(paid.request_id)).body.transaction.status, 'successful');
      assert.equal((await completed(declined.request_id)).body.transaction.status, 'failed');
      assert.deepEqual([await count('successful'), await count('failed')], [successful + 1, failed + 1]);
    });

    it('answers the submit with request_id and URLs from the public base, after the task is stored', async () => {
      const before = await gw.count('async_tasks');
      const bankCalls = await gw.count('sandbox_operations');
      const task = await submit('/transactions/payments', paymentRequest());
      assert.match(task.request_id, /^[0-9a-f-]{36}$/);
      assert.equal(task.status_url, `${gw.app.ctx.publicUrl}/async/status/${task.request_id}`);
      assert.equal(task.response_url, `${gw.app.ctx.publicUrl}/async/result/${task.request_id}`);
      assert.equal(await gw.count('async_tasks'), before + 1);
      const status = await gw.get(`/async/status/${task.request_id}`);
      assert.deepEqual(status.body, { status: 'processing', request_id: task.request_id });
      const early = await gw.get(`/async/result/${task.request_id}`);
      assert.equal(early.status, 425);
      assert.deepEqual(early.body, {
        status: 'processing',
        request_id: task.request_id,
        status_url: task.status_url,
        response_url: task.response_url,
      });
      // The submit was answered, and its task read twice, before the bank was asked anything.
      assert.equal(await gw.count('sandbox_operations'), bankCalls, 'the bank was called before the task ran');
      const result = await completed(task.request_id);
      assert.equal(await gw.count('sandbox_operations'), bankCalls + 1, 'the task itself calls the bank once');
      assert.equal(result.status, 200);
      assert.equal(result.body.transaction.status, 'successful');
      const status2 = await gw.get(`/async/status/${task.request_id}`);
      assert.deepEqual(status2.body, { status: 'completed', request_id: task.request_id, response_url: task.response_url });
    });

    it('seals the request and erases it (card and CVC) once processed', async () => {
      const task = await submit('/transactions/payments', paymentRequest({ credit_card: card('4200000000000000', { verification_value: '987' }) }));
      const row = await gw.app.store.db.selectFrom('async_tasks').selectAll().where('id', '=', task.request_id).executeTakeFirstOrThrow();
      assert.ok(row.request_enc);
      // Sealed: what is stored opens, under the vault, to the request with its card and CVC, and holds none
      // of it in the clear (no field name, no number; a three-digit CVC may occur in any ciphertext by chance).
      const opened = gw.app.vault.decrypt(row.request_enc);
      assert.ok(opened.includes('4200000000000000') && opened.includes('"verification_value":"987"'), 'the sealed request is the request');
      assert.ok(!row.request_enc.includes('4200000000000000') && !row.request_enc.includes('verification_value'));
      await completed(task.request_id);
      const done = await gw.app.store.db.selectFrom('async_tasks').selectAll().where('id', '=', task.request_id).executeTakeFirstOrThrow();
      assert.equal(done.request_enc, null);
      assert.ok(!JSON.stringify(done).includes('4200000000000000'));
    });

    it('gives for every operation exactly what the synchronous endpoint gives', async () => {
      const sync = (path: string, fields: unknown) => gw.post(path, fields);
      // Children of one parent with the same amount within 30 s are duplicates: every call gets its own amount.
      let calls = 0;
      const amount = () => 10 + (calls++ % 90);
      const both = async (path: string, build: () => unknown) => {
        const direct = await sync(path, build());
        const task = await submit(path, build());
        const result = await completed(task.request_id);
        assert.equal(result.status, direct.status, `${path}: ${result.text}`);
        assert.deepEqual(shapeOf(result.body), shapeOf(direct.body), path);
        return result.body;
      };
      await both('/transactions/payments', () => paymentRequest());
      await both('/transactions/payments', () => paymentRequest({ credit_card: card(DECLINED_CARD) }));
      await both('/transactions/authorizations', () => paymentRequest());
      await both('/transactions/tokenizations', () => paymentRequest());
      await both('/transactions/checkups', () => paymentRequest());
      await both('/transactions/payouts', () => ({ ...paymentRequest(), credit_card: undefined, recipient_credit_card: card() }));
      const paid = (await sync('/transactions/payments', paymentRequest({ amount: 5000 }))).body.transaction;
      await both('/transactions/credits', () => ({
        amount: 100 + amount(),
        currency: 'EUR',
        description: 'credit',
        credit_card: { token: paid.credit_card.token },
      }));
      await both('/transactions/refunds', () => ({ parent_uid: paid.uid, amount: amount(), reason: 'return' }));
      await both('/transactions/chargebacks', () => ({ parent_uid: paid.uid, amount: amount(), reason: 'fraud' }));
      const authorized = (await sync('/transactions/authorizations', paymentRequest({ amount: 5000 }))).body.transaction;
      await both('/transactions/captures', () => ({ parent_uid: authorized.uid, amount: amount() }));
      const toVoid = (await sync('/transactions/authorizations', paymentRequest({ amount: 700 }))).body.transaction;
      const voided = await completed((await submit('/transactions/voids', { parent_uid: toVoid.uid, amount: 700 })).request_id);
      assert.equal(voided.body.transaction.status, 'successful');
      // Errors are results too, with the same status code and body.
      await both('/transactions/refunds', () => ({ parent_uid: paid.uid, amount: 1 }));
      await both('/transactions/captures', () => ({ parent_uid: '00000000-0000-4000-8000-000000000000', amount: 1 }));
      await both('/transactions/payments', () => paymentRequest({ amount: -1 }));
      // Queries read the same state: identical bodies.
      for (const [path, syncPath] of [
        [`/transactions/${paid.uid}`, `/transactions/${paid.uid}`],
        [`/v2/transactions/tracking_id/${paid.tracking_id}`, `/v2/transactions/tracking_id/${paid.tracking_id}`],
        [`/transactions/tracking_id/${paid.tracking_id}`, `/transactions/tracking_id/${paid.tracking_id}`],
        ['/transactions/00000000-0000-4000-8000-000000000000', '/transactions/00000000-0000-4000-8000-000000000000'],
      ]) {
        const direct = await gw.get(syncPath);
        const task = await submit(path, undefined, { method: 'GET' });
        const result = await completed(task.request_id);
        assert.equal(result.status, direct.status, path);
        assert.deepEqual(result.body, direct.body, path);
      }
      const balance = await gw.post('/balance', { currency: 'EUR' });
      const balanceTask = await submit('/balance', { currency: 'EUR' });
      assert.deepEqual((await completed(balanceTask.request_id)).body, balance.body);
    });

    it('answers a retried submit with the same RequestID with the first task, and charges once', async () => {
      const request = { request: paymentRequest() };
      const headers = { RequestID: `retry-${Date.now()}` };
      const first = await gw.request('POST', '/async/transactions/payments', request, { headers });
      const again = await gw.request('POST', '/async/transactions/payments', request, { headers });
      assert.equal(again.status, 200);
      assert.equal(again.body.request_id, first.body.request_id);
      const result = await completed(first.body.request_id);
      const sync = await gw.request('POST', '/transactions/payments', request, { headers });
      assert.equal(sync.body.transaction.uid, result.body.transaction.uid);
      const rows = await gw.app.store.db.selectFrom('transactions').select('uid').where('tracking_id', '=', request.request.tracking_id).execute();
      assert.equal(rows.length, 1);
    });

    it('refuses a retried submit with the same RequestID and another body (422), as the sync route does, queuing nothing', async () => {
      const headers = { RequestID: `other-body-${Date.now()}` };
      const first = await gw.request('POST', '/async/transactions/payments', { request: paymentRequest() }, { headers });
      assert.equal(first.status, 200, first.text);
      const tasks = await gw.count('async_tasks');
      const other = await gw.request('POST', '/async/transactions/payments', { request: paymentRequest() }, { headers });
      assert.equal(other.status, 422, other.text);
      assert.deepEqual(other.body.errors, { base: ['RequestID was already used with a different request'] });
      assert.equal(await gw.count('async_tasks'), tasks);
      // Two submits of different bodies racing with one key: one task, the other refused.
      const racing = { RequestID: `racing-${Date.now()}` };
      const answers = await Promise.all(
        [0, 1].map(() => gw.request('POST', '/async/transactions/payments', { request: paymentRequest() }, { headers: racing })),
      );
      assert.deepEqual(answers.map((a) => a.status).sort(), [200, 422]);
    });

    it('serves a non-200 result exactly once, even to 20 concurrent readers', async () => {
      const task = await submit('/transactions/refunds', { parent_uid: '00000000-0000-4000-8000-000000000000', amount: 5, reason: 'x' });
      await gw.app.workers.drain();
      const readers = await Promise.all(Array.from({ length: 20 }, () => gw.get(`/async/result/${task.request_id}`)));
      const served = readers.filter((r) => r.status === 422);
      assert.equal(served.length, 1);
      assert.deepEqual(served[0].body.errors, { parent_uid: ['Parent transaction is not found'] });
      for (const other of readers.filter((r) => r.status !== 422)) {
        assert.equal(other.status, 404);
        assert.deepEqual(other.body, { status: 'unknown', request_id: task.request_id });
      }
      assert.equal((await gw.get(`/async/status/${task.request_id}`)).status, 404);
      const gone = await gw.app.store.db.selectFrom('async_tasks').select('id').where('id', '=', task.request_id).executeTakeFirst();
      assert.equal(gone, undefined, 'a served once-only result is purged');
    });

    it('keeps a 200 result readable for 24 h after creation, then 404 and purged by the sweeper', async () => {
      const task = await submit('/transactions/payments', paymentRequest());
      // Completed an hour after it was created: the 24 h count from creation, not from completion.
      gw.clock.advance(3600_000);
      await completed(task.request_id);
      gw.clock.advance(23 * 3600_000 - 1000);
      assert.equal((await gw.get(`/async/result/${task.request_id}`)).status, 200);
      assert.equal((await gw.get(`/async/result/${task.request_id}`)).status, 200);
      assert.equal(await gw.app.asyncQueue.purgeExpired(), 0);
      gw.clock.advance(1000);
      const expired = await gw.get(`/async/result/${task.request_id}`);
      assert.equal(expired.status, 404);
      assert.deepEqual(expired.body, { status: 'unknown', request_id: task.request_id });
      assert.equal((await gw.get(`/async/status/${task.request_id}`)).status, 404);
      assert.ok((await gw.app.asyncQueue.purgeExpired()) >= 1);
      const row = await gw.app.store.db.selectFrom('async_tasks').select('id').where('id', '=', task.request_id).executeTakeFirst();
      assert.equal(row, undefined);
      const metrics = await gw.get('/metrics', { auth: null });
      assert.match(metrics.text, /ecomgate_async_results_purged_total\{operation="payments"\} [1-9]/);
    });

    it("answers 404 unknown for unknown, malformed and other shops' request ids", async () => {
      const task = await submit('/transactions/payments', paymentRequest());
      for (const [id, auth] of [
        ['00000000-0000-4000-8000-000000000000', undefined],
        ['10203', undefined],
        [task.request_id, DEMO_3DS_SHOP],
      ] as const) {
        for (const kind of ['status', 'result']) {
          const answer = await gw.request('GET', `/async/${kind}/${id}`, undefined, { auth });
          assert.equal(answer.status, 404);
          // Only a well-formed (UUID) id is echoed back.
          assert.deepEqual(answer.body, id === '10203' ? { status: 'unknown' } : { status: 'unknown', request_id: id });
        }
      }
      await gw.app.workers.drain();
      assert.equal((await gw.get(`/async/result/${task.request_id}`, { auth: DEMO_3DS_SHOP })).status, 404);
      assert.equal((await gw.get(`/async/result/${task.request_id}`)).status, 200);
    });

    it('stores a fault as the 500 result, served once', async () => {
      const task = await submit('/transactions/payments', paymentRequest());
      // A request that cannot be read back (e.g. sealed under a key that was dropped) is a fault.
      await gw.app.store.db.updateTable('async_tasks').set({ request_enc: 'deadbeef.AA.AA.AA' }).where('id', '=', task.request_id).execute();
      const result = await completed(task.request_id);
      assert.equal(result.status, 500);
      assert.equal(result.body.message, "We're sorry, but something went wrong");
      assert.ok(!result.text.includes(' at '));
      assert.equal((await gw.get(`/async/result/${task.request_id}`)).status, 404);
    });

    it('refuses bad submits with the API error body and stores nothing', async () => {
      const before = await gw.count('async_tasks');
      const cases = [
        await gw.request('POST', '/async/transactions/payments', undefined, { raw: '{"request": {' }),
        await gw.request('POST', '/async/transactions/payments', { amount: 100 }),
        await gw.request('POST', '/async/transactions/refunds', { request: 'x' }),
        await gw.request('POST', '/async/transactions/payments', { request: paymentRequest() }, { auth: { id: 361, secret: 'nope' } }),
        await gw.request('POST', '/async/balance', undefined, { raw: JSON.stringify({ request: { currency: 'EUR', pad: 'x'.repeat(70_000) } }) }),
      ];
      assert.deepEqual(
        cases.map((c) => c.status),
        [400, 422, 422, 401, 413],
      );
      for (const answer of cases) {
        assert.match(answer.headers.get('content-type') ?? '', /application\/json/);
        assert.equal(answer.body.response.message, answer.body.message);
      }
      assert.equal(await gw.count('async_tasks'), before);
      assert.equal((await gw.get('/healthz', { auth: null })).status, 200);
    });
  });

  describe(`async mode with running workers [${store}]`, () => {
    let gw: TestGateway;
    // The sandbox bank's latency waits on this gate, so the test decides when the bank answers.
    const bank = new BankGate();
    before(async () => {
      bank.hold();
      gw = await startGateway(store, {}, { asyncWorkers: true, sleep: bank.sleep });
    });
    after(() => gw.close());

    it('answers submits at once against a slow bank and runs many tasks concurrently', async () => {
      const created = await gw.request(
        'POST',
        '/admin/shops',
        { id: 7001, secret_key: 'slow-bank-shop-secret', test: true, acquirer_settings: { latency_ms: 1 } },
        AS_OPERATOR,
      );
      assert.equal(created.status, 201, created.text);
      const slowShop = { id: 7001, secret: 'slow-bank-shop-secret' };
      const tasks = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          gw
            .request('POST', '/async/transactions/payments', { request: paymentRequest({ amount: 100 + i }) }, { auth: slowShop })
            .then((a) => a.body),
        ),
      );
      // Every submit was answered while the bank had not answered a single call.
      const statuses = await Promise.all(tasks.map((t) => gw.get(`/async/status/${t.request_id}`, { auth: slowShop })));
      assert.ok(statuses.every((s) => s.body.status === 'processing'));
      // All sixty are in flight at once, not one after another.
      await until(
        () => gw.app.workers.busy >= 60,
        () => `only ${gw.app.workers.busy} tasks in flight`,
        PATIENCE_MS,
        5,
      );
      bank.open();
      for (const task of tasks) {
        const result = await until(
          async () => {
            const answer = await gw.get(`/async/result/${task.request_id}`, { auth: slowShop });
            if (answer.status === 425) return undefined;
            return answer;
          },
          () => `the result of task ${task.request_id}`,
        );
        assert.equal(result.status, 200, result.text);
        assert.equal(result.body.transaction.status, 'successful');
      }
    });

    it('answers 429 with Retry-After beyond the queue cap', async () => {
      const capped = await startGateway(store, { asyncMaxQueued: 3 });
      try {
        for (let i = 0; i < 3; i++) assert.equal((await capped.post('/async/transactions/payments', paymentRequest())).status, 200);
        const refused = await capped.post('/async/transactions/payments', paymentRequest());
        assert.equal(refused.status, 429);
        assert.ok(Number(refused.headers.get('retry-after')) >= 1);
        assert.equal(refused.body.response.message, refused.body.message);
        assert.equal(await capped.count('async_tasks'), 3);
      } finally {
        await capped.close();
      }
    });
  });
}
