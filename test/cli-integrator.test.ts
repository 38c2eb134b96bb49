import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { after, before, describe } from 'node:test';
import { it, until } from './support/deadline.js';
import { ADMIN_TOKEN, AS_OPERATOR, BankGate, DEMO_SHOP, startGateway, type TestGateway } from './support/gateway.js';
import { childEnv, CLI, type CliResult, runCli as runEcomgate } from './support/processes.js';
import { type ReceivedWebhook, WebhookReceiver } from './support/webhookReceiver.js';
import { basicAuth } from './support/http.js';
import { DECLINED_CARD } from './support/cards.js';

/**
 * The integrator's commands of `ecomgate` (pay, authorize, capture, refund, tx, balance, --async, listen),
 * run as child processes the way a developer runs them, against a real gateway started by this test
 * (random port, async workers and webhook delivery running).
 */

const ANSI = /\x1b\[/;

let gw: TestGateway;

/** The settings of every command here: the test's gateway, and no colour setting of ours (NO_COLOR, FORCE_COLOR). */
function integratorEnv(env: Record<string, string> = {}): Record<string, string | undefined> {
  return { NO_COLOR: undefined, FORCE_COLOR: undefined, ECOMGATE_BASE_URL: gw.url, ...env };
}

function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runEcomgate(args, integratorEnv(env));
}

/** Runs with --json and answers the one JSON document it printed. */
async function cliJson(args: string[], expectedCode = 0, env: Record<string, string> = {}): Promise<any> {
  const result = await runCli([...args, '--json'], env);
  assert.equal(result.code, expectedCode, `ecomgate ${args.join(' ')}: exit ${result.code}\n${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one JSON line expected, got:\n${result.stdout}`);
  return JSON.parse(lines[0]!);
}

let amount = 1000;
/** Distinct amounts, so the gateway's 30-second duplicate check never trips between tests. */
const nextAmount = () => String(++amount);

