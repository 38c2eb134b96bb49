import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { sql } from 'kysely';
import { DEMO_3DS_SHOP, DEMO_SHOP, startGateway, testStores, type HttpAnswer, type RequestOptions, type TestGateway } from './support/gateway.js';
import { challengeToken } from './support/challenge.js';
import { luhnValid } from './support/cards.js';

/**
 * Card data audit (issue "Reliability and security suite", item 6). After a run of mixed traffic — every
 * operation, the card vault, async submits (finished and still queued), 3-D Secure transactions left
 * incomplete and completed, webhooks, refused requests carrying card data, RequestID-keyed requests —
 * no full card number and no CVC is anywhere in the database (every column of every table, found by
 * introspection: task rows, webhook payloads, idempotency answers included), in any log line (at trace
 * level), in any webhook the merchant received, or in any answer. Numbers are also looked for inside
 * base64 runs (an encoding is not encryption).
 */

const yearNow = new Date().getUTCFullYear();

/** Distinctive CVCs, one per use, so a match means a leak and not a coincidence. */
const CVC = {
  payment: '737',
  authorization: '9182',
  amex: '4619',
  threeDs: '2846',
  async: '5173',
  queued: '6039',
  refused: '8264',
  keyed: '3917',
  tokenization: '7451',
  declined: '1593',
};

/** Every full number the traffic below sends (valid ones Luhn-checked in `before`). */
const PAN = {
  payment: '4200000000000000',
  authorization: '5555555555554444',
  refundParent: '4111111111111111',
  declined: '4005550000000019',
  amex: '378282246310005',
  tokenization: '6011111111111117',
  threeDsIncomplete: '4012000000003010',
  threeDsChallenge: '4012000000001097',
  payoutRecipient: '5105105105105100',
  insufficient: '4000000000000051',
  asyncDone: '3530111333300000',
  asyncQueued: '4242424242424242',
  vault: '5200828282828210',
  vaultSecond: '2223003122003222',
  vaultV2: '5454545454545454',
  /** Sent along to the card-update routes, which do not read it: it must not be kept anywhere either. */
  vaultIgnored: '4263982640269299',
  keyed: '4716108999716531',
  refusedMissingAmount: '4035501000000008',
  refusedExpired: '4988438843884305',
  refusedMalformed: '4000056655665556',
  refusedContentType: '4917610000000000',
  refusedLuhn: '4200000000000001',
  refusedAsync: '6200000000000005',
  refusedOversize: '36227206271667',
};

const cvcList = Object.values(CVC).join('|');
/** A CVC as the value of a card-ish key: `"verification_value":"737"`, `cvc=737`, `\"cvv\": 737` ... */
const CVC_IN_CONTEXT = new RegExp(
  `(verification_value|verificationValue|cvc|cvv2?|csc|security_code)[\\\\"'\\s]*[:=][\\\\"'\\s]*(${cvcList})(?!\\d)`,
  'i',
);
/** A CVC as a JSON string value anywhere (`"9182"`, escaped `\"9182\"` inside nested JSON). */
const CVC_AS_VALUE = new RegExp(`[:\\[,]\\s*\\\\*"(${cvcList})\\\\*"`);

function card(number: string, cvc: string, extra: Record<string, unknown> = {}) {
  return { number, verification_value: cvc, holder: 'Audit Holder', exp_month: '07', exp_year: yearNow + 2, ...extra };
}

