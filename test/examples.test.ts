import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import type { Browser } from 'playwright-core';
import { DEMO_3DS_SHOP } from './support/gateway.js';
import { launchChromium, needsChromium } from './support/services.js';
import { basicAuth } from './support/http.js';
import { DECLINED_CARD } from './support/cards.js';

/**
 * The example merchant (examples/merchant) end to end, started the way the README says (`npm run
 * example` runs dist/examples/run.js: the embedded gateway and the shop in one process), here on free
 * ports: checkout form → payment through @ecomgate/client → 3-D Secure page → return page → the
 * gateway's signed webhook, verified by the example.
 */

const RUNNER = fileURLToPath(new URL('../examples/run.js', import.meta.url));

interface Order {
  id: string;
  status: string;
  amount: number;
  uid?: string;
  webhook?: { verified: boolean; status: string; uid: string };
  rejectedWebhooks: number;
}

describe('examples/merchant: checkout, 3-D Secure, return page, verified webhook', needsChromium(), () => {
  let runner: ChildProcess;
  let exited: Promise<number | null>;
  let output = '';
  let shop: string;
  let gateway: string;
  let browser: Browser;

  before(async () => {
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('ECOMGATE_') && !name.startsWith('MERCHANT_')) env[name] = value;
    runner = spawn(process.execPath, [RUNNER], { env: { ...env, ECOMGATE_PORT: '0', MERCHANT_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    runner.stdout!.on('data', (chunk) => (output += chunk));
    runner.stderr!.on('data', (chunk) => (output += chunk));
    exited = new Promise((resolve) => runner.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!/Open the shop: /.test(output)) {
      if (runner.exitCode !== null || Date.now() > deadline) assert.fail(`the example did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    shop = /Open the shop: (http:\/\/\S+?)\/?\n/.exec(output)![1]!;
    gateway = /gateway: (http:\/\/[^\s,]+)/.exec(output)![1]!;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    if (runner && runner.exitCode === null) runner.kill('SIGTERM');
    if (exited) assert.equal(await exited, 0, `the example stops cleanly on SIGTERM:\n${output}`);
  });

  async function order(id: string): Promise<Order> {
    const response = await fetch(`${shop}/orders/${id}`);
    assert.equal(response.status, 200);
    return (await response.json()) as Order;
  }

  /** The order once the example has recorded the gateway's webhook. */
  async function webhookRecorded(id: string): Promise<Order> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const current = await order(id);
      if (current.webhook) return current;
      if (Date.now() > deadline) assert.fail(`no webhook recorded for ${id}: ${JSON.stringify(current)}\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** What the gateway itself says (an authenticated status query as shop 362). */
  async function atGateway(uid: string) {
    const response = await fetch(`${gateway}/transactions/${uid}`, {
      headers: { authorization: basicAuth(DEMO_3DS_SHOP) },
    });
    return ((await response.json()) as { transaction: { status: string; amount: number; tracking_id: string } }).transaction;
  }

  const form = (fields: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual' as const,
  });

  const checkoutFields = (number: string, quantity: string) => ({
    quantity,
    holder: 'John Doe',
    number,
    exp: `12/${String(new Date().getUTCFullYear() + 3).slice(2)}`,
    cvc: '123',
  });

  it('in a browser: pay with the challenge card, Authenticate, back on the shop with success, webhook verified', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${shop}/`);
      assert.equal(await page.title(), 'Checkout');
      assert.equal(await page.inputValue('#number'), '4012000000003010', 'the form offers the 3-D Secure challenge card');
      await Promise.all([page.waitForURL(`${gateway}/process/**`), page.getByRole('button', { name: 'Pay' }).click()]);
      assert.equal(await page.title(), '3-D Secure verification');
      await Promise.all([page.waitForURL(`${shop}/return**`), page.getByRole('button', { name: 'Authenticate' }).click()]);
      const landed = new URL(page.url());
      assert.equal(landed.searchParams.get('status'), 'successful');
      const uid = landed.searchParams.get('uid')!;
      const orderId = landed.searchParams.get('order')!;
      assert.equal(await page.textContent('h1'), 'Thank you — payment successful');
      assert.equal(await page.textContent('#order'), orderId);

      const recorded = await webhookRecorded(orderId);
      assert.deepEqual(recorded.webhook && { verified: recorded.webhook.verified, status: recorded.webhook.status, uid: recorded.webhook.uid }, {
        verified: true,
        status: 'successful',
        uid,
      });
      assert.equal(recorded.status, 'successful');
      assert.equal(recorded.rejectedWebhooks, 0);
      const truth = await atGateway(uid);
      assert.equal(truth.status, 'successful');
      assert.equal(truth.amount, 4999);
      assert.equal(truth.tracking_id, orderId);
      // The return page refreshes itself until the webhook is in, then says so.
      await page.waitForSelector('#webhook.ok', { timeout: 10_000 });
      assert.match((await page.textContent('#webhook'))!, /Confirmed by the gateway's signed notification \(successful\)/);
      assert.match(output, new RegExp(`webhook: ${orderId} payment ${uid} successful \\(signature verified\\)`));
    } finally {
      await page.close();
    }
  });

  it('over plain HTTP: Fail on the 3-D Secure page → return page says failed, webhook verified as failed', async () => {
    const checkout = await fetch(`${shop}/checkout`, form(checkoutFields('4012000000003010', '2')));
    assert.equal(checkout.status, 303);
    const challenge = checkout.headers.get('location')!;
    assert.ok(challenge.startsWith(`${gateway}/process/`), challenge);
    // As a browser would: open the page, then send its form with the token it carries.
    const page = await (await fetch(challenge)).text();
    const token = /name="token" value="([^"]+)"/.exec(page)?.[1];
    assert.ok(token, 'the challenge form carries its token');
    const finished = await fetch(challenge, form({ token, outcome: 'fail' }));
    assert.equal(finished.status, 303);
    const back = new URL(finished.headers.get('location')!);
    assert.equal(back.origin + back.pathname, `${shop}/return`);
    assert.equal(back.searchParams.get('status'), 'failed');
    const returned = await fetch(back);
    assert.equal(returned.status, 200);
    assert.match(await returned.text(), /<h1[^>]*>Payment failed<\/h1>/);
    const recorded = await webhookRecorded(back.searchParams.get('order')!);
    assert.equal(recorded.webhook!.status, 'failed');
    assert.equal(recorded.amount, 9998);
  });

  it('a card declined at once goes straight to the return page; a refused request re-shows the form', async () => {
    const checkout = await fetch(`${shop}/checkout`, form(checkoutFields(DECLINED_CARD, '3')));
    assert.equal(checkout.status, 303);
    const back = new URL(checkout.headers.get('location')!, shop);
    assert.equal(back.pathname, '/return');
    assert.match(await (await fetch(back)).text(), /Payment failed/);
    assert.equal((await webhookRecorded(back.searchParams.get('order')!)).webhook!.status, 'failed');

    const expired = await fetch(`${shop}/checkout`, form({ ...checkoutFields('4200000000000000', '1'), exp: '01/20' }));
    assert.equal(expired.status, 422);
    assert.match(await expired.text(), /role="alert">Date is expired/);
  });

  it('believes neither a forged webhook nor a status typed into the return URL', async () => {
    const checkout = await fetch(`${shop}/checkout`, form(checkoutFields('4012000000003010', '4')));
    assert.equal(checkout.status, 303);
    const uid = checkout.headers.get('location')!.split('/process/')[1]!;
    const pending = (await atGateway(uid)).tracking_id;
    assert.equal((await order(pending)).status, 'incomplete');

    const forged = JSON.stringify({
      transaction: { uid, tracking_id: pending, status: 'successful', type: 'payment', amount: 19996, currency: 'EUR' },
    });
    const webhook = await fetch(`${shop}/webhook`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-signature': Buffer.from('not a signature').toString('base64'),
        authorization: basicAuth(DEMO_3DS_SHOP),
      },
      body: forged,
    });
    assert.equal(webhook.status, 400);
    const after = await order(pending);
    assert.equal(after.status, 'incomplete');
    assert.equal(after.webhook, undefined);
    assert.equal(after.rejectedWebhooks, 1);

    const typed = await fetch(`${shop}/return?order=${pending}&uid=${uid}&status=successful`);
    assert.match(await typed.text(), /<h1[^>]*>Payment pending<\/h1>/);
  });
});
