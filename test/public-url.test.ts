import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { card, DEMO_3DS_SHOP, DEMO_SHOP, paymentRequest, startGateway, type TestGateway, testStores } from './support/gateway.js';
import { scratchDatabase, serve, stop } from './support/processes.js';
import { WebhookReceiver } from './support/webhookReceiver.js';
import { authHeaders } from './support/http.js';

/**
 * ECOMGATE_PUBLIC_URL: behind a reverse proxy the gateway listens on one address and is reached at
 * another, possibly under a path prefix. Every URL it hands out (receipt, 3-D Secure page and its form,
 * async status and result, the same inside webhooks) must be built on the public URL, never on the
 * listen address; and each must lead to its page once the proxy strips the prefix.
 */

const PUBLIC = 'https://pay.example.test/gateway';

/** The path a proxy in front of the gateway forwards a public URL to. */
function behindProxy(url: string): string {
  assert.ok(url.startsWith(PUBLIC + '/'), `${url} is built on ${PUBLIC}`);
  return url.slice(PUBLIC.length);
}

for (const kind of testStores()) {
  describe(`ECOMGATE_PUBLIC_URL other than the listen address [${kind}]`, () => {
    let gw: TestGateway;
    let receiver: WebhookReceiver;
    before(async () => {
      gw = await startGateway(kind, { publicUrl: `${PUBLIC}/` });
      receiver = await WebhookReceiver.start();
    });
    after(async () => {
      await gw.close();
      await receiver.close();
    });

    it('receipt_url of a payment, also inside its webhook', async () => {
      const paid = await gw.post('/transactions/payments', paymentRequest({ notification_url: receiver.url }));
      assert.equal(paid.status, 200, paid.text);
      const receipt = behindProxy(paid.body.transaction.receipt_url);
      assert.match(receipt, /^\/receipts\/[0-9a-f-]{36}\?token=/);
      assert.equal((await gw.request('GET', receipt, undefined, { auth: null })).status, 200);
      const queried = await gw.get(`/transactions/${paid.body.transaction.uid}`);
      assert.equal(queried.body.transaction.receipt_url, paid.body.transaction.receipt_url);
      await gw.app.webhooks.drain();
      const webhook = receiver.received.find((w) => w.body.transaction.uid === paid.body.transaction.uid);
      assert.ok(webhook, 'the webhook arrived');
      assert.equal(webhook.body.transaction.receipt_url, paid.body.transaction.receipt_url);
      assert.ok(!webhook.raw.toString('utf8').includes(gw.url), 'the webhook names no listen address');
    });

    it('redirect_url of a 3-D Secure payment, and the challenge form posting back under the public URL', async () => {
      const started = await gw.post('/transactions/payments', paymentRequest({ credit_card: card('4012000000003010') }), { auth: DEMO_3DS_SHOP });
      assert.equal(started.status, 200, started.text);
      assert.equal(started.body.transaction.status, 'incomplete');
      const uid = started.body.transaction.uid;
      assert.equal(behindProxy(started.body.transaction.redirect_url), `/process/${uid}`);
      const page = await gw.request('GET', `/process/${uid}`, undefined, { auth: null });
      assert.equal(page.status, 200);
      const action = /<form method="post" action="([^"]+)"/.exec(page.text)?.[1];
      assert.equal(action, `${PUBLIC}/process/${uid}`, 'the form posts to the public URL (a path prefix included)');
      assert.ok(!page.text.includes(gw.url));
    });

    it('status_url and response_url of an async submit, and of its status once completed', async () => {
      const submitted = await gw.post('/async/transactions/payments', paymentRequest());
      assert.equal(submitted.status, 200, submitted.text);
      const id = submitted.body.request_id;
      assert.equal(behindProxy(submitted.body.status_url), `/async/status/${id}`);
      assert.equal(behindProxy(submitted.body.response_url), `/async/result/${id}`);
      const early = await gw.get(`/async/result/${id}`);
      assert.equal(early.status, 425);
      assert.equal(early.body.status_url, submitted.body.status_url);
      assert.equal(early.body.response_url, submitted.body.response_url);
      await gw.app.workers.drain();
      const status = await gw.get(behindProxy(submitted.body.status_url));
      assert.equal(status.body.status, 'completed');
      assert.equal(status.body.response_url, submitted.body.response_url);
      const result = await gw.get(behindProxy(status.body.response_url));
      assert.equal(result.status, 200);
      behindProxy(result.body.transaction.receipt_url);
    });
  });
}

describe('ECOMGATE_PUBLIC_URL and --public-url reach `ecomgate serve`', () => {
  const ways: [string, { env?: Record<string, string>; args?: string[] }][] = [
    ['ECOMGATE_PUBLIC_URL', { env: { ECOMGATE_PUBLIC_URL: PUBLIC } }],
    ['--public-url', { args: ['--public-url', PUBLIC] }],
  ];
  for (const [how, settings] of ways) {
    it(`${how}: the served URLs use it, not the listen address`, { timeout: 60_000 }, async () => {
      const db = await scratchDatabase('sqlite');
      const gateway = await serve({ databaseUrl: db.url, masterKey: randomBytes(32).toString('base64'), ...settings });
      try {
        const listening = gateway.lines
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line))
          .find((entry) => entry.msg === 'ecomgate listening');
        assert.equal(listening.publicUrl, PUBLIC);
        const response = await fetch(`${gateway.url}/async/transactions/payments`, {
          method: 'POST',
          headers: authHeaders(DEMO_SHOP),
          body: JSON.stringify({ request: paymentRequest() }),
        });
        const body = await response.json();
        assert.equal(response.status, 200, JSON.stringify(body));
        assert.equal(body.status_url, `${PUBLIC}/async/status/${body.request_id}`);
      } finally {
        await stop(gateway);
        await db.close();
      }
    });
  }
});