/** A long-running CLI process (listen) whose output the test watches. */
class Running {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [CLI, ...args], { env: childEnv(integratorEnv(env)), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk) => (this.stdout += chunk));
    this.child.stderr!.on('data', (chunk) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Resolves with the first match of `pattern` in stdout or stderr (as chosen), within `timeoutMs`. */
  async waitFor(pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout', timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this[stream].match(pattern);
      if (match) return match;
      if (this.child.exitCode !== null || Date.now() > deadline) {
        assert.fail(`no ${pattern} on ${stream} (exit ${this.child.exitCode})\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGINT');
    return this.exited;
  }
}

/** POSTs a webhook the way the gateway does (its headers, these bytes) and answers the HTTP status. */
async function deliver(url: string, webhook: ReceivedWebhook, raw: Buffer): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const name of ['authorization', 'content-signature', 'x-webhook-id', 'x-webhook-attempt']) {
    const value = webhook.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const response = await fetch(url, { method: 'POST', headers, body: new Uint8Array(raw) });
  await response.arrayBuffer();
  return response.status;
}

describe('ecomgate CLI for integrators', () => {
  const running: Running[] = [];

  const bank = new BankGate();

  before(async () => {
    gw = await startGateway('sqlite', {}, { asyncWorkers: true, webhookDelivery: true, sleep: bank.sleep });
  });
  after(async () => {
    await Promise.all(running.map((process) => process.stop()));
    await gw.close();
  });

  describe('pay', () => {
    it('human output: status, amount with the currency exponent, masked card; exit 0', async () => {
      const result = await runCli([
        'pay',
        '--amount',
        '1000',
        '--currency',
        'EUR',
        '--card',
        '4200000000000000',
        '--exp',
        '12/30',
        '--cvc',
        '123',
        '--holder',
        'Jane Roe',
        '--description',
        'Order 42',
        '--tracking-id',
        'cli-order-42',
      ]);
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.split('\n');
      assert.match(lines[0]!, /^payment successful · 10\.00 EUR/);
      assert.match(result.stdout, /card\s+Visa •••• 0000 {2}exp 12\/2030 {2}Jane Roe/);
      assert.match(result.stdout, /message\s+Successfully processed \(S\.0000\)/);
      assert.match(result.stdout, /tracking id\s+cli-order-42/);
      assert.doesNotMatch(result.stdout + result.stderr, /4200000000000000/, 'never the full card number');
      assert.doesNotMatch(result.stdout, ANSI, 'no colour when the output is not a terminal');
      const uid = /uid\s+([0-9a-f-]{36})/.exec(result.stdout)![1]!;
      const stored = await gw.get(`/transactions/${uid}`);
      assert.equal(stored.body.transaction.status, 'successful');
      assert.equal(stored.body.transaction.amount, 1000);
      assert.equal(stored.body.transaction.description, 'Order 42');
      assert.equal(stored.body.transaction.credit_card.exp_year, 2030);
    });

    it('--json prints the transaction as the gateway answered it, on one line', async () => {
      const tx = await cliJson(['pay', '--amount', nextAmount(), '--currency', 'EUR', '--card', '5555555555554444']);
      assert.equal(tx.status, 'successful');
      assert.equal(tx.type, 'payment');
      assert.equal(tx.credit_card.brand, 'master');
      const stored = await gw.get(`/transactions/${tx.uid}`);
      assert.deepEqual(tx, stored.body.transaction);
    });

    it('credentials from flags override the environment; wrong ones are refused (exit 1)', async () => {
      const viaFlags = await cliJson(
        [
          'pay',
          '--amount',
          nextAmount(),
          '--currency',
          'EUR',
          '--card',
          '4200000000000000',
          '--base-url',
          gw.url,
          '--shop-id',
          String(DEMO_SHOP.id),
          '--secret-key',
          DEMO_SHOP.secret,
        ],
        0,
        { ECOMGATE_BASE_URL: 'http://127.0.0.1:1', ECOMGATE_SHOP_ID: '999', ECOMGATE_SECRET_KEY: 'wrong' },
      );
      assert.equal(viaFlags.status, 'successful');
      const refused = await runCli(['pay', '--amount', nextAmount(), '--currency', 'EUR', '--card', '4200000000000000'], {
        ECOMGATE_SHOP_ID: '361',
        ECOMGATE_SECRET_KEY: 'wrong',
      });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /refused \(HTTP 401\): Invalid shop_id\/secret_key/);
      assert.equal(refused.stdout, '');
    });

    it('a declined card exits 2 and says why', async () => {
      const result = await runCli(['pay', '--amount', nextAmount(), '--currency', 'EUR', '--card', DECLINED_CARD]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stdout, /^payment failed · /);
      assert.match(result.stdout, /Payment was declined/);
      const tx = await cliJson(['pay', '--amount', nextAmount(), '--currency', 'EUR', '--card', DECLINED_CARD], 2);
      assert.equal(tx.status, 'failed');
    });

    it('a request the gateway refuses exits 1 with its message and field errors (the error body with --json)', async () => {
      const human = await runCli(['pay', '--amount', nextAmount(), '--currency', 'EUR', '--card', '4200000000000000', '--exp', '01/20']);
      assert.equal(human.code, 1);
      assert.match(human.stderr, /refused \(HTTP 422\): Date is expired/);
      assert.match(human.stderr, /credit_card\.exp_date: is expired/);
      const body = await cliJson(['pay', '--amount', nextAmount(), '--currency', 'EUR', '--card', '4200000000000000', '--exp', '01/20'], 1);
      assert.match(body.message, /Date is expired/);
    });

    it('bad arguments exit 1 before anything is sent; an unreachable gateway exits 4', async () => {
      const usage = await runCli(['pay', '--amount', '10.50', '--currency', 'EUR', '--card', '4200000000000000']);
      assert.equal(usage.code, 1);
      assert.match(usage.stderr, /--amount is a whole number of minor units/);
      const missing = await runCli(['pay', '--currency', 'EUR', '--card', '4200000000000000']);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /--amount/);
      const down = await runCli([
        'pay',
        '--amount',
        nextAmount(),
        '--currency',
        'EUR',
        '--card',
        '4200000000000000',
        '--base-url',
        'http://127.0.0.1:1',
        '--timeout',
        '2000',
      ]);
      assert.equal(down.code, 4);
      assert.match(down.stderr, /gateway unavailable/);
    });

    it('formats amounts with the currency exponent (JPY 0, BHD 3)', async () => {
      const jpy = await runCli(['pay', '--amount', '1500', '--currency', 'jpy', '--card', '4200000000000000']);
      assert.equal(jpy.code, 0, jpy.stderr);
      assert.match(jpy.stdout, /^payment successful · 1500 JPY/);
      const bhd = await runCli(['pay', '--amount', '1500', '--currency', 'BHD', '--card', '4200000000000000']);
      assert.equal(bhd.code, 0, bhd.stderr);
      assert.match(bhd.stdout, /^payment successful · 1\.500 BHD/);
    });

    it('colours the status when asked to (FORCE_COLOR, as on a terminal)', async () => {
      const result = await runCli(['pay', '--amount', nextAmount(), '--currency', 'EUR', '--card', '4200000000000000'], { FORCE_COLOR: '1' });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /\x1b\[32msuccessful\x1b\[0m/);
    });
  });

  describe('children, queries', () => {
    it('authorize, then capture part of it; authorize, then void it', async () => {
      const auth = await cliJson(['authorize', '--amount', '5000', '--currency', 'EUR', '--card', '4200000000000000']);
      assert.equal(auth.type, 'authorization');
      assert.equal(auth.status, 'successful');
      const capture = await runCli(['capture', '--parent', auth.uid, '--amount', '3000']);
      assert.equal(capture.code, 0, capture.stderr);
      assert.match(capture.stdout, /^capture successful · 30\.00 EUR/);
      assert.match(capture.stdout, new RegExp(`parent\\s+${auth.uid}`));
      const auth2 = await cliJson(['authorize', '--amount', '5001', '--currency', 'EUR', '--card', '4200000000000000']);
      const voided = await cliJson(['void', '--parent', auth2.uid, '--amount', '5001']);
      assert.equal(voided.type, 'void');
      assert.equal(voided.status, 'successful');
    });

    it("refund: partial refunds, then one too many is refused with the gateway's wording", async () => {
      const payment = await cliJson(['pay', '--amount', '2000', '--currency', 'EUR', '--card', '4200000000000000']);
      const refund = await runCli(['refund', '--parent', payment.uid, '--amount', '500', '--reason', 'Customer returned the item']);
      assert.equal(refund.code, 0, refund.stderr);
      assert.match(refund.stdout, /^refund successful · 5\.00 EUR/);
      assert.match(refund.stdout, /reason\s+Customer returned the item/);
      const second = await cliJson(['refund', '--parent', payment.uid, '--amount', '1000', '--reason', 'Second item']);
      assert.equal(second.status, 'successful');
      assert.equal(second.parent_uid, payment.uid);
      const tooMuch = await runCli(['refund', '--parent', payment.uid, '--amount', '600', '--reason', 'Too much']);
      assert.equal(tooMuch.code, 1);
      assert.match(tooMuch.stderr, /Amount can't be greater than 500/);
      const noReason = await runCli(['refund', '--parent', payment.uid, '--amount', '100']);
      assert.equal(noReason.code, 1);
      assert.match(noReason.stderr, /--reason/);
    });

    it('tx: by uid (human and --json), by tracking id, and an unknown uid (exit 1)', async () => {
      const payment = await cliJson([
        'pay',
        '--amount',
        nextAmount(),
        '--currency',
        'EUR',
        '--card',
        '4200000000000000',
        '--tracking-id',
        'cli-tx-lookup',
      ]);
      const human = await runCli(['tx', payment.uid]);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^payment successful · /);
      assert.match(human.stdout, new RegExp(`uid\\s+${payment.uid}`));
      const json = await cliJson(['tx', payment.uid]);
      assert.deepEqual(json, (await gw.get(`/transactions/${payment.uid}`)).body.transaction);
      const declined = await cliJson(['pay', '--amount', nextAmount(), '--currency', 'EUR', '--card', DECLINED_CARD], 2);
      assert.equal((await cliJson(['tx', declined.uid])).status, 'failed', 'a query that answered exits 0 whatever the status');
      const listed = await runCli(['tx', '--tracking-id', 'cli-tx-lookup', '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(
        listed.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line).uid),
        [payment.uid],
      );
      const unknown = await runCli(['tx', '6f1c1a52-1b1e-4c1e-9a55-000000000000']);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /refused \(HTTP 404\): Record not found/);
    });

    it("balance: formatted, and --json is the gateway's result", async () => {
      const expected = (await gw.request('POST', '/balance', { request: { currency: 'EUR' } })).body.result;
      const json = await cliJson(['balance', '--currency', 'EUR']);
      assert.deepEqual(json, expected);
      const human = await runCli(['balance', '--currency', 'EUR']);
      assert.equal(human.code, 0, human.stderr);
      const shown = `${(expected.amount / 100).toFixed(2)} EUR`;
      assert.match(human.stdout, new RegExp(`^balance ${shown.replace('.', '\\.')}`));
    });
  });

  describe('--async', () => {
    before(async () => {
      // The sandbox's slow card answers after the shop's slow_ms: long enough to watch the task run.
      const patched = await gw.request('PATCH', `/admin/shops/${DEMO_SHOP.id}`, { acquirer_settings: { slow_ms: 1500 } }, AS_OPERATOR);
      assert.equal(patched.status, 200, patched.text);
    });

    it('submits, follows the task with plain progress lines (not a terminal), prints the result', async () => {
      const result = await runCli(['pay', '--async', '--amount', nextAmount(), '--currency', 'EUR', '--card', '4000000000000309', '--json']);
      assert.equal(result.code, 0, result.stderr);
      const tx = JSON.parse(result.stdout.trim());
      assert.equal(tx.status, 'successful');
      assert.equal((await gw.get(`/transactions/${tx.uid}`)).body.transaction.status, 'successful');
      const progress = result.stderr.trim().split('\n');
      const requestId = /payment ([0-9a-f-]{36}): submitted/.exec(progress[0]!)?.[1];
      assert.ok(requestId, `first line announces the request:\n${result.stderr}`);
      assert.ok(
        progress.some((line) => line.endsWith(`payment ${requestId}: processing`)),
        result.stderr,
      );
      assert.match(progress.at(-1)!, new RegExp(`^\\[\\d+\\.\\ds\\] payment ${requestId}: ✔ completed$`));
      assert.doesNotMatch(result.stderr, /\r|\x1b/, 'plain lines, no spinner, off a terminal');
    });

    it('human output after following; a declined result exits 2; --wait running out exits 3', async () => {
      const declined = await runCli(['pay', '--async', '--amount', nextAmount(), '--currency', 'EUR', '--card', DECLINED_CARD]);
      assert.equal(declined.code, 2, declined.stderr);
      assert.match(declined.stdout, /^payment failed · /);
      // The bank holds the payment: only --wait running out can end the command.
      bank.hold();
      let waiting: CliResult;
      try {
        waiting = await runCli(['pay', '--async', '--wait', '0.3', '--amount', nextAmount(), '--currency', 'EUR', '--card', '4000000000000309']);
      } finally {
        bank.open();
      }
      assert.equal(waiting.code, 3, waiting.stderr);
      assert.match(waiting.stderr, /still processing after 0\.3 s/);
      assert.match(waiting.stderr, /\/async\/result\//, 'says where the result will be');
    });

    it('balance and tx in async mode too', async () => {
      const balance = await cliJson(['balance', '--currency', 'EUR', '--async']);
      assert.equal(balance.currency, 'EUR');
      const payment = await cliJson(['pay', '--amount', nextAmount(), '--currency', 'EUR', '--card', '4200000000000000']);
      assert.equal((await cliJson(['tx', payment.uid, '--async'])).uid, payment.uid);
    });

    it('on a terminal: one spinner line redrawn in place', {
      skip: spawnSync('script', ['--version']).status !== 0 && 'no script(1) to make a terminal',
    }, async () => {
      const command = [process.execPath, CLI, 'pay', '--async', '--amount', nextAmount(), '--currency', 'EUR', '--card', '4000000000000309']
        .map((word) => `'${word}'`)
        .join(' ');
      const result = await new Promise<CliResult>((resolve, reject) => {
        const child = spawn('script', ['-qec', command, '/dev/null'], {
          env: childEnv(integratorEnv({ TERM: 'xterm' })),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        child.stdout.on('data', (chunk) => (stdout += chunk));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr: '' }));
      });
      assert.equal(result.code, 0, result.stdout);
      assert.match(result.stdout, /\r\x1b\[2K\S*[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]\S* payment [0-9a-f-]{36}: processing/);
      assert.ok((result.stdout.match(/\r\x1b\[2K/g) ?? []).length > 3, 'redrawn in place');
      assert.match(result.stdout, /✔ completed/);
      assert.match(result.stdout, /\x1b\[32msuccessful\x1b\[0m/, 'status coloured on a terminal');
    });
  });

  describe('listen', () => {
    let captured: ReceivedWebhook;

    before(async () => {
      // A real signed delivery, caught on the way, to replay as is and tampered.
      const receiver = await WebhookReceiver.start();
      try {
        const payment = await gw.post('/transactions/payments', {
          amount: 7777,
          currency: 'EUR',
          description: 'Captured webhook',
          credit_card: { number: '4200000000000000', holder: 'John Doe', exp_month: '05', exp_year: new Date().getUTCFullYear() + 3 },
          notification_url: receiver.url,
        });
        assert.equal(payment.status, 200, payment.text);
        await receiver.waitFor(1);
        captured = receiver.received[0]!;
      } finally {
        await receiver.close();
      }
    });

    it('verifies real deliveries (public key fetched with the admin token, Basic credentials) and marks a tampered one invalid', async () => {
      const listener = new Running([
        'listen',
        '--port',
        '0',
        '--shop-id',
        String(DEMO_SHOP.id),
        '--admin-token',
        ADMIN_TOKEN,
        '--secret-key',
        DEMO_SHOP.secret,
      ]);
      running.push(listener);
      const url = (await listener.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+\/)/, 'stderr'))[1]!;
      assert.match(listener.stderr, /checking Content-Signature and Basic credentials; public key fetched from/);

      // A payment whose notification_url is the listener: the gateway's own delivery.
      const payment = await cliJson([
        'pay',
        '--amount',
        nextAmount(),
        '--currency',
        'EUR',
        '--card',
        '4200000000000000',
        '--notification-url',
        `${url}hooks/shop`,
      ]);
      await listener.waitFor(new RegExp(`uid ${payment.uid}`));
      const first = listener.stdout.split(/\n(?=#\d)/)[0]!;
      assert.match(first, /^#1 \S+ POST \/hooks\/shop {2}✔ valid \(Content-Signature and Basic credentials\)/);
      assert.match(first, /payment successful · \d+\.\d{2} EUR/);
      assert.match(first, /Visa •••• 0000/);
      assert.match(first, /webhook \S+ {2}· {2}attempt 1/);
      // The listener answers before the gateway records the attempt: wait for the record, then read it.
      let deliveries = await gw.get(`/admin/transactions/${payment.uid}/deliveries`, AS_OPERATOR);
      await until(
        async () => {
          deliveries = await gw.get(`/admin/transactions/${payment.uid}/deliveries`, AS_OPERATOR);
          return deliveries.status !== 200 || JSON.stringify(deliveries.body).includes('"attempt_count":1');
        },
        () => `the delivery's first attempt recorded: ${deliveries.text}`,
      );
      assert.equal(deliveries.status, 200, deliveries.text);
      assert.equal(JSON.stringify(deliveries.body).includes('"status_code":200'), true, `the gateway saw a 200: ${deliveries.text}`);

      // The captured delivery, replayed byte for byte: valid. One changed byte: invalid, answered 400.
      assert.equal(await deliver(url, captured, captured.raw), 200);
      await listener.waitFor(/#2 .* ✔ valid/);
      const tampered = Buffer.from(captured.raw.toString('utf8').replace('"amount":7777', '"amount":1'));
      assert.notDeepEqual(tampered, captured.raw);
      assert.equal(await deliver(url, captured, tampered), 400);
      const third = (await listener.waitFor(/#3 [^\n]*\n[^\n]*\n/))[0];
      assert.match(third, /✘ INVALID: The webhook's Content-Signature does not match/);
      assert.match(third, /\(unverified\) payment successful · 0\.01 EUR/);
      // Right signature, wrong Basic credentials.
      const wrongAuth = { ...captured, headers: { ...captured.headers, authorization: basicAuth({ id: 361, secret: 'nope' }) } };
      assert.equal(await deliver(url, wrongAuth, captured.raw), 400);
      await listener.waitFor(/#4 .* ✘ INVALID: The webhook's Basic credentials are not the shop's/);

      assert.equal(await listener.stop(), 0);
      assert.match(listener.stderr, /4 deliveries, 2 valid, 2 invalid/);
    });

    it('--json: each verified transaction on one line; invalid ones only on stderr', async () => {
      const publicKey = (await gw.get(`/admin/shops/${DEMO_SHOP.id}`, AS_OPERATOR)).body.public_key;
      const listener = new Running(['listen', '--port', '0', '--public-key', publicKey, '--json']);
      running.push(listener);
      const url = (await listener.waitFor(/listening on (http:\/\/\S+\/)/, 'stderr'))[1]!;
      const tampered = Buffer.from(captured.raw.toString('utf8').replace('"amount":7777', '"amount":1'));
      assert.equal(await deliver(url, captured, tampered), 400);
      assert.equal(await deliver(url, captured, captured.raw), 200);
      await listener.waitFor(/\n/);
      await listener.waitFor(/invalid webhook #1/, 'stderr');
      assert.equal(await listener.stop(), 0);
      const lines = listener.stdout.trim().split('\n');
      assert.equal(lines.length, 1, listener.stdout);
      assert.deepEqual(JSON.parse(lines[0]!), JSON.parse(captured.raw.toString('utf8')).transaction);
    });

    it('refuses to start with nothing to verify with', async () => {
      const result = await runCli(['listen', '--port', '0']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /nothing to verify webhooks with/);
      const badToken = await runCli(['listen', '--port', '0', '--admin-token', 'wrong']);
      assert.equal(badToken.code, 1);
      assert.match(badToken.stderr, /could not fetch the public key of shop 361 .*HTTP 401/);
    });
  });
});