/** Finds a PAN or a CVC in `text`, also inside base64 runs; answers what was found, or undefined. */
function findCardData(text: string): string | undefined {
  const candidates = [text];
  for (const run of text.match(/[A-Za-z0-9+/_-]{24,}={0,2}/g) ?? []) {
    candidates.push(Buffer.from(run.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1'));
  }
  for (const candidate of candidates) {
    for (const [use, number] of Object.entries(PAN)) if (candidate.includes(number)) return `card number ${number} (${use})`;
    const context = CVC_IN_CONTEXT.exec(candidate);
    if (context) return `CVC in context: ${context[0]}`;
    const value = CVC_AS_VALUE.exec(candidate);
    if (value) return `CVC as a JSON value: ${value[0]}`;
  }
  return undefined;
}

for (const store of testStores()) {
  describe(`card data audit [${store}]`, () => {
    let gw: TestGateway;
    let receiver: http.Server;
    let hookUrl = '';
    const received: string[] = [];
    const answers: { label: string; text: string }[] = [];

    async function send(label: string, method: string, path: string, body?: unknown, options?: RequestOptions): Promise<HttpAnswer> {
      const answer = await gw.request(method, path, body, options);
      answers.push({ label, text: answer.text });
      assert.ok(answer.status < 500, `${label}: ${answer.status} ${answer.text.slice(0, 300)}`);
      return answer;
    }
    const post = (label: string, path: string, request: unknown, options?: RequestOptions) => send(label, 'POST', path, { request }, options);
    const ok = async (answer: Promise<HttpAnswer>) => {
      const a = await answer;
      assert.equal(a.status, 200, a.text);
      return a.body.transaction ?? a.body;
    };
    const order = (extra: Record<string, unknown>) => ({
      currency: 'EUR',
      description: 'Audit order',
      tracking_id: 'audit',
      notification_url: hookUrl,
      ...extra,
    });

    /** Every table of this gateway's database, by introspection. */
    async function tables(): Promise<string[]> {
      const db = gw.app.store.db;
      if (store === 'sqlite') {
        const rows = await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db);
        return rows.rows.map((r) => r.name);
      }
      const rows = await sql<{
        name: string;
      }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(db);
      return rows.rows.map((r) => r.name);
    }

    /** Every value of every row of every table as text; answers the leaks found. */
    async function scanDatabase(): Promise<{ leaks: string[]; tables: Record<string, number> }> {
      const leaks: string[] = [];
      const seen: Record<string, number> = {};
      for (const table of await tables()) {
        const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(gw.app.store.db)).rows;
        seen[table] = rows.length;
        rows.forEach((row, i) => {
          for (const [column, value] of Object.entries(row)) {
            if (value === null || value === undefined) continue;
            const text = Buffer.isBuffer(value) ? value.toString('latin1') : typeof value === 'object' ? JSON.stringify(value) : String(value);
            const found = findCardData(text);
            if (found) leaks.push(`${table}[${i}].${column}: ${found} in ${text.slice(0, 300)}`);
          }
        });
      }
      return { leaks, tables: seen };
    }

    before(async () => {
      for (const [use, number] of Object.entries(PAN)) if (use !== 'refusedLuhn') assert.ok(luhnValid(number), `${use} ${number} passes Luhn`);
      assert.ok(!luhnValid(PAN.refusedLuhn));
      receiver = http.createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (c) => chunks.push(c));
        request.on('end', () => {
          received.push(JSON.stringify(request.headers) + '\n' + Buffer.concat(chunks).toString('utf8'));
          response.writeHead(200).end('ok');
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      gw = await startGateway(store, { logLevel: 'trace' });
    });
    after(async () => {
      await gw?.close();
      await new Promise((resolve) => receiver?.close(resolve));
    });

    it('runs mixed traffic, then finds no card number and no CVC in any table, log line, webhook or answer', async () => {
      const threeDs = { auth: DEMO_3DS_SHOP };
      // Payments, declines, authorization + capture, refund, void, chargeback.
      const payment = await ok(post('payment', '/transactions/payments', order({ amount: 1101, credit_card: card(PAN.payment, CVC.payment) })));
      assert.equal(payment.status, 'successful');
      const declined = await ok(post('declined', '/transactions/payments', order({ amount: 1102, credit_card: card(PAN.declined, CVC.declined) })));
      assert.equal(declined.status, 'failed');
      await ok(post('insufficient', '/transactions/payments', order({ amount: 1103, credit_card: card(PAN.insufficient, CVC.payment) })));
      await ok(post('amex', '/transactions/payments', order({ amount: 1104, credit_card: card(PAN.amex, CVC.amex) })));
      const authorization = await ok(
        post('authorization', '/transactions/authorizations', order({ amount: 2000, credit_card: card(PAN.authorization, CVC.authorization) })),
      );
      await ok(post('capture', '/transactions/captures', { parent_uid: authorization.uid, amount: 1500 }));
      const voidable = await ok(
        post('authorization 2', '/transactions/authorizations', order({ amount: 2001, credit_card: card(PAN.authorization, CVC.authorization) })),
      );
      await ok(post('void', '/transactions/voids', { parent_uid: voidable.uid, amount: 2001 }));
      const refundParent = await ok(
        post('refund parent', '/transactions/payments', order({ amount: 3000, credit_card: card(PAN.refundParent, CVC.payment) })),
      );
      await ok(post('refund', '/transactions/refunds', { parent_uid: refundParent.uid, amount: 1000, reason: 'Audit' }));
      await ok(post('chargeback', '/transactions/chargebacks', { parent_uid: refundParent.uid, amount: 500, reason: 'Dispute' }));
      await ok(post('checkup', '/transactions/checkups', order({ amount: 1105, credit_card: card(PAN.payment, CVC.payment) })));
      const tokenization = await ok(
        post('tokenization', '/transactions/tokenizations', order({ amount: 1106, credit_card: card(PAN.tokenization, CVC.tokenization) })),
      );
      // A token paid with, plus a CVC next to it.
      await ok(
        post(
          'token payment',
          '/transactions/payments',
          order({ amount: 1107, credit_card: { token: tokenization.credit_card.token, verification_value: CVC.tokenization } }),
        ),
      );

      // The vault: create, update, pay and credit with the token; payouts by number and by token.
      const vaulted = await ok(
        post('vault create', '/credit_cards', { number: PAN.vault, holder: 'Vault Holder', exp_month: 3, exp_year: yearNow + 4 }),
      );
      const updated = await ok(
        post('vault update', '/credit_cards', { token: vaulted.token, number: null, holder: 'New Holder', exp_month: 4, exp_year: yearNow + 5 }),
      );
      assert.equal(updated.token, vaulted.token);
      await ok(
        post('vault create 2', '/credit_cards', { number: PAN.vaultSecond, holder: 'Vault Holder', exp_month: '11', exp_year: String(yearNow + 1) }),
      );
      // The Ruby client's card routes: the v2 create, and the updates by path with a number sent along.
      const vaultedV2 = await ok(
        post('vault v2 create', '/v2/credit_cards', { number: PAN.vaultV2, holder: 'V2 Holder', exp_month: 6, exp_year: yearNow + 3 }),
      );
      const ignoredNumber = { number: PAN.vaultIgnored, verification_value: CVC.refused };
      await ok(
        post(
          'vault update by path',
          `/credit_cards/${vaultedV2.token}`,
          { ...ignoredNumber, holder: 'Path Holder' },
          { headers: { RequestID: 'audit-card-1' } },
        ),
      );
      await ok(send('vault v2 update', 'PUT', `/v2/credit_cards/${vaultedV2.token}`, { request: { ...ignoredNumber, exp_month: 8 } }));
      const refusedUpdate = await send('vault update refused', 'PUT', `/v2/credit_cards/${vaultedV2.token}`, {
        request: { ...ignoredNumber, exp_year: yearNow - 1 },
      });
      assert.equal(refusedUpdate.status, 422);
      await ok(
        post('credit', '/transactions/credits', {
          amount: 400,
          currency: 'EUR',
          description: 'Credit',
          tracking_id: 'audit-credit',
          credit_card: { token: vaulted.token },
        }),
      );
      const payout = await ok(
        post('payout', '/transactions/payouts', {
          amount: 300,
          currency: 'EUR',
          description: 'Payout',
          tracking_id: 'audit-payout',
          notification_url: hookUrl,
          recipient_credit_card: { number: PAN.payoutRecipient, holder: 'Pay Ee', exp_month: 12, exp_year: yearNow + 2 },
        }),
      );
      await ok(
        post('payout by token', '/transactions/payouts', {
          amount: 301,
          currency: 'EUR',
          description: 'Payout',
          tracking_id: 'audit-payout',
          recipient_credit_card: { token: payout.recipient_credit_card.token },
        }),
      );

      // 3-D Secure on shop 362: one left incomplete, one completed through the challenge page.
      const incomplete = await ok(
        post(
          '3ds incomplete',
          '/transactions/payments',
          order({ amount: 4001, credit_card: card(PAN.threeDsIncomplete, CVC.threeDs), return_url: 'https://shop.example/back' }),
          threeDs,
        ),
      );
      assert.equal(incomplete.status, 'incomplete');
      const incompleteAuth = await ok(
        post(
          '3ds incomplete authorization',
          '/transactions/authorizations',
          order({ amount: 4002, credit_card: card(PAN.threeDsIncomplete, CVC.threeDs) }),
          threeDs,
        ),
      );
      assert.equal(incompleteAuth.status, 'incomplete');
      const challenged = await ok(
        post('3ds challenge', '/transactions/payments', order({ amount: 4003, credit_card: card(PAN.threeDsChallenge, CVC.threeDs) }), threeDs),
      );
      assert.equal(challenged.status, 'incomplete');
      const page = await send('3ds page', 'GET', `/process/${challenged.uid}`, undefined, { auth: null });
      assert.equal(page.status, 200);
      const done = await send('3ds complete', 'POST', `/process/${challenged.uid}`, undefined, {
        auth: null,
        raw: new URLSearchParams({ outcome: 'authenticate', token: challengeToken(gw, challenged.uid) }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.ok(done.status === 200 || done.status === 303, done.text);
      // The merchant's server finishing a challenge instead of the page.
      const returned = await ok(
        post(
          '3ds return challenge',
          '/transactions/payments',
          order({ amount: 4004, credit_card: card(PAN.threeDsChallenge, CVC.threeDs) }),
          threeDs,
        ),
      );
      const finished = await ok(post('3ds return', `/process/${returned.uid}/return`, { result: 'authenticated' }, threeDs));
      assert.equal(finished.status, 'successful');
      const receipt = new URL(payment.receipt_url);
      await send('receipt', 'GET', receipt.pathname + receipt.search, undefined, { auth: null });

      // RequestID-keyed requests: one accepted (then retried), one refused (its answer is kept for retries).
      const keyed = { headers: { RequestID: 'audit-key-1' } };
      await ok(post('keyed', '/transactions/payments', order({ amount: 5001, credit_card: card(PAN.keyed, CVC.keyed) }), keyed));
      await ok(post('keyed retry', '/transactions/payments', order({ amount: 5001, credit_card: card(PAN.keyed, CVC.keyed) }), keyed));
      const mismatch = await post(
        'keyed mismatch',
        '/transactions/payments',
        order({ amount: 5002, credit_card: card(PAN.keyed, CVC.keyed) }),
        keyed,
      );
      assert.equal(mismatch.status, 422);

      // Refused requests carrying card data.
      const refusals: [string, Promise<HttpAnswer>][] = [
        [
          'missing amount, keyed',
          post('r1', '/transactions/payments', order({ credit_card: card(PAN.refusedMissingAmount, CVC.refused) }), {
            headers: { RequestID: 'audit-refused-1' },
          }),
        ],
        [
          'expired card, keyed',
          post(
            'r2',
            '/transactions/payments',
            order({ amount: 6001, credit_card: card(PAN.refusedExpired, CVC.refused, { exp_year: yearNow - 1 }) }),
            { headers: { 'Idempotency-Key': 'audit-refused-2' } },
          ),
        ],
        ['bad Luhn', post('r3', '/transactions/authorizations', order({ amount: 6002, credit_card: card(PAN.refusedLuhn, CVC.refused) }))],
        [
          'number as a JSON number',
          post(
            'r4',
            '/transactions/payments',
            order({ amount: 6003, credit_card: card(PAN.refusedMissingAmount, CVC.refused, { number: Number(PAN.refusedMissingAmount) }) }),
          ),
        ],
        [
          'CVC as a JSON number',
          post(
            'r5',
            '/transactions/payments',
            order({
              amount: 6004,
              credit_card: card(PAN.refusedExpired, CVC.refused, { verification_value: Number(CVC.refused), holder: 'x'.repeat(300) }),
            }),
          ),
        ],
        [
          'unknown currency',
          post('r6', '/transactions/payments', order({ amount: 6005, currency: 'QQQ', credit_card: card(PAN.refusedExpired, CVC.refused) })),
        ],
        ['duplicate', post('r7', '/transactions/payments', order({ amount: 1101, credit_card: card(PAN.payment, CVC.payment) }))],
        [
          'unknown parent with a card',
          post('r8', '/transactions/captures', { parent_uid: 'nope', amount: 1, credit_card: card(PAN.refusedMissingAmount, CVC.refused) }),
        ],
        [
          'payout with a CVC and a bad expiry',
          post('r9', '/transactions/payouts', {
            amount: 1,
            currency: 'EUR',
            description: 'x',
            recipient_credit_card: card(PAN.refusedExpired, CVC.refused, { exp_month: 13 }),
          }),
        ],
        [
          'vault with a CVC and no holder',
          post(
            'r10',
            '/credit_cards',
            { number: PAN.refusedExpired, verification_value: CVC.refused, exp_month: 1, exp_year: yearNow - 2 },
            { headers: { RequestID: 'audit-refused-3' } },
          ),
        ],
        [
          'malformed JSON',
          send('r11', 'POST', '/transactions/payments', undefined, {
            raw: `{"request":{"amount":1,"credit_card":{"number":"${PAN.refusedMalformed}","verification_value":"${CVC.refused}"`,
          }),
        ],
        [
          'wrong content type',
          send('r12', 'POST', '/transactions/payments', undefined, {
            raw: JSON.stringify({ request: order({ amount: 1, credit_card: card(PAN.refusedContentType, CVC.refused) }) }),
            headers: { 'content-type': 'text/plain' },
          }),
        ],
        [
          'oversize body',
          send('r13', 'POST', '/transactions/payments', undefined, {
            raw: JSON.stringify({ request: order({ amount: 1, credit_card: card(PAN.refusedOversize, CVC.refused), pad: 'x'.repeat(70_000) }) }),
          }),
        ],
        [
          'bad credentials',
          post('r14', '/transactions/payments', order({ amount: 6006, credit_card: card(PAN.refusedMissingAmount, CVC.refused) }), {
            auth: { id: DEMO_SHOP.id, secret: 'wrong' },
          }),
        ],
        [
          'card in the tracking id and description',
          post('r15', '/transactions/payments', order({ amount: 0, credit_card: card(PAN.refusedMissingAmount, CVC.refused) })),
        ],
      ];
      for (const [label, answer] of refusals) {
        const a = await answer;
        assert.ok(a.status >= 400 && a.status < 500, `${label}: refused, got ${a.status} ${a.text.slice(0, 200)}`);
      }

      // Async: one batch finished, then one still queued while the database is scanned, then finished.
      const asyncIds: [string, RequestOptions | undefined][] = [];
      const submit = async (label: string, path: string, request: unknown, options?: RequestOptions) => {
        const a = await post(label, path, request, options);
        assert.equal(a.status, 200, a.text);
        asyncIds.push([a.body.request_id, options?.auth ? { auth: options.auth } : undefined]);
      };
      await submit('async payment', '/async/transactions/payments', order({ amount: 7001, credit_card: card(PAN.asyncDone, CVC.async) }));
      await submit(
        'async authorization keyed',
        '/async/transactions/authorizations',
        order({ amount: 7002, credit_card: card(PAN.asyncDone, CVC.async) }),
        { headers: { RequestID: 'audit-async-1' } },
      );
      await submit(
        'async refused',
        '/async/transactions/payments',
        order({ amount: 7003, currency: 'QQQ', credit_card: card(PAN.refusedAsync, CVC.refused) }),
      );
      await submit('async vault', '/async/transactions/tokenizations', order({ amount: 7004, credit_card: card(PAN.asyncDone, CVC.async) }));
      await submit(
        'async 3ds',
        '/async/transactions/payments',
        order({ amount: 7005, credit_card: card(PAN.threeDsIncomplete, CVC.threeDs) }),
        threeDs,
      );
      await gw.app.workers.drain();
      await submit('async queued payment', '/async/transactions/payments', order({ amount: 7101, credit_card: card(PAN.asyncQueued, CVC.queued) }));
      await submit('async queued payout', '/async/transactions/payouts', {
        amount: 7102,
        currency: 'EUR',
        description: 'x',
        tracking_id: 'q',
        recipient_credit_card: { number: PAN.asyncQueued, holder: 'Q', exp_month: 1, exp_year: yearNow + 1, verification_value: CVC.queued },
      });
      await submit('async queued refused', '/async/transactions/payments', order({ credit_card: card(PAN.asyncQueued, CVC.queued) }));
      const queued = await gw.count('async_tasks');
      const midScan = await scanDatabase();
      assert.deepEqual(midScan.leaks, [], `while tasks are queued (${queued} task rows)`);
      await gw.app.workers.drain();
      for (const [i, [id, owner]] of asyncIds.entries()) {
        const a = await send(`async result ${i}`, 'GET', `/async/result/${id}`, undefined, owner);
        assert.ok([200, 422].includes(a.status), `async result ${i}: ${a.status} ${a.text.slice(0, 200)}`);
      }

      // Webhooks: queued for every final transaction with a notification_url, then delivered; a renotify too.
      await ok(send('renotify', 'POST', `/transactions/${payment.uid}/renotify`, { request: {} }));
      assert.ok((await gw.count('webhook_deliveries')) >= 5, 'webhooks were queued');
      await gw.app.webhooks.drain();
      assert.ok(received.length >= 5, `webhooks arrived (${received.length})`);

      // Reads of what was made.
      await send('status', 'GET', `/transactions/${payment.uid}`);
      await send('tracking', 'GET', '/v2/transactions/tracking_id/audit');
      await send('balance', 'POST', '/balance', { request: { currency: 'EUR' } });

      // The audit.
      const scan = await scanDatabase();
      for (const table of ['transactions', 'cards', 'async_tasks', 'webhook_deliveries', 'idempotency_keys', 'ledger_entries']) {
        assert.ok((scan.tables[table] ?? 0) > 0, `${table} has rows to audit (${JSON.stringify(scan.tables)})`);
      }
      assert.deepEqual(scan.leaks, [], 'no card data in the database');
      console.log(
        `# [${store}] audited rows per table ${JSON.stringify(scan.tables)}, ${gw.logs.length} log lines, ${received.length} webhooks, ${answers.length} answers`,
      );

      const logLeaks = gw.logs.map((line) => [line, findCardData(line)] as const).filter(([, found]) => found);
      assert.ok(gw.logs.length > 50, `logs were captured (${gw.logs.length} lines)`);
      assert.deepEqual(
        logLeaks.map(([line, found]) => `${found}: ${line.slice(0, 400)}`),
        [],
        'no card data in the logs',
      );

      const hookLeaks = received.map((hook) => [hook, findCardData(hook)] as const).filter(([, found]) => found);
      assert.deepEqual(
        hookLeaks.map(([hook, found]) => `${found}: ${hook.slice(0, 300)}`),
        [],
        'no card data in the webhooks',
      );

      const answerLeaks = answers.map(({ label, text }) => [label, findCardData(text), text] as const).filter(([, found]) => found);
      assert.deepEqual(
        answerLeaks.map(([label, found, text]) => `${label}: ${found}: ${text.slice(0, 300)}`),
        [],
        'no card data in any answer',
      );
    });

    it('the audit itself finds what it looks for (no blind spots in the scanner)', () => {
      assert.ok(findCardData(`{"n":"${PAN.payment}"}`));
      assert.ok(findCardData(`{"verification_value":"${CVC.payment}"}`));
      assert.ok(findCardData(`{\\"credit_card\\":{\\"verification_value\\":\\"${CVC.authorization}\\"}}`));
      assert.ok(findCardData(`"cvc": ${CVC.payment},`));
      assert.ok(findCardData(`{"x":["${CVC.amex}"]}`));
      assert.ok(findCardData(Buffer.from(JSON.stringify({ number: PAN.amex, padding: 'abcdefgh' })).toString('base64')));
      assert.equal(findCardData(`{"amount":7370,"uid":"0b1c7370-aaaa","last_4":"4444","bin":"555555"}`), undefined);
    });
  });
}
